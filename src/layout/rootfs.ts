/**
 * The Debian-on-OSTree layout (docs/layout.md is the contract): turns a plain Debian root
 * filesystem (mmdebstrap, debootstrap, a container export, or a layering checkout after dpkg
 * ran) into a tree that `ostree commit` and `ostree admin deploy` accept.
 *
 *   /etc                  → /usr/etc (ostree merges it into each deployment's /etc)
 *   /var/lib/dpkg         → /usr/share/dpkg/database, /var/lib/dpkg a tmpfiles.d link to it
 *   /opt/X, /usr/local/X  → /usr/lib/opt/X, /usr/lib/usrlocal/X, linked back from /var
 *   the rest of /var      → tmpfiles.d lines (+ /usr/share/factory/var for file contents)
 *   users and groups      → sysusers.d lines with their exact ids
 *   /boot/vmlinuz-KVER    → /usr/lib/modules/KVER/vmlinuz (+ initramfs.img)
 *   /home, /root, /opt…   → symlinks into /var; /dev /proc /sys /run /tmp empty
 *
 * The parts live beside this module: tmpfiles.ts (tmpfiles.d lines and files), sysusers.ts
 * (users and groups), var.ts (/var into tmpfiles.d lines and back), files.ts (file helpers).
 * Every step is its own exported function (layering reuses them) and is idempotent: running it
 * on a converted tree changes nothing. `convertRootfs` runs them all in order, in place.
 * Nothing here writes into an existing file: files are replaced (new file + rename) or moved,
 * so a tree that shares inodes with another (a hardlinked copy) never changes the other.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AptOstreeError } from '../errors.js';
import { isDirectory, lstatOrUndefined } from '../system/fs.js';
import { emptyDir, modeString, moveMerge, onlyDirectories, replaceFile } from './files.js';
import { writeSysusers } from './sysusers.js';
import { writeTmpfiles, type TmpfilesEntry } from './tmpfiles.js';
import { convertVar } from './var.js';

/** tmpfiles.d / sysusers.d file name (without .conf) written by compose. */
export const BASE_CONF_NAME = 'apt-ostree-base';
/** tmpfiles.d / sysusers.d file name (without .conf) written by package layering. */
export const LAYER_CONF_NAME = 'apt-ostree-layer';

/** Where the dpkg database lives in the image, and the tmpfiles.d link target that finds it. */
export const DPKG_DATABASE = 'usr/share/dpkg/database';
export const DPKG_LINK_TARGET = '../../usr/share/dpkg/database';
const OPT_DIR = 'usr/lib/opt';
const USRLOCAL_DIR = 'usr/lib/usrlocal';
/** The kernel version directory of the placeholder kernel of images composed without one. */
export const PLACEHOLDER_KVER = '0.0.0-apt-ostree-no-kernel';

/** Top-level paths that become symlinks (name → target, relative to /). */
const TOPLEVEL_LINKS: ReadonlyArray<readonly [string, string]> = [
  ['home', 'var/home'],
  ['root', 'var/roothome'],
  ['opt', 'var/opt'],
  ['srv', 'var/srv'],
  ['mnt', 'var/mnt'],
  ['media', 'run/media'],
  ['usr/local', '../var/usrlocal'],
  ['ostree', 'sysroot/ostree'],
];

/** Directories that must be empty in the commit (API filesystems and scratch space). */
const API_DIRS: ReadonlyArray<readonly [string, number]> = [
  ['dev', 0o755], ['proc', 0o555], ['sys', 0o555], ['run', 0o755], ['tmp', 0o1777],
];

/** The standard directories of /usr/local (FHS, Debian policy 9.1.2): they stay writable under /var/usrlocal. */
const USRLOCAL_STANDARD = ['bin', 'etc', 'games', 'include', 'lib', 'man', 'sbin', 'share', 'share/man', 'src'];

// ---------------------------------------------------------------------------------------------
// steps

/** Empty /dev, /proc, /sys, /run and /tmp (mmdebstrap's /dev has device nodes ostree refuses). */
function emptyApiDirs(root: string): void {
  for (const [d, mode] of API_DIRS) {
    const p = join(root, d);
    const st = lstatOrUndefined(p);
    if (st && !st.isDirectory()) rmSync(p, { force: true });
    if (st?.isDirectory()) emptyDir(p);
    else mkdirSync(p);
    chmodSync(p, mode); // mkdir's mode passes through the umask; /tmp must be 1777
  }
}

