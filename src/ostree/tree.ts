/**
 * Read one file of a commit straight from a bare repository (what `ostree cat` does, without
 * starting ostree): commit → root dirtree → … → the file's content object, which a bare repo
 * stores as the plain file at objects/XX/REST.file. Only for the common case: a `bare` repo
 * (every sysroot's) and a path through directories to a regular file. Anything else returns
 * undefined and the caller asks ostree.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyFile } from './keyfile.js';
import { readCommit } from './commit.js';
import { readGVariant, toHex, type GValue } from './gvariant.js';

/** OSTree's dirtree: files (name, content checksum), directories (name, dirtree, dirmeta). */
const DIRTREE_TYPE = '(a(say)a(sayay))';

function objectPath(repo: string, checksum: string, kind: 'dirtree' | 'file'): string {
  return join(repo, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.${kind}`);
}

const modes = new Map<string, string | undefined>();

/** `mode=` of the repository's [core] section. */
export function repoMode(repo: string): string | undefined {
  if (modes.has(repo)) return modes.get(repo);
  let mode: string | undefined;
  try {
    mode = KeyFile.parse(readFileSync(join(repo, 'config'), 'utf8')).get('core', 'mode')?.trim();
  } catch {
    mode = undefined;
  }
  modes.set(repo, mode);
  return mode;
}

/**
 * The content of the regular file at `path` (absolute, no `.`/`..`) in `commit` (a full
 * checksum), or undefined when it cannot be read this way (not a bare repo, no such file,
 * a symlink on the way, a missing object).
 */
export function readCommitFile(repo: string, commit: string, path: string): Buffer | undefined {
  if (!/^[0-9a-f]{64}$/.test(commit) || repoMode(repo) !== 'bare') return undefined;
  const parts = path.split('/').filter(Boolean);
  if (!parts.length || parts.some((p) => p === '.' || p === '..')) return undefined;
  try {
    let tree = readCommit(repo, commit).rootContents;
    for (const [i, name] of parts.entries()) {
      const [files, dirs] = readGVariant(DIRTREE_TYPE, readFileSync(objectPath(repo, tree, 'dirtree'))) as GValue[][];
      if (i === parts.length - 1) {
        const file = (files as GValue[][]).find((f) => f[0] === name);
        if (!file) return undefined;
        const obj = objectPath(repo, toHex(file[1]!), 'file');
        // A bare repo stores a symlink as a symlink: leave those to ostree.
        if (!lstatSync(obj).isFile()) return undefined;
        return readFileSync(obj);
      }
      const dir = (dirs as GValue[][]).find((d) => d[0] === name);
      if (!dir) return undefined;
      tree = toHex(dir[1]!);
    }
  } catch {
    return undefined;
  }
  return undefined;
}
