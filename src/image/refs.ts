/**
 * Names that compose and provision take from the user: OSTree refs and commit metadata keys.
 * Pure and free of libraries, so that command modules can check arguments before loading anything.
 */
import { InputError } from '../errors.js';
import { isValidRef } from '../ostree/refs.js';

/** Commit metadata keys a user may set (reverse-DNS-ish, as ostree's own keys). */
export const METADATA_KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export function refProblem(ref: string): string | undefined {
  if (!ref) return 'it is empty';
  if (!isValidRef(ref)) return 'refs are path components of letters, digits and . _ -, each starting with a letter, digit or _ (e.g. debian/bookworm/x86_64/minimal)';
  return undefined;
}

export function assertRef(ref: string): string {
  const p = refProblem(ref);
  if (p) throw new InputError(`'${ref}' is not a valid OSTree ref: ${p}.`, 'Give a ref such as debian/bookworm/x86_64/minimal.');
  return ref;
}

/** Parse --metadata KEY=VALUE arguments; apt-ostree's own keys and `version` are not allowed there. */
export function parseMetadataArgs(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    const key = eq < 0 ? a : a.slice(0, eq);
    if (eq < 0 || !METADATA_KEY_RE.test(key)) {
      throw new InputError(`'${a}' is not a KEY=VALUE metadata argument.`, 'Keys are letters, digits and . _ - (e.g. --metadata org.example.build=42).');
    }
    checkMetadataKey(key);
    out[key] = a.slice(eq + 1);
  }
  return out;
}

export function checkMetadataKey(key: string): void {
  if (key === 'version' || key.startsWith('aptostree.') || key.startsWith('ostree.')) {
    throw new InputError(`The metadata key '${key}' is set by apt-ostree itself.`, key === 'version' ? 'Use --version (or the manifest key version).' : 'Choose a key in your own namespace, e.g. org.example.build.');
  }
}

