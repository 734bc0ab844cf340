/**
 * OSTree refs: the grammar ostree accepts, and reading a ref's file without starting ostree.
 *
 * ostree-core.c: a ref is fragments `[\w\d][-._\w\d]*` joined by '/'; a remote name is one
 * fragment; a refspec is `REMOTE:REF` or `REF`. GLib matches \w and \d with Unicode properties
 * (letters, numbers, '_'), so `é` is a valid ref and a leading '.' or '-' is not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The grammar's expressions for a fragment's characters: with Unicode properties, and the same
 * for ASCII alone. V8 builds a Unicode property class on its first use, which cost 2 to 50 ms
 * of every `status` (measured side by side, issue 26); ASCII names, nearly all of them, are
 * matched without it, with the same answer.
 */
const grammar = (letterOrDigit: string, flags: string) => {
  const fragment = `[${letterOrDigit}_][-.${letterOrDigit}_]*`;
  const ref = `${fragment}(?:/${fragment})*`;
  return { ref: new RegExp(`^${ref}$`, flags), remote: new RegExp(`^${fragment}$`, flags), refspec: new RegExp(`^(?:(${fragment}):)?(${ref})$`, flags) };
};
const ASCII = grammar('A-Za-z0-9', '');
let unicode: ReturnType<typeof grammar> | undefined;
/** The expressions that answer for `text`: the ASCII ones when it is ASCII. */
const grammarFor = (text: string) => (/^[\x00-\x7f]*$/.test(text) ? ASCII : (unicode ??= grammar(String.raw`\p{L}\p{N}`, 'u')));
const REF_RE = { test: (t: string) => grammarFor(t).ref.test(t) };
const REMOTE_RE = { test: (t: string) => grammarFor(t).remote.test(t) };
const REFSPEC_RE = { exec: (t: string) => grammarFor(t).refspec.exec(t), test: (t: string) => grammarFor(t).refspec.test(t) };
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
