/**
 * Read one file of a commit straight from a bare repository (what `ostree cat` does, without
 * starting ostree): commit → root dirtree → … → the file's content object, which a bare repo
 * stores as the plain file at objects/XX/REST.file. Only for the common case: a `bare` repo
 * (every sysroot's) and a path through directories to a regular file. Anything else returns
 * undefined and the caller asks ostree.
 */
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
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
  const parts = pathParts(repo, commit, path);
  if (!parts?.length) return undefined;
  try {
    const parent = dirtreeAt(repo, commit, parts.slice(0, -1));
    const file = parent?.files.find((f) => f[0] === parts.at(-1));
    if (!file) return undefined;
    const obj = objectPath(repo, toHex(file[1]!), 'file');
    // A bare repo stores a symlink as a symlink: leave those to ostree.
    if (!lstatSync(obj).isFile()) return undefined;
    return readFileSync(obj);
  } catch {
    return undefined;
  }
}

export interface CommitDirEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink';
  /** A symlink's target. */
  target?: string;
}

/**
 * The entries of the directory at `path` in `commit` (what `ostree ls` lists), read the same
 * way: null when there is no such path; undefined when it cannot be read this way (not a bare
 * repo, a file rather than a directory, a missing object), and the caller asks ostree.
 */
export function listCommitDir(repo: string, commit: string, path: string): CommitDirEntry[] | null | undefined {
  const parts = pathParts(repo, commit, path);
  if (!parts) return undefined;
  try {
    // "No such path" is an answer only when the parent was read and names neither a directory
    // nor a file of that name.
    const parent = parts.length ? dirtreeAt(repo, commit, parts.slice(0, -1)) : undefined;
    if (parts.length && !parent) return undefined;
    if (parent && !parent.dirs.some((d) => d[0] === parts.at(-1))) return parent.files.some((f) => f[0] === parts.at(-1)) ? undefined : null;
    const tree = dirtreeAt(repo, commit, parts);
    if (!tree) return undefined;
    const entries: CommitDirEntry[] = tree.dirs.map((d) => ({ name: String(d[0]), type: 'dir' }));
    for (const f of tree.files) {
      const obj = objectPath(repo, toHex(f[1]!), 'file');
      const st = lstatSync(obj);
      entries.push(st.isSymbolicLink() ? { name: String(f[0]), type: 'symlink', target: readlinkSync(obj) } : { name: String(f[0]), type: 'file' });
    }
    return entries;
  } catch {
    return undefined;
  }
}

/** The components of an absolute path, for a bare repo and a full checksum only. */
function pathParts(repo: string, commit: string, path: string): string[] | undefined {
  if (!/^[0-9a-f]{64}$/.test(commit) || repoMode(repo) !== 'bare') return undefined;
  const parts = path.split('/').filter(Boolean);
  return parts.some((p) => p === '.' || p === '..') ? undefined : parts;
}

/** The dirtree of the directory `parts` below the commit's root, or undefined when there is none. */
function dirtreeAt(repo: string, commit: string, parts: string[]): { files: GValue[][]; dirs: GValue[][] } | undefined {
  let tree = readCommit(repo, commit).rootContents;
  for (let i = 0; ; i++) {
    const [files, dirs] = readGVariant(DIRTREE_TYPE, readFileSync(objectPath(repo, tree, 'dirtree'))) as GValue[][];
    if (i === parts.length) return { files: files as GValue[][], dirs: dirs as GValue[][] };
    const dir = (dirs as GValue[][]).find((d) => d[0] === parts[i]);
    if (!dir) return undefined;
    tree = toHex(dir[1]!);
  }
}