/**
 * /etc → /usr/etc. An empty /etc beside /usr/etc (a sandbox mount point) is removed; two
 * non-empty ones are an error, since ostree refuses such a tree and we cannot tell which wins.
 */
function moveEtcToUsrEtc(root: string): void {
  const etc = join(root, 'etc');
  const usrEtc = join(root, 'usr/etc');
  const hasEtc = isDirectory(etc);
  const hasUsrEtc = isDirectory(usrEtc);
  if (hasEtc && hasUsrEtc) {
    if (readdirSync(etc).length === 0) {
      rmdirSync(etc);
      return;
    }
    throw new AptOstreeError(`The tree ${root} has both /etc and /usr/etc.`, {
      hint: 'A root filesystem for apt-ostree has its configuration in /etc (a plain Debian tree) or in /usr/etc (already converted), not both; remove one.',
    });
  }
  if (hasEtc) renameSync(etc, usrEtc);
  else if (lstatOrUndefined(etc)) rmSync(etc, { force: true }); // a stray symlink or file
  if (!isDirectory(usrEtc)) {
    throw new AptOstreeError(`The tree ${root} has no /etc.`, { hint: 'Is this the root filesystem of a Debian system?' });
  }
}

/** /usr/etc/machine-id must exist and be empty: systemd generates one on first boot (ostree merges it). */
function resetMachineId(root: string): void {
  const p = join(root, 'usr/etc/machine-id');
  const st = lstatOrUndefined(p);
  if (st?.isFile() && st.size === 0) return;
  if (st) rmSync(p, { force: true });
  replaceFile(p, '', 0o444);
}

/** Refuse a symlink at `rel` (relative to the tree's root) or on the way to it, naming it. */
function refuseLinkOnTheWay(root: string, rel: string, hint: string): void {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const p = join(root, ...parts.slice(0, i));
    const st = lstatOrUndefined(p);
    if (!st) return;
    if (st.isSymbolicLink()) {
      throw new AptOstreeError(`The tree ${root} has a symlink /${parts.slice(0, i).join('/')} → ${readlinkSync(p)} where its dpkg database must be a directory (/${rel}).`, { hint });
    }
  }
}

/**
 * Move the dpkg database to /usr/share/dpkg/database: it describes the files of /usr and must
 * change with them, atomically. /var/lib/dpkg becomes a tmpfiles.d link to it.
 */
function moveDpkgDatabase(root: string): TmpfilesEntry[] {
  const varDpkg = join(root, 'var/lib/dpkg');
  const db = join(root, DPKG_DATABASE);
  refuseLinkOnTheWay(root, DPKG_DATABASE, 'apt-ostree keeps the dpkg database in a real directory at /usr/share/dpkg/database (docs/layout.md): move it there in the tree, in place of the link.');
  const st = lstatOrUndefined(varDpkg);
  if (st?.isDirectory()) {
    if (existsSync(db) && readdirSync(varDpkg).length === 0) rmdirSync(varDpkg);
    else if (existsSync(db)) {
      throw new AptOstreeError(`The tree ${root} has a dpkg database both in /var/lib/dpkg and in /${DPKG_DATABASE}.`, {
        hint: 'Remove the stale one; apt-ostree keeps the database in /usr/share/dpkg/database.',
      });
    } else {
      mkdirSync(dirname(db), { recursive: true });
      renameSync(varDpkg, db);
    }
  } else if (st) {
    // The link itself; tmpfiles.d recreates it. A database only at its target is not moved:
    // a link is never followed out of the tree (an absolute one would lead to the host's).
    if (st.isSymbolicLink() && !existsSync(db)) {
      throw new AptOstreeError(`The tree ${root} has /var/lib/dpkg as a symlink to ${readlinkSync(varDpkg)} and no dpkg database at /${DPKG_DATABASE}.`, {
        hint: 'Make /var/lib/dpkg the database directory itself, or move the database to /usr/share/dpkg/database (docs/layout.md).',
      });
    }
    rmSync(varDpkg, { force: true });
  }
  if (!isDirectory(db)) {
    throw new AptOstreeError(`The tree ${root} has no dpkg database (neither /var/lib/dpkg nor /${DPKG_DATABASE}).`, {
      hint: 'apt-ostree needs a Debian root filesystem with dpkg installed.',
    });
  }
  // Backups and locks dpkg leaves behind are state of the build, not of the image.
  for (const n of ['lock', 'lock-frontend', 'triggers/Lock', 'status-old', 'diversions-old', 'statoverride-old', 'available-old']) {
    rmSync(join(db, n), { force: true });
  }
  return [{ type: 'L', path: '/var/lib/dpkg', arg: DPKG_LINK_TARGET }];
}

