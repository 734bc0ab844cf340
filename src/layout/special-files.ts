/**
 * FIFOs, sockets and device nodes cannot be in an OSTree commit (ostree stores regular files,
 * symlinks and directories; `ostree commit` fails with "Not a regular file or symlink: fifo",
 * naming neither the file nor its package). Found before the commit and named with the package
 * whose dpkg file list has them, so that the admin knows which package cannot be layered.
 */
import { lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { AptOstreeError } from '../errors.js';

/** The top-level directories of a tree that go into its commit and where packages put files. */
const COMMITTED_DIRS = ['usr', 'etc', 'opt'];

/** What a file that is not a regular file, symlink or directory is, or undefined. */
function specialKind(st: Stats): string | undefined {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isBlockDevice()) return 'a block device';
  // A character device 0/0 is an overlayfs whiteout (a deletion), not a file of the tree.
  if (st.isCharacterDevice() && st.rdev !== 0) return 'a character device';
  return undefined;
}

/** The special files under ROOT's committed directories, as absolute paths in the tree with their kind. */
export function findSpecialFiles(root: string): Array<{ path: string; kind: string }> {
  const found: Array<{ path: string; kind: string }> = [];
  const walk = (rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(join(root, rel));
    } catch {
      return;
    }
    for (const name of names) {
      const r = `${rel}/${name}`;
      const st = lstatSync(join(root, r));
      if (st.isDirectory()) walk(r);
      else {
        const kind = specialKind(st);
        if (kind) found.push({ path: `/${r}`, kind });
      }
    }
  };
  for (const d of COMMITTED_DIRS) walk(d);
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

/** The packages whose file lists (DB/info/*.list) name PATH; /usr/etc is /etc to dpkg. */
function ownersOf(db: string, paths: string[]): Map<string, string[]> {
  const owners = new Map<string, string[]>();
  const dpkgPath = (p: string) => (p.startsWith('/usr/etc/') ? p.slice('/usr'.length) : p);
  const wanted = new Set(paths.map(dpkgPath));
  let lists: string[];
  try {
    lists = readdirSync(join(db, 'info')).filter((n) => n.endsWith('.list'));
  } catch {
    return owners;
  }
  for (const list of lists) {
    const pkg = list.slice(0, -'.list'.length).split(':')[0]!;
    for (const line of readFileSync(join(db, 'info', list), 'utf8').split('\n')) {
      if (wanted.has(line)) owners.set(line, [...(owners.get(line) ?? []), pkg]);
    }
  }
  return new Map(paths.map((p) => [p, owners.get(dpkgPath(p)) ?? []]));
}

/**
 * Fail, naming each special file under SCAN (the tree, or only what a layer added to it) and
 * the package that has it (from the dpkg database DB), when there is any.
 */
export function refuseSpecialFiles(scan: string, db: string): void {
  const found = findSpecialFiles(scan);
  if (!found.length) return;
  const owners = ownersOf(db, found.map((f) => f.path));
  const named = found.map((f) => {
    const pkgs = owners.get(f.path) ?? [];
    return `${f.path} (${f.kind}, ${pkgs.length ? `of the package ${pkgs.join(', ')}` : 'in no package\'s file list'})`;
  });
  const pkgs = [...new Set(found.flatMap((f) => owners.get(f.path) ?? []))];
  throw new AptOstreeError(`${named.join(', ')} cannot be in an OSTree commit, which keeps only regular files, symlinks and directories.`, {
    hint: `Leave out ${pkgs.length ? pkgs.join(', ') : 'the package whose maintainer script makes it'}: on an OSTree system such a file is made at boot (a tmpfiles.d line, under /run or /var).`,
  });
}
