/**
 * File helpers of the layout conversion: paths inside a tree resolved as if it were /, and
 * writes that never go through an existing inode (a tree may share inodes with another, a
 * hardlinked copy), moves that merge directories, copies that keep modes and owners.
 */
import { chmodSync, constants, copyFileSync, lchownSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, rmdirSync, symlinkSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { lstatOrUndefined } from '../system/fs.js';

/**
 * `path` (absolute inside the tree at `root`) as a path on the host, every symlink on the way
 * resolved as if `root` were / (absolute targets and `..` never leave the tree), the last
 * component included. A missing directory on the way, a component that is not a directory and
 * a link loop give undefined; the last component need not exist. With `create`, `path` is a
 * directory: missing ones are created, the last one included.
 */
export function resolveBeneath(root: string, path: string, opts: { create?: boolean } = {}): string | undefined {
  const todo = path.split('/').filter(Boolean);
  const done: string[] = [];
  for (let links = 0; todo.length; ) {
    const c = todo.shift()!;
    if (c === '.') continue;
    if (c === '..') {
      done.pop();
      continue;
    }
    const p = join(root, ...done, c);
    const st = lstatOrUndefined(p);
    if (st?.isSymbolicLink()) {
      if (++links > 40) return undefined;
      const target = readlinkSync(p);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    if (todo.length || opts.create) {
      if (!st && opts.create) mkdirSync(p, { mode: 0o755 });
      else if (!st?.isDirectory()) return undefined;
    }
    done.push(c);
  }
  return join(root, ...done);
}

/**
 * Write a file as a new inode (never through an existing one, which may be a shared hardlink),
 * renamed into place: a reader sees the old content or the new, never half of it. The temporary
 * name carries the process id, for the state files that two commands may write at once.
 */
export function replaceFile(path: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

export function modeString(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

/** Move src to dest; when both are directories, merge src into dest (src wins on conflicts). */
export function moveMerge(src: string, dest: string): void {
  const s = lstatSync(src);
  const d = lstatOrUndefined(dest);
  if (!d) {
    mkdirSync(dirname(dest), { recursive: true });
    try {
      renameSync(src, dest);
      return;
    } catch (e) {
      // An overlay (layering) cannot move a directory that has content in its lower layer:
      // make it anew there and move the content over.
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV' || !s.isDirectory()) throw e;
      mkdirSync(dest, { mode: s.mode & 0o7777 });
      lchownSync(dest, s.uid, s.gid);
      chmodSync(dest, s.mode & 0o7777);
      for (const n of readdirSync(src)) moveMerge(join(src, n), join(dest, n));
      rmdirSync(src);
      return;
    }
  }
  if (s.isDirectory() && d.isDirectory()) {
    for (const n of readdirSync(src)) moveMerge(join(src, n), join(dest, n));
    rmdirSync(src);
    return;
  }
  rmSync(dest, { recursive: true, force: true });
  moveMerge(src, dest);
}

export function emptyDir(p: string): void {
  for (const n of readdirSync(p)) rmSync(join(p, n), { recursive: true, force: true });
}

/** True when the directory holds nothing but (recursively) empty directories. */
export function onlyDirectories(p: string): boolean {
  for (const n of readdirSync(p)) {
    const st = lstatSync(join(p, n));
    if (!st.isDirectory() || !onlyDirectories(join(p, n))) return false;
  }
  return true;
}

/** Copy a file, symlink or directory (recursively) with modes and owners; `dest` is missing or an empty directory. */
export function copyTree(src: string, dest: string): void {
  const st = lstatSync(src);
  if (st.isDirectory()) {
    if (!lstatOrUndefined(dest)) mkdirSync(dest);
    for (const n of readdirSync(src)) copyTree(join(src, n), join(dest, n));
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dest);
  } else if (st.isFile()) {
    copyFileSync(src, dest, constants.COPYFILE_EXCL);
  } else {
    return;
  }
  setOwnerMode(dest, st.isSymbolicLink() ? undefined : st.mode & 0o7777, st.uid, st.gid);
}

export function setOwnerMode(p: string, mode: number | undefined, uid: number, gid: number): void {
  try {
    lchownSync(p, uid, gid);
    if (mode !== undefined) chmodSync(p, mode); // after chown, which clears setuid/setgid bits
  } catch {
    /* not root: keep the defaults */
  }
}
