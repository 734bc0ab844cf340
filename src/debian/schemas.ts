/**
 * zod schemas of Debian names, versions and package requests, for manifests and config files.
 * Apart from names.ts so that commands which only check arguments do not load zod.
 */
import { z } from 'zod';
import { ARCHITECTURE_RE, isValidPackageName, packageNameProblem, requestProblem, type PackageRequest } from './names.js';
import { versionProblem } from './version.js';

export const packageNameSchema = z.string().refine((s) => isValidPackageName(s), {
  error: (iss) => `'${String(iss.input)}' is not a valid Debian package name: ${packageNameProblem(String(iss.input)) ?? 'invalid'}`,
});

export const architectureSchema = z.string().regex(ARCHITECTURE_RE, { error: 'not a Debian architecture name (lowercase letters, digits and -)' });

export const debianVersionSchema = z.string().refine((s) => versionProblem(s) === undefined, {
  error: (iss) => `'${String(iss.input)}' is not a valid Debian version: ${versionProblem(String(iss.input)) ?? 'invalid'}`,
});

/** A package request string, parsed into a PackageRequest. */
export const packageRequestSchema = z.string().transform((s, ctx): PackageRequest => {
  const { problem, request } = requestProblem(s);
  if (!request) {
    ctx.issues.push({ code: 'custom', message: `'${s}' is not a valid package: ${problem}`, input: s });
    return z.NEVER;
  }
  return request;
});