/**
 * Package content under /opt and /usr/local, moved into /usr (immutable, updated with the
 * image) and linked back from /var, where /opt and /usr/local point:
 *
 *   /opt/X                → /usr/lib/opt/X,      L /var/opt/X → /usr/lib/opt/X
 *   /usr/local/D/X        → /usr/lib/usrlocal/D/X, L /var/usrlocal/D/X → /usr/lib/usrlocal/D/X
 *
 * For /usr/local the standard directories (bin, lib, share, …) stay real, writable directories
 * under /var/usrlocal (so the admin can still put things there); what packages ship inside
 * them is linked one entry at a time. Works on a plain tree (/opt a directory) and on a
 * converted one where /opt is already the symlink var/opt (then dpkg put the files in
 * /var/opt/X): both are moved. Links that point back to /usr/lib/opt (made by
 * createVarFromTmpfiles for dpkg) are dropped, not moved. Idempotent.
 */
export function relocateOptAndUsrLocal(root: string): TmpfilesEntry[] {
  const entries: TmpfilesEntry[] = [];
  // /opt: every top-level entry is one vendor's tree.
  for (const src of ['opt', 'var/opt']) {
    const dir = join(root, src);
    if (!isDirectory(dir)) continue;
    for (const n of readdirSync(dir).sort()) {
      const p = join(dir, n);
      const target = `/${OPT_DIR}/${n}`;
      const st = lstatSync(p);
      if (st.isSymbolicLink() && readlinkSync(p) === target) rmSync(p);
      else moveMerge(p, join(root, OPT_DIR, n));
    }
  }
  if (isDirectory(join(root, OPT_DIR))) {
    for (const n of readdirSync(join(root, OPT_DIR)).sort()) entries.push({ type: 'L', path: `/var/opt/${n}`, arg: `/${OPT_DIR}/${n}` });
  }
  // /usr/local: standard directories stay, their content is linked entry by entry.
  for (const src of ['usr/local', 'var/usrlocal']) {
    const dir = join(root, src);
    if (isDirectory(dir)) relocateUsrLocalDir(root, dir, '', entries);
  }
  return entries;
}

