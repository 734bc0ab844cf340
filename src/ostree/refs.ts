/**
 * OSTree refs: the grammar ostree accepts, and reading a ref's file without starting ostree.
 *
 * ostree-core.c: a ref is fragments `[\w\d][-._\w\d]*` joined by '/'; a remote name is one
 * fragment; a refspec is `REMOTE:REF` or `REF`. GLib matches \w and \d with Unicode properties
 * (letters, numbers, '_'), so `é` is a valid ref and a leading '.' or '-' is not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FRAGMENT = String.raw`[\p{L}\p{N}_][-.\p{L}\p{N}_]*`;
const REF = `${FRAGMENT}(?:/${FRAGMENT})*`;
const REF_RE = new RegExp(`^${REF}$`, 'u');
const REMOTE_RE = new RegExp(`^${FRAGMENT}$`, 'u');
const REFSPEC_RE = new RegExp(`^(?:(${FRAGMENT}):)?(${REF})$`, 'u');
const CHECKSUM_RE = /^[0-9a-f]{64}$/;

/** ostree_validate_rev: a ref name (no remote). */
export function isValidRef(ref: string): boolean {
  return REF_RE.test(ref);
}

/** ostree_validate_remote_name. */
export function isValidRemoteName(name: string): boolean {
  return REMOTE_RE.test(name);
}

/** ostree_parse_refspec: `REMOTE:REF` or `REF`. */
export function isValidRefspec(refspec: string): boolean {
  return REFSPEC_RE.test(refspec);
}

/** Split a valid refspec into its parts (a bare ref has no remote); undefined when it is not one. */
export function parseRefspec(refspec: string): { remote?: string; ref: string } | undefined {
  const m = REFSPEC_RE.exec(refspec);
  if (!m) return undefined;
  return m[1] === undefined ? { ref: m[2]! } : { remote: m[1], ref: m[2]! };
}

/**
 * The commit a refspec points to, read from refs/heads/REF or refs/remotes/REMOTE/REF; undefined
 * when the refspec is not valid, there is no such file, or it holds no checksum.
 */
export function resolveRefFile(repo: string, refspec: string): string | undefined {
  const parsed = parseRefspec(refspec);
  if (!parsed) return undefined;
  const path = parsed.remote === undefined ? join(repo, 'refs', 'heads', parsed.ref) : join(repo, 'refs', 'remotes', parsed.remote, parsed.ref);
  try {
    const checksum = readFileSync(path, 'utf8').trim();
    return CHECKSUM_RE.test(checksum) ? checksum : undefined;
  } catch {
    return undefined;
  }
}
