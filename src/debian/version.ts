/**
 * Debian package versions ([epoch:]upstream[-revision]): parsing with the checks dpkg makes
 * (lib/dpkg/parsehelp.c parseversion) and comparison ported from dpkg's verrevcmp
 * (lib/dpkg/version.c), so that apt-ostree orders versions exactly as dpkg and apt do.
 * No dependencies: layering, db diff and the status code all load this module.
 */
import { InputError } from '../errors.js';

export interface DebianVersion {
  epoch: number;
  upstream: string;
  /** The Debian revision; '' when the version has none. */
  revision: string;
}

/** Why a version string is invalid, or undefined when dpkg accepts it without complaint. */
export interface VersionProblem {
  message: string;
  /** dpkg refuses the version outright (true) or only warns about it (false). */
  fatal: boolean;
}

const EPOCH_MAX = 2147483647; // dpkg stores the epoch in an int

interface Split {
  version?: DebianVersion;
  problem?: VersionProblem;
}

function split(text: string): Split {
  const s = text.trim();
  if (s === '') return { problem: { message: 'the version is empty', fatal: true } };
  if (/\s/.test(s)) return { problem: { message: 'the version has embedded spaces', fatal: true } };
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (e === '') return { problem: { message: 'the epoch (before ":") is empty', fatal: true } };
    if (!/^\d+$/.test(e)) return { problem: { message: 'the epoch (before ":") is not a number', fatal: true } };
    epoch = Number(e);
    if (epoch > EPOCH_MAX) return { problem: { message: 'the epoch (before ":") is too big', fatal: true } };
    rest = s.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : '';
  if (hyphen >= 0 && revision === '') return { problem: { message: 'the Debian revision (after the last "-") is empty', fatal: true } };
  if (upstream === '') return { problem: { message: 'the upstream version is empty', fatal: true } };
  const version = { epoch, upstream, revision };
  // What dpkg only warns about, and Debian policy (5.6.12) forbids.
  if (!/^[0-9]/.test(upstream)) return { version, problem: { message: 'the upstream version does not start with a digit', fatal: false } };
  if (!/^[A-Za-z0-9.+~:-]+$/.test(upstream)) return { version, problem: { message: 'the upstream version has a character other than letters, digits and . + ~ - :', fatal: false } };
  if (!/^[A-Za-z0-9.+~]*$/.test(revision)) return { version, problem: { message: 'the Debian revision has a character other than letters, digits and . + ~', fatal: false } };
  return { version };
}

/** What is wrong with a version string under Debian policy, or undefined when it is valid. */
export function versionProblem(text: string): string | undefined {
  return split(text).problem?.message;
}

/**
 * Parse a version. Strict (the default) enforces Debian policy, as user input must meet;
 * lenient accepts whatever dpkg itself accepts with a warning (versions read from an
 * existing dpkg database must never stop apt-ostree).
 */
export function parseVersion(text: string, opts: { strict?: boolean; what?: string } = {}): DebianVersion {
  const { version, problem } = split(text);
  if (version && (!problem || opts.strict === false)) return version;
  throw new InputError(
    `'${text}' is not a valid Debian version${opts.what ? ` for ${opts.what}` : ''}: ${problem!.message}.`,
    'A Debian version is [EPOCH:]UPSTREAM[-REVISION], e.g. 1.2.3-1 or 2:4.5~rc1-0+deb12u1; UPSTREAM starts with a digit.',
  );
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** dpkg's order(): '~' sorts before everything, even the end of the string; letters before other characters. */
function order(c: number): number {
  if (Number.isNaN(c) || isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126) return -1; // '~'
  return c + 256;
}

/** dpkg's verrevcmp: compare upstream versions or revisions. The end of a string reads as 0 (NaN here). */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const at = (s: string, k: number) => (k < s.length ? s.charCodeAt(k) : NaN);
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(at(a, i))) || (j < b.length && !isDigit(at(b, j)))) {
      const ac = order(at(a, i));
      const bc = order(at(b, j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (at(a, i) === 48) i++;
    while (at(b, j) === 48) j++;
    while (isDigit(at(a, i)) && isDigit(at(b, j))) {
      if (!firstDiff) firstDiff = at(a, i) - at(b, j);
      i++;
      j++;
    }
    if (isDigit(at(a, i))) return 1;
    if (isDigit(at(b, j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** Compare two parsed versions: negative, zero or positive, like dpkg_version_compare. */
function compareParsed(a: DebianVersion, b: DebianVersion): number {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? 1 : -1;
  const r = verrevcmp(a.upstream, b.upstream);
  if (r) return r;
  return verrevcmp(a.revision, b.revision);
}

/**
 * Compare two version strings as `dpkg --compare-versions` does: -1, 0 or 1. Versions dpkg
 * only warns about compare like dpkg compares them; a version dpkg refuses throws InputError.
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const r = compareParsed(parseVersion(a, { strict: false }), parseVersion(b, { strict: false }));
  return r < 0 ? -1 : r > 0 ? 1 : 0;
}