function relocateUsrLocalDir(root: string, base: string, rel: string, entries: TmpfilesEntry[]): void {
  for (const n of readdirSync(join(base, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const p = join(base, r);
    const st = lstatSync(p);
    const target = `/${USRLOCAL_DIR}/${r}`;
    const standard = USRLOCAL_STANDARD.includes(r);
    if (st.isDirectory() && (standard || onlyDirectories(p))) {
      entries.push({ type: 'd', path: `/var/usrlocal/${r}`, mode: modeString(st), uid: String(st.uid), gid: String(st.gid) });
      relocateUsrLocalDir(root, base, r, entries);
    } else if (st.isSymbolicLink() && readlinkSync(p) === target) {
      rmSync(p);
      entries.push({ type: 'L', path: `/var/usrlocal/${r}`, arg: target });
    } else if (st.isSymbolicLink() && standard) {
      // Debian's /usr/local/man → share/man: a plain link, recreated as it is.
      entries.push({ type: 'L', path: `/var/usrlocal/${r}`, arg: readlinkSync(p) });
      rmSync(p);
    } else {
      moveMerge(p, join(root, USRLOCAL_DIR, r));
      entries.push({ type: 'L', path: `/var/usrlocal/${r}`, arg: target });
    }
  }
}

/** The kernel of the tree, as found by moveKernel. */
export interface KernelInfo {
  version: string;
  /** True when compose wrote a placeholder because the image has no kernel. */
  placeholder: boolean;
  initramfs: boolean;
}

export type KernelPolicy =
  /** A kernel and an initramfs must be there (a bootable image). */
  | 'required'
  /** Move what is there; no kernel is fine (layering). */
  | 'optional'
  /** Move what is there; with none, install a placeholder so that ostree can deploy the tree. */
  | 'placeholder';

/**
 * /boot/vmlinuz-KVER → /usr/lib/modules/KVER/vmlinuz and /boot/initrd.img-KVER →
 * /usr/lib/modules/KVER/initramfs.img (config-KVER and System.map-KVER go along); /boot and
 * the top-level /vmlinuz, /initrd.img links are emptied. ostree deploys exactly one kernel.
 */
function moveKernel(root: string, policy: KernelPolicy = 'optional'): KernelInfo | undefined {
  const boot = join(root, 'boot');
  const modules = join(root, 'usr/lib/modules');
  if (isDirectory(boot)) {
    for (const n of readdirSync(boot)) {
      const m = /^vmlinuz-(.+)$/.exec(n);
      if (!m || !lstatSync(join(boot, n)).isFile()) continue;
      const kver = m[1]!;
      const dest = join(modules, kver);
      mkdirSync(dest, { recursive: true });
      moveMerge(join(boot, n), join(dest, 'vmlinuz'));
      for (const [from, to] of [[`initrd.img-${kver}`, 'initramfs.img'], [`config-${kver}`, 'config'], [`System.map-${kver}`, 'System.map']] as const) {
        if (lstatOrUndefined(join(boot, from))?.isFile()) moveMerge(join(boot, from), join(dest, to));
      }
    }
    emptyDir(boot);
  } else {
    rmSync(boot, { force: true });
    mkdirSync(boot, { mode: 0o755 });
  }
  for (const n of ['vmlinuz', 'vmlinuz.old', 'initrd.img', 'initrd.img.old']) {
    if (lstatOrUndefined(join(root, n))?.isSymbolicLink()) rmSync(join(root, n));
  }
  const kernels = isDirectory(modules) ? readdirSync(modules).filter((k) => lstatOrUndefined(join(modules, k, 'vmlinuz'))?.isFile()).sort() : [];
  const real = kernels.filter((k) => k !== PLACEHOLDER_KVER);
  if (real.length && kernels.includes(PLACEHOLDER_KVER)) {
    rmSync(join(modules, PLACEHOLDER_KVER), { recursive: true, force: true });
  }
  if (real.length > 1) {
    throw new AptOstreeError(`The tree has ${real.length} kernels (${real.join(', ')}); an OSTree deployment boots exactly one.`, {
      hint: 'Install a single kernel package (e.g. linux-image-amd64), or remove the others in a postprocess step.',
    });
  }
  if (real.length === 1) {
    const kver = real[0]!;
    const initramfs = existsSync(join(modules, kver, 'initramfs.img'));
    if (policy === 'required' && !initramfs) {
      throw new AptOstreeError(`The kernel ${kver} has no initramfs (no /boot/initrd.img-${kver} or /usr/lib/modules/${kver}/initramfs.img).`, {
        hint: 'Add an initramfs generator to the packages (dracut, or initramfs-tools), or compose with kernel: false for an image that is not booted.',
      });
    }
    return { version: kver, placeholder: false, initramfs };
  }
  if (policy === 'required') {
    throw new AptOstreeError('kernel: true, but the tree has no kernel (no /boot/vmlinuz-* and no /usr/lib/modules/*/vmlinuz).', {
      hint: 'Add a kernel and an initramfs generator to the packages (e.g. linux-image-amd64 and dracut), or set kernel: false.',
    });
  }
  if (policy === 'placeholder') {
    const dest = join(modules, PLACEHOLDER_KVER);
    if (!existsSync(join(dest, 'vmlinuz'))) {
      replaceFile(join(dest, 'vmlinuz'), 'apt-ostree: this image was composed without a kernel (kernel: false); it can be deployed but not booted.\n');
      replaceFile(join(dest, 'initramfs.img'), 'apt-ostree: no initramfs (kernel: false).\n');
    }
    return { version: PLACEHOLDER_KVER, placeholder: true, initramfs: true };
  }
  return undefined;
}

/** Where each of /home, /root, /srv, /mnt keeps its content: the same place, under /var. */
const MOVED_TO_VAR: Record<string, string> = { home: 'var/home', root: 'var/roothome', srv: 'var/srv', mnt: 'var/mnt' };

/**
 * The top-level symlinks of docs/layout.md, and /sysroot. What the tree had in /home, /root,
 * /srv and /mnt moves to /var (and so becomes tmpfiles.d content); /opt and /usr/local must
 * have been relocated first; /media is on /run and starts empty.
 */
function makeToplevelLinks(root: string, warn: (text: string) => void = () => {}): void {
  for (const [name, target] of TOPLEVEL_LINKS) {
    const p = join(root, name);
    const st = lstatOrUndefined(p);
    if (st?.isSymbolicLink()) {
      if (readlinkSync(p) === target) continue;
      rmSync(p);
    } else if (st?.isDirectory()) {
      if (MOVED_TO_VAR[name]) {
        for (const n of readdirSync(p)) moveMerge(join(p, n), join(root, MOVED_TO_VAR[name]!, n));
      } else if (name === 'media' && readdirSync(p).length) {
        warn(`/media is on /run after boot; dropped its content: ${readdirSync(p).join(', ')}`);
      } else if ((name === 'opt' || name === 'usr/local') && !onlyDirectories(p) && !onlyDirsAndStandardLinks(p)) {
        throw new AptOstreeError(`/${name} still has files after relocation: this is a bug in apt-ostree.`);
      }
      rmSync(p, { recursive: true, force: true });
    } else if (st) {
      rmSync(p, { force: true });
    }
    mkdirSync(dirname(p), { recursive: true });
    symlinkSync(target, p);
  }
  if (!isDirectory(join(root, 'sysroot'))) {
    rmSync(join(root, 'sysroot'), { force: true });
    mkdirSync(join(root, 'sysroot'), { mode: 0o755 });
  }
}

function onlyDirsAndStandardLinks(p: string): boolean {
  return readdirSync(p, { recursive: true, withFileTypes: true }).every((d) => d.isDirectory() || d.isSymbolicLink());
}

/** tmpfiles.d entries for the /var directories the top-level links point to. */
export function toplevelTmpfiles(): TmpfilesEntry[] {
  const d = (path: string, mode = '0755'): TmpfilesEntry => ({ type: 'd', path, mode, uid: '0', gid: '0' });
  return [
    d('/var/home'),
    d('/var/roothome', '0700'),
    d('/var/opt'),
    d('/var/srv'),
    d('/var/mnt'),
    d('/var/usrlocal'),
    ...USRLOCAL_STANDARD.filter((s) => s !== 'man').map((s) => d(`/var/usrlocal/${s}`)),
    { type: 'L', path: '/var/usrlocal/man', arg: 'share/man' },
    d('/var/tmp', '1777'),
  ];
}

// ---------------------------------------------------------------------------------------------
// all of it

export interface ConvertOptions {
  /** tmpfiles.d file name without .conf (BASE_CONF_NAME for compose, LAYER_CONF_NAME for layering). */
  tmpfilesName: string;
  /** sysusers.d file name for the tree's users and groups, or false to leave users alone (layering has its own). */
  sysusersName?: string | false;
  kernel?: KernelPolicy;
  warn?: (text: string) => void;
}

export interface ConvertResult {
  kernel?: KernelInfo;
  tmpfilesLines: number;
  sysusersLines: number;
  factoryFiles: string[];
  skipped: string[];
}

/** Convert a root filesystem to the apt-ostree layout, in place. Idempotent. */
export function convertRootfs(root: string, opts: ConvertOptions): ConvertResult {
  const warn = opts.warn ?? (() => {});
  if (!isDirectory(join(root, 'usr'))) {
    throw new AptOstreeError(`${root} is not a root filesystem (it has no /usr directory).`, { hint: 'Give the directory that contains bin, etc, usr and var.' });
  }
  emptyApiDirs(root);
  moveEtcToUsrEtc(root);
  resetMachineId(root);
  rmSync(join(root, 'usr/etc/.pwd.lock'), { force: true });
  const kernel = moveKernel(root, opts.kernel ?? 'optional');
  const relocated = relocateOptAndUsrLocal(root);
  makeToplevelLinks(root, warn);
  const dpkg = moveDpkgDatabase(root);
  const sysusersLines = opts.sysusersName ? writeSysusers(root, opts.sysusersName) : 0;
  const v = convertVar(root, warn);
  const tmpfilesLines = writeTmpfiles(root, opts.tmpfilesName, [...toplevelTmpfiles(), ...dpkg, ...relocated, ...v.entries]);
  return { kernel, tmpfilesLines, sysusersLines, factoryFiles: v.factoryFiles, skipped: v.skipped };
}
