/**
 * zod schemas of Debian architectures and package requests, for manifests.
 * Apart from names.ts so that commands which only check arguments do not load zod.
 */
import { z } from 'zod';
import { ARCHITECTURE_RE, requestProblem, type PackageRequest } from './names.js';

export const architectureSchema = z.string().regex(ARCHITECTURE_RE, { error: 'not a Debian architecture name (lowercase letters, digits and -)' });

/** A package request string, parsed into a PackageRequest. */
export const packageRequestSchema = z.string().transform((s, ctx): PackageRequest => {
  const { problem, request } = requestProblem(s);
  if (!request) {
    ctx.issues.push({ code: 'custom', message: `'${s}' is not a valid package: ${problem}`, input: s });
    return z.NEVER;
  }
  return request;
});
