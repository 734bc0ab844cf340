/**
 * An overlay mount over a hardlinked ostree checkout, so that nothing run in the tree can
 * write through a hardlink into a repository object: every write lands in the upper dir.
 * After the work, the upper layer holds every change. It is committed on top of the base's
 * tree (`prepareUpperForCommit`), with what it removes (`upperRemovals`) taken out of that tree
 * first; or `applyUpper` moves its changes onto a checkout by directory-entry operations
 * (rename, unlink, mkdir) that never touch an object's inode, for the full walk.
 *
 * Mount options: redirect_dir=off (a directory rename copies instead of leaving a redirect
 * xattr we would have to interpret), metacopy=off (copy-ups carry data, not just metadata),
 * index=off and xino=off (nothing persistent beyond this mount).
 */
import { chmodSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { lstatOrUndefined } from './fs.js';
import { run, runSync } from './run.js';

export interface OverlayDirs {
  lower: string;
  upper: string;
  work: string;
  merged: string;
  /**
   * Names at the top of `lower` that the merged tree does not show: each a whiteout in a layer
   * of its own above `lower` (made at `${work}-hidden`), so that nothing reads or writes them.
   */
  hidden?: string[];
}

export async function mountOverlay(d: OverlayDirs, signal?: AbortSignal): Promise<void> {
  await Promise.all([d.upper, d.work, d.merged].map((p) => mkdir(p, { recursive: true })));
  let lowers = d.lower;
  if (d.hidden?.length) {
    const mask = `${d.work}-hidden`;
    await mkdir(mask, { recursive: true });
    for (const name of d.hidden) {
      if (!lstatOrUndefined(join(mask, name))) await run('mknod', [join(mask, name), 'c', '0', '0'], { what: 'making a whiteout for the overlay', signal });
    }
    lowers = `${mask}:${d.lower}`;
  }
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowers},upperdir=${d.upper},workdir=${d.work},redirect_dir=off,metacopy=off,index=off,xino=off`, d.merged], {
    what: 'mounting the overlay over the checkout',
    hint: 'apt-ostree needs overlayfs (modprobe overlay) and must run as root.',
    signal,
  });
}

export async function unmount(path: string): Promise<void> {
  await run('umount', [path], { what: `unmounting ${path}` });
}

/** `umount -l PATH`: detached now, gone once nothing uses it (after a plain unmount failed). */
export async function unmountLazy(path: string): Promise<void> {
  await run('umount', ['-l', path]);
}

/** `umount -l PATH`, blocking and best effort (what a killed run left mounted). */
export function unmountLazySync(path: string): void {
  runSync('umount', ['-l', path]);
}

/** Overlay's own bookkeeping xattrs, which must not end up in a commit. */
const OVERLAY_XATTR = /^trusted\.overlay\./;

/**
 * What the changes in `upper` take away from `lower`, which laying `upper` over it cannot say
 * (an `ostree commit` of the base's tree with `upper` on top only adds and replaces): paths of
 * `lower` ('/usr/x') deleted (a whiteout), hidden by a directory made anew in their place
 * (opaque), or replaced by an entry of the other kind (directory and non-directory), each with
 * why; and the whiteouts themselves, which are not committed. A path under one already listed
 * is not listed. The overlay must be unmounted.
 */
export async function upperRemovals(upper: string, lower: string): Promise<UpperRemovals> {
  const xattrs = await listOverlayXattrs(upper);
  const removals: UpperRemovals = { paths: [], whiteouts: [] };
  const walk = (rel: string, hasLower: boolean): void => {
    for (const name of readdirSync(join(upper, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(upper, r));
      const below = hasLower ? lstatOrUndefined(join(lower, r)) : undefined;
      if (st.isCharacterDevice() && st.rdev === 0) {
        removals.whiteouts.push(join(upper, r));
        if (below) removals.paths.push({ path: `/${r}`, why: 'was removed' });
        continue;
      }
      if (below && below.isDirectory() !== st.isDirectory()) {
        removals.paths.push({ path: `/${r}`, why: 'changed type' });
        if (st.isDirectory()) walk(r, false);
        continue;
      }
      if (!st.isDirectory()) continue;
      if (below && (xattrs.get(join(upper, r)) ?? []).includes('trusted.overlay.opaque')) {
        removals.paths.push({ path: `/${r}`, why: 'was replaced' });
        walk(r, false);
      } else walk(r, below !== undefined);
    }
  };
  walk('', true);
  return removals;
}

export interface UpperRemovals {
  paths: Array<{ path: string; why: string }>;
  /** Absolute paths of the whiteouts in the upper directory. */
  whiteouts: string[];
}

/**
 * Make `upper` commit as it would after `applyUpper`: no overlay bookkeeping attributes on any
 * file or directory, no whiteout (`removals` from upperRemovals: the caller takes their paths
 * out of the base's tree), and the top directory with the metadata of the lower one (overlay
 * made it ours; every other directory was copied up with its lower metadata, or is new).
 */
export async function prepareUpperForCommit(upper: string, lower: string, removals?: UpperRemovals): Promise<void> {
  for (const w of removals?.whiteouts ?? []) rmSync(w);
  await stripOverlayXattrs(await listOverlayXattrs(upper), { directories: true });
  const top = lstatSync(lower);
  lchownSync(upper, top.uid, top.gid);
  chmodSync(upper, top.mode & 0o7777);
  await copyXattrs(lower, upper);
}

/**
 * Move the changes recorded in `upper` onto `lower` (the overlay must be unmounted).
 * Whiteouts delete, opaque directories replace, new and copied-up files are renamed in
 * (which replaces the checkout's hardlink, leaving the repository object untouched).
 */
export async function applyUpper(upper: string, lower: string): Promise<{ files: number; removed: number }> {
  const overlayXattrs = await listOverlayXattrs(upper);
  await stripOverlayXattrs(overlayXattrs, { directories: false });
  const stats = { files: 0, removed: 0 };
  applyDir(upper, lower, overlayXattrs, stats);
  return stats;
}

// Synchronous file system calls: one small directory-entry operation each, and nothing else
// runs meanwhile; a round trip through the thread pool per entry cost more than the work.
function applyDir(up: string, low: string, xattrs: Map<string, string[]>, stats: { files: number; removed: number }): void {
  for (const name of readdirSync(up)) {
    const src = join(up, name);
    const dst = join(low, name);
    const st = lstatSync(src);
    const existing = lstatOrUndefined(dst);
    if (st.isCharacterDevice() && st.rdev === 0) {
      // Whiteout: the file or directory was deleted.
      if (existing) {
        rmSync(dst, { recursive: true, force: true });
        stats.removed++;
      }
      continue;
    }
    if (st.isDirectory()) {
      const opaque = (xattrs.get(src) ?? []).includes('trusted.overlay.opaque');
      if (existing && (!existing.isDirectory() || opaque)) {
        rmSync(dst, { recursive: true, force: true });
      }
      if (!existing || !existing.isDirectory() || opaque) mkdirSync(dst);
      applyDir(src, dst, xattrs, stats);
      chmodSync(dst, st.mode & 0o7777);
      lchownSync(dst, st.uid, st.gid);
      lutimesSync(dst, st.atime, st.mtime);
      continue;
    }
    // Regular file, symlink, fifo, device: move it in, replacing what the checkout had.
    if (existing?.isDirectory()) rmSync(dst, { recursive: true, force: true });
    renameSync(src, dst);
    stats.files++;
  }
}

/** Path → names of trusted.overlay.* xattrs, for everything in the upper dir that has any. */
async function listOverlayXattrs(upper: string): Promise<Map<string, string[]>> {
  const { stdout } = await run('getfattr', ['--absolute-names', '--recursive', '--physical', '--no-dereference', '--match=^trusted\\.overlay\\.', upper], {
    what: 'reading overlay attributes',
    hint: 'Install the attr package (getfattr/setfattr).',
    okCodes: [1],
  });
  const map = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = unescapeGetfattr(line.slice('# file: '.length));
      map.set(current, []);
    } else if (current && line.includes('=')) {
      const name = line.slice(0, line.indexOf('='));
      if (OVERLAY_XATTR.test(name)) map.get(current)!.push(name);
    } else if (current && OVERLAY_XATTR.test(line.trim())) {
      map.get(current)!.push(line.trim());
    }
  }
  return map;
}

/**
 * Copied-up files carry trusted.overlay.origin, directories more: remove them (one setfattr per
 * attribute name). applyUpper recreates directories, so it leaves theirs alone.
 */
async function stripOverlayXattrs(xattrs: Map<string, string[]>, opts: { directories: boolean }): Promise<void> {
  const byName = new Map<string, string[]>();
  for (const [path, names] of xattrs) {
    if (!opts.directories && (await lstat(path)).isDirectory()) continue;
    for (const n of names) byName.set(n, [...(byName.get(n) ?? []), path]);
  }
  for (const [name, paths] of byName) {
    for (let i = 0; i < paths.length; i += 500) {
      await run('setfattr', ['--no-dereference', `--remove=${name}`, '--', ...paths.slice(i, i + 500)], { what: 'removing overlay attributes' });
    }
  }
}

/** getfattr escapes unusual bytes in file names as \ooo octal. */
function unescapeGetfattr(name: string): string {
  if (!name.includes('\\')) return name;
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '\\' && /^[0-7]{3}$/.test(name.slice(i + 1, i + 4))) {
      bytes.push(parseInt(name.slice(i + 1, i + 4), 8));
      i += 3;
    } else bytes.push(...Buffer.from(name[i]!));
  }
  return Buffer.from(bytes).toString();
}

/** Copy the extended attributes of one file onto another (not overlay's own). */
async function copyXattrs(from: string, to: string): Promise<void> {
  const { stdout } = await run('getfattr', ['--absolute-names', '--no-dereference', '--dump', '--match=-', '--encoding=base64', from], {
    what: 'reading extended attributes',
    okCodes: [1],
  });
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (line.startsWith('#') || eq < 0 || OVERLAY_XATTR.test(line.slice(0, eq))) continue;
    await run('setfattr', ['--no-dereference', `--name=${line.slice(0, eq)}`, `--value=${line.slice(eq + 1)}`, '--', to], { what: 'copying extended attributes' });
  }
}

/**
 * Remount a mount point read-write or read-only (the transient /usr overlay of apply-live).
 * util-linux 2.39 and newer reconfigure through fsconfig(2) and hand the overlay all its
 * options again, which overlayfs refuses ("No changes allowed in reconfigure", util-linux
 * issue 2528); LIBMOUNT_FORCE_MOUNT2=always makes it a plain mount(2) MS_REMOUNT, as older
 * util-linux (and rpm-ostree) do, which only flips the read-only flag.
 */
export async function remount(path: string, mode: 'rw' | 'ro'): Promise<void> {
  await run('mount', ['-o', `remount,${mode}`, path], { env: { LIBMOUNT_FORCE_MOUNT2: 'always' }, what: `remounting ${path} ${mode === 'rw' ? 'read-write' : 'read-only'}` });
}
