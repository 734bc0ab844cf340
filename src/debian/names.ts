/**
 * Package names and package requests as Debian policy and apt define them, checked before a
 * transaction starts so that bad input fails at once with a message naming it.
 *
 *   name                  policy 5.6.1: [a-z0-9][a-z0-9+.-]+ (at least two characters)
 *   name:arch             architecture qualifier (multi-arch)
 *   name=version          a version (policy 5.6.12 syntax)
 *   name/suite            a release: suite or codename (bookworm, stable, bookworm-backports)
 *   name:arch=version, name:arch/suite
 *
 * The zod schemas of the same rules are in schemas.ts (this module stays free of zod).
 */
import { existsSync } from 'node:fs';
import { InputError } from '../errors.js';
import { versionProblem } from './version.js';

/** dpkg's architecture names: lowercase letters, digits and '-', starting with a letter or digit. */
export const ARCHITECTURE_RE = /^[a-z0-9][a-z0-9-]*$/;
/** Suites and codenames as they appear in Release files and apt's NAME/RELEASE syntax. */
export const RELEASE_RE = /^[A-Za-z0-9][A-Za-z0-9.+~_-]*$/;

const REQUEST_HINT =
  'Give packages as NAME, NAME=VERSION, NAME/SUITE or NAME:ARCH (e.g. htop, curl=7.88.1-10, vim/bookworm-backports, libc6:i386), or a path to a .deb file.';

/** Why `name` is not a valid Debian package name, or undefined when it is one. */
export function packageNameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name.length < 2) return 'package names have at least two characters';
  if (/[A-Z]/.test(name)) return 'package names are lowercase';
  if (!/^[a-z0-9]/.test(name)) return 'package names start with a lowercase letter or a digit';
  const bad = [...name].find((c) => !/[a-z0-9+.-]/.test(c));
  if (bad !== undefined) return `package names contain only lowercase letters, digits and + - . (not '${bad}')`;
  return undefined;
}

function isValidArchitecture(arch: string): boolean {
  return ARCHITECTURE_RE.test(arch);
}

/** Split `name:arch` into its parts (no validation). */
export function splitArchQualifier(text: string): { name: string; arch?: string } {
  const colon = text.indexOf(':');
  return colon < 0 ? { name: text } : { name: text.slice(0, colon), arch: text.slice(colon + 1) };
}

/** A package as apt-get install takes it, parsed and validated. */
export interface PackageRequest {
  /** The argument as given. */
  text: string;
  name: string;
  arch?: string;
  version?: string;
  /** Target release (NAME/RELEASE): a suite or codename. */
  release?: string;
}

/** Why `text` is not a package request apt takes, or undefined when it is one. */
export function requestProblem(text: string): { problem?: string; request?: PackageRequest } {
  const eq = text.indexOf('=');
  const slash = text.indexOf('/');
  let head = text;
  let version: string | undefined;
  let release: string | undefined;
  if (eq >= 0 && (slash < 0 || eq < slash)) {
    head = text.slice(0, eq);
    version = text.slice(eq + 1);
    if (version.includes('/') || version.includes('=')) return { problem: 'give either =VERSION or /SUITE, not both' };
    const vp = versionProblem(version);
    if (vp) return { problem: `${vp} in the version '${version}'` };
  } else if (slash >= 0) {
    head = text.slice(0, slash);
    release = text.slice(slash + 1);
    if (release.includes('=')) return { problem: 'give either =VERSION or /SUITE, not both' };
    if (!RELEASE_RE.test(release)) return { problem: `'${release}' is not a suite or codename (letters, digits and . + ~ _ -)` };
  }
  const { name, arch } = splitArchQualifier(head);
  const np = packageNameProblem(name);
  if (np) return { problem: np };
  if (arch !== undefined && !isValidArchitecture(arch)) return { problem: `'${arch}' is not an architecture name (lowercase letters, digits and -)` };
  const request: PackageRequest = { text, name };
  if (arch !== undefined) request.arch = arch;
  if (version !== undefined) request.version = version;
  if (release !== undefined) request.release = release;
  return { request };
}

/**
 * A local .deb file rather than a package name: ends with .deb and is a path (has a '/') or
 * names a file that exists, as apt-get install ./foo.deb expects.
 */
export function isLocalDebPath(text: string): boolean {
  return text.endsWith('.deb') && (text.includes('/') || existsSync(text));
}

/**
 * Sort the arguments of install-like commands into package requests and local .deb paths.
 * Every bad argument is reported in one InputError, not only the first.
 */
export function parsePackageArguments(args: readonly string[]): { requests: PackageRequest[]; localDebs: string[] } {
  const requests: PackageRequest[] = [];
  const localDebs: string[] = [];
  const bad: string[] = [];
  for (const a of args) {
    if (isLocalDebPath(a)) {
      localDebs.push(a);
      continue;
    }
    const { problem, request } = requestProblem(a);
    if (request) requests.push(request);
    else bad.push(`'${a}' (${problem})`);
  }
  if (bad.length === 1) throw new InputError(`Not a valid package: ${bad[0]}.`, REQUEST_HINT);
  if (bad.length > 1) throw new InputError(`Not valid packages: ${bad.join(', ')}.`, REQUEST_HINT);
  return { requests, localDebs };
}
