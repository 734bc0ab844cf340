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
 * Every step is its own exported function (layering reuses them) and is idempotent: running it
 * on a converted tree changes nothing. `convertRootfs` runs them all in order, in place.
 * Nothing here writes into an existing file: files are replaced (new file + rename) or moved,
 * so a tree that shares inodes with another (a hardlinked copy) never changes the other.
 */
import {
  chmodSync, constants, copyFileSync, lchownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync,
  renameSync, rmSync, rmdirSync, symlinkSync, writeFileSync, type Stats,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { AptOstreeError } from '../errors.js';

/** tmpfiles.d / sysusers.d file name (without .conf) written by compose. */
export const BASE_CONF_NAME = 'apt-ostree-base';
/** tmpfiles.d / sysusers.d file name (without .conf) written by package layering. */
export const LAYER_CONF_NAME = 'apt-ostree-layer';

/** Where the dpkg database lives in the image, and the tmpfiles.d link target that finds it. */
export const DPKG_DATABASE = 'usr/share/dpkg/database';
export const DPKG_LINK_TARGET = '../../usr/share/dpkg/database';
const FACTORY_VAR = 'usr/share/factory/var';
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
// tmpfiles.d lines

export type TmpfilesType = 'd' | 'L' | 'C' | 'f';

export interface TmpfilesEntry {
  type: TmpfilesType;
  /** Absolute path, e.g. /var/lib/apt. */
  path: string;
  mode?: string;
  uid?: string;
  gid?: string;
  /** Symlink target (L) or copy source (C). */
  arg?: string;
}

/** Quote a field for tmpfiles.d: '%' doubled (specifiers), whitespace and quotes escaped. */
export function tmpfilesField(s: string): string {
  const spec = s.replace(/%/g, '%%');
  if (!/[\s"'\\]/.test(spec) && spec !== '') return spec;
  let out = '"';
  for (const ch of spec) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

export function formatTmpfilesLine(e: TmpfilesEntry): string {
  const f = (v: string | undefined) => (v === undefined ? '-' : v);
  const fields = [e.type, tmpfilesField(e.path), f(e.mode), f(e.uid), f(e.gid), '-'];
  if (e.arg !== undefined) fields.push(tmpfilesField(e.arg));
  return fields.join(' ');
}

/** Split a tmpfiles.d/sysusers.d line into fields, honouring "quotes" and \escapes. */
export function splitConfFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    let field = '';
    let quote: string | undefined;
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (quote) {
        if (c === quote) quote = undefined;
        else if (c === '\\' && i + 1 < line.length) {
          const n = line[++i]!;
          if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 1, i + 3))) {
            field += String.fromCharCode(parseInt(line.slice(i + 1, i + 3), 16));
            i += 2;
          } else field += n === 'n' ? '\n' : n === 't' ? '\t' : n;
        } else field += c;
      } else if (c === '"' || c === "'") quote = c;
      else if (/\s/.test(c)) break;
      else if (c === '\\' && i + 1 < line.length) field += line[++i]!;
      else field += c;
    }
    out.push(field);
  }
  return out;
}

/** System-mode specifiers that name fixed directories (systemd.unit(5), tmpfiles.d(5)). */
const PATH_SPECIFIERS: Record<string, string> = { S: '/var/lib', C: '/var/cache', L: '/var/log', T: '/tmp', V: '/var/tmp', t: '/run', '%': '%' };

export function parseTmpfiles(text: string): TmpfilesEntry[] {
  const out: TmpfilesEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [type, path, mode, uid, gid, , arg] = splitConfFields(line);
    if (!type || !path) continue;
    const dash = (v: string | undefined) => (v === undefined || v === '-' ? undefined : v);
    out.push({
      type: type as TmpfilesType,
      path: path.replace(/%(.)/g, (m, c: string) => PATH_SPECIFIERS[c] ?? m),
      mode: dash(mode),
      uid: dash(uid),
      gid: dash(gid),
      arg: arg === undefined ? undefined : arg.replace(/%%/g, '%'),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// the tmpfiles.d files of an image, as systemd-tmpfiles reads them

/**
 * Where an image's tmpfiles.d files are, highest precedence first: the admin's directory
 * (/usr/etc/tmpfiles.d is /etc/tmpfiles.d after boot; etc/tmpfiles.d in a tree not converted
 * yet), then the vendor's. A file masks or overrides a file of the same name further down.
 */
export const TMPFILES_SEARCH_DIRS = ['usr/etc/tmpfiles.d', 'etc/tmpfiles.d', 'usr/lib/tmpfiles.d'] as const;

/** One tmpfiles.d file of an image (`dir` relative to /); `text` undefined: masked (a link to /dev/null). */
export interface TmpfilesFile {
  dir: string;
  name: string;
  text?: string;
}

/**
 * The tmpfiles.d files of the tree at `root`, in TMPFILES_SEARCH_DIRS order. Links are
 * resolved inside the tree (resolveBeneath), never on the host.
 */
export function readTmpfilesFiles(root: string): TmpfilesFile[] {
  const out: TmpfilesFile[] = [];
  for (const dir of TMPFILES_SEARCH_DIRS) {
    const d = resolveBeneath(root, dir);
    let names: string[];
    try {
      names = d ? readdirSync(d).filter((n) => n.endsWith('.conf')).sort() : [];
    } catch {
      continue;
    }
    for (const name of names) {
      const p = join(d!, name);
      const real = resolveBeneath(root, `${dir}/${name}`);
      if ((lstatOrUndefined(p)?.isSymbolicLink() && readlinkSync(p) === '/dev/null') || real === join(root, 'dev/null')) {
        out.push({ dir, name }); // masked
        continue;
      }
      let text = ''; // unreadable or dangling: it still takes the name, as in systemd
      try {
        if (real && lstatSync(real).isFile()) text = readFileSync(real, 'utf8');
      } catch {
        /* keep it empty */
      }
      out.push({ dir, name, text });
    }
  }
  return out;
}

/**
 * The files systemd-tmpfiles applies: of several files with one name the first one (the
 * admin's) wins, masked ones drop out, and the rest are read in the lexical order of their
 * names whatever their directory.
 */
export function activeTmpfilesFiles(files: readonly TmpfilesFile[]): Array<Required<TmpfilesFile>> {
  const byName = new Map<string, TmpfilesFile>();
  for (const f of files) if (!byName.has(f.name)) byName.set(f.name, f);
  return [...byName.values()]
    .filter((f): f is Required<TmpfilesFile> => f.text !== undefined)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A line of an image's tmpfiles.d files that creates something, as systemd-tmpfiles applies it. */
export interface TmpfilesItem {
  /** The type letter, without modifiers: d, L, C, f, … */
  type: string;
  /** The `+` modifier (L+: replace what is there). */
  force: boolean;
  /** Absolute and normalized. */
  path: string;
  mode?: string;
  uid?: string;
  gid?: string;
  arg?: string;
  /** The file it comes from, e.g. usr/lib/tmpfiles.d/foo.conf (for messages). */
  source: string;
}

/** Line types that create the path; the first declaration of a path wins (systemd's "duplicate line"). */
const CREATING_TYPES = new Set(['f', 'F', 'w', 'd', 'D', 'v', 'q', 'Q', 'p', 'L', 'c', 'b', 'C']);

/**
 * What the image's tmpfiles.d files create, one item per path (the first declaration in the
 * active files wins), sorted so that a directory precedes what is in it. Adjusting lines (z, x,
 * a, r, …) and paths that are relative or contain `..` are left out.
 */
export function effectiveTmpfiles(files: readonly TmpfilesFile[]): TmpfilesItem[] {
  const byPath = new Map<string, TmpfilesItem>();
  for (const f of activeTmpfilesFiles(files)) {
    for (const e of parseTmpfiles(f.text)) {
      const type = e.type[0]!;
      const parts = e.path.split('/').filter((c) => c && c !== '.');
      if (!CREATING_TYPES.has(type) || !e.path.startsWith('/') || parts.includes('..')) continue;
      const path = `/${parts.join('/')}`;
      if (byPath.has(path)) continue;
      byPath.set(path, { type, force: e.type.slice(1).includes('+'), path, mode: e.mode, uid: e.uid, gid: e.gid, arg: e.arg, source: `${f.dir}/${f.name}` });
    }
  }
  return [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
}

/**
 * Where `path` leads once the links (L lines) of `items` exist; every other component is taken
 * as it is. E.g. /var/lib/dpkg with `L /var/lib/dpkg - - - - ../../usr/share/dpkg/database`
 * leads to /usr/share/dpkg/database.
 */
export function followTmpfilesLinks(items: readonly TmpfilesItem[], path: string): string {
  const links = new Map(items.filter((i) => i.type === 'L').map((i) => [i.path, i.arg ?? `/usr/share/factory${i.path}`]));
  let parts = path.split('/').filter(Boolean);
  for (let i = 0, hops = 0; i < parts.length && hops < 40; i++) {
    const target = links.get(`/${parts.slice(0, i + 1).join('/')}`);
    if (target === undefined) continue;
    const resolved: string[] = target.startsWith('/') ? [] : parts.slice(0, i);
    for (const c of [...target.split('/'), ...parts.slice(i + 1)]) {
      if (c === '..') resolved.pop();
      else if (c && c !== '.') resolved.push(c);
    }
    parts = resolved;
    i = -1;
    hops++;
  }
  return `/${parts.join('/')}`;
}

/** Paths that tmpfiles.d files of the tree already declare, except the file named `exceptName`. */
export function declaredTmpfilesPaths(root: string, exceptName?: string): Set<string> {
  const paths = new Set<string>();
  for (const f of activeTmpfilesFiles(readTmpfilesFiles(root))) {
    if (f.name === `${exceptName}.conf`) continue;
    for (const e of parseTmpfiles(f.text)) paths.add(normalizeAbs(e.path));
  }
  return paths;
}

function normalizeAbs(p: string): string {
  return `/${p.split('/').filter(Boolean).join('/')}`;
}

/**
 * Write usr/lib/tmpfiles.d/NAME.conf: the lines already in it, plus `entries` for paths that no
 * tmpfiles.d file of the tree declares yet (a path declared twice makes systemd-tmpfiles warn at
 * every boot, and the first declaration wins anyway). Sorted by path, so parents come first.
 */
export function writeTmpfiles(root: string, name: string, entries: TmpfilesEntry[], header?: string): number {
  const file = join(root, 'usr/lib/tmpfiles.d', `${name}.conf`);
  const existing = existsSync(file) ? parseTmpfiles(readFileSync(file, 'utf8')) : [];
  const declaredElsewhere = declaredTmpfilesPaths(root, name);
  const byPath = new Map<string, TmpfilesEntry>();
  for (const e of [...existing, ...entries]) {
    const p = normalizeAbs(e.path);
    if (declaredElsewhere.has(p) || byPath.has(p)) continue;
    byPath.set(p, { ...e, path: p });
  }
  const sorted = [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
  if (!sorted.length && !existsSync(file)) return 0;
  const text = `${header ?? `# Written by apt-ostree: the content of /var in the image (see docs/layout.md).`}\n${sorted.map(formatTmpfilesLine).join('\n')}\n`;
  replaceFile(file, text, 0o644);
  return sorted.length;
}

/** Path order with '/' before any other character, so that a directory precedes its children. */
function comparePaths(a: string, b: string): number {
  const ka = a.split('/');
  const kb = b.split('/');
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
  }
  return ka.length - kb.length;
}

// ---------------------------------------------------------------------------------------------
// small file helpers

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function isRealDir(p: string): boolean {
  return lstatOrUndefined(p)?.isDirectory() ?? false;
}

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

/** Write a file as a new inode (never through an existing one, which may be a shared hardlink). */
function replaceFile(path: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.apt-ostree-tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

function modeString(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

/** Move src to dest; when both are directories, merge src into dest (src wins on conflicts). */
function moveMerge(src: string, dest: string): void {
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

function emptyDir(p: string): void {
  for (const n of readdirSync(p)) rmSync(join(p, n), { recursive: true, force: true });
}

/** True when the directory holds nothing but (recursively) empty directories. */
function onlyDirectories(p: string): boolean {
  for (const n of readdirSync(p)) {
    const st = lstatSync(join(p, n));
    if (!st.isDirectory() || !onlyDirectories(join(p, n))) return false;
  }
  return true;
}

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
  const hasEtc = isRealDir(etc);
  const hasUsrEtc = isRealDir(usrEtc);
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
  if (!isRealDir(usrEtc)) {
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

/**
 * Move the dpkg database to /usr/share/dpkg/database: it describes the files of /usr and must
 * change with them, atomically. /var/lib/dpkg becomes a tmpfiles.d link to it.
 */
function moveDpkgDatabase(root: string): TmpfilesEntry[] {
  const varDpkg = join(root, 'var/lib/dpkg');
  const db = join(root, DPKG_DATABASE);
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
    rmSync(varDpkg, { force: true }); // the link itself; tmpfiles.d recreates it
  }
  if (!isRealDir(db)) {
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
    if (!isRealDir(dir)) continue;
    for (const n of readdirSync(dir).sort()) {
      const p = join(dir, n);
      const target = `/${OPT_DIR}/${n}`;
      const st = lstatSync(p);
      if (st.isSymbolicLink() && readlinkSync(p) === target) rmSync(p);
      else moveMerge(p, join(root, OPT_DIR, n));
    }
  }
  if (isRealDir(join(root, OPT_DIR))) {
    for (const n of readdirSync(join(root, OPT_DIR)).sort()) entries.push({ type: 'L', path: `/var/opt/${n}`, arg: `/${OPT_DIR}/${n}` });
  }
  // /usr/local: standard directories stay, their content is linked entry by entry.
  for (const src of ['usr/local', 'var/usrlocal']) {
    const dir = join(root, src);
    if (isRealDir(dir)) relocateUsrLocalDir(root, dir, '', entries);
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
  if (isRealDir(boot)) {
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
  const kernels = isRealDir(modules) ? readdirSync(modules).filter((k) => lstatOrUndefined(join(modules, k, 'vmlinuz'))?.isFile()).sort() : [];
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
  if (!isRealDir(join(root, 'sysroot'))) {
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
// /var

/** Paths under /var (relative, glob-ish) that are build state, not image content. */
export const VOLATILE_VAR_PATHS: readonly RegExp[] = [
  /^tmp\/./, // everything below /var/tmp
  /^cache\/apt\/[^/]+\.bin$/,
  /^cache\/apt\/archives\/[^/]+\.deb$/,
  /^cache\/apt\/archives\/(lock|partial\/.+)$/,
  /^lib\/apt\/lists\/(?!partial$|auxfiles$).+/, // the package lists, not their directories
  /^lib\/apt\/lists\/(partial|auxfiles)\/.+/,
  /^cache\/debconf\/[^/]+-old$/,
  /^cache\/ldconfig\/aux-cache$/,
  /^lib\/dbus\/machine-id$/,
  /^lib\/systemd\/random-seed$/,
  /^log\/.+\.(log|gz|xz|[0-9])$/, // log files with content; empty ones (wtmp, lastlog) become f lines
];

export interface VarConversion {
  entries: TmpfilesEntry[];
  /** Files moved to /usr/share/factory/var (relative to /var). */
  factoryFiles: string[];
  /** What was dropped (volatile or not representable), relative to /var. */
  skipped: string[];
}

/**
 * Turn everything under /var into tmpfiles.d entries and empty /var: directories become `d`
 * (mode uid gid), symlinks `L`, regular files move to /usr/share/factory/var/PATH with a `C`
 * line that copies them into /var at boot when missing, empty files under /var/log become `f`.
 * Volatile build state (apt lists and caches, logs, /var/tmp content) is dropped.
 */
export function convertVar(root: string, warn: (text: string) => void = () => {}): VarConversion {
  const varDir = join(root, 'var');
  const result: VarConversion = { entries: [], factoryFiles: [], skipped: [] };
  if (!isRealDir(varDir)) {
    rmSync(varDir, { force: true });
    mkdirSync(varDir, { mode: 0o755 });
    return result;
  }
  const walk = (rel: string) => {
    for (const n of readdirSync(join(varDir, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const p = join(varDir, r);
      const st = lstatSync(p);
      if (VOLATILE_VAR_PATHS.some((re) => re.test(r)) && !(st.isFile() && st.size === 0 && r.startsWith('log/'))) {
        result.skipped.push(r);
        continue;
      }
      const abs = `/var/${r}`;
      if (st.isDirectory()) {
        result.entries.push({ type: 'd', path: abs, mode: modeString(st), uid: String(st.uid), gid: String(st.gid) });
        walk(r);
      } else if (st.isSymbolicLink()) {
        result.entries.push({ type: 'L', path: abs, arg: readlinkSync(p) });
      } else if (st.isFile() && r.startsWith('log/')) {
        result.entries.push({ type: 'f', path: abs, mode: modeString(st), uid: String(st.uid), gid: String(st.gid) });
      } else if (st.isFile()) {
        const dest = join(root, FACTORY_VAR, r);
        mkdirSync(dirname(dest), { recursive: true });
        rmSync(dest, { force: true });
        renameSync(p, dest);
        result.factoryFiles.push(r);
        result.entries.push({ type: 'C', path: abs, arg: `/${FACTORY_VAR}/${r}` });
      } else {
        warn(`/var/${r} is not a file, directory or symlink (a socket, FIFO or device); it is not kept in the image`);
        result.skipped.push(r);
      }
    }
  };
  walk('');
  emptyDir(varDir);
  return result;
}

// ---------------------------------------------------------------------------------------------
// users and groups

export interface UserGroupEntry {
  kind: 'user' | 'group' | 'member';
  name: string;
  /** uid or gid (not for members). */
  id?: number;
  /** For members: the group. */
  group?: string;
}

/**
 * One field of a sysusers.d line (sysusers.d(5)): '-' when empty; '%' doubled (systemd expands
 * specifiers in every field); quoted with \\ and \" escaped when it has spaces, quotes or backslashes.
 */
function sysusersField(s: string): string {
  if (s === '') return '-';
  const v = s.replace(/%/g, '%%');
  if (!/[\s"'\\]/.test(v)) return v;
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export type SysusersLine =
  | { type: 'g'; name: string; gid: string }
  | { type: 'u'; name: string; uid: string; gid: string; gecos?: string; home?: string; shell?: string }
  | { type: 'm'; user: string; group: string };

/** The one writer of sysusers.d lines: `g NAME GID`, `u NAME UID:GID GECOS HOME SHELL`, `m USER GROUP`. */
export function formatSysusersLine(l: SysusersLine): string {
  switch (l.type) {
    case 'g':
      return `g ${sysusersField(l.name)} ${l.gid}`;
    case 'u':
      return `u ${sysusersField(l.name)} ${l.uid}:${l.gid} ${sysusersField(l.gecos ?? '')} ${sysusersField(l.home ?? '')} ${sysusersField(l.shell ?? '')}`;
    case 'm':
      return `m ${sysusersField(l.user)} ${sysusersField(l.group)}`;
  }
}

/**
 * systemd sysusers.d lines for the users and groups of /etc/passwd and /etc/group text, with
 * their exact ids: `g NAME GID`, `u NAME UID:GID "GECOS" HOME SHELL`, `m USER GROUP` for
 * supplementary members. root is left out (systemd always has it). Pure.
 *
 * Why: ostree's /etc merge keeps the admin's /etc/passwd when it was edited, so users that a
 * new image adds would be missing after the update; systemd-sysusers creates them at boot.
 */
export function sysusersConf(passwdText: string, groupText: string, filter: (e: UserGroupEntry) => boolean = (e) => e.name !== 'root'): string {
  const rows = (t: string) => t.split('\n').filter((l) => l.trim() && !l.startsWith('#') && !l.startsWith('+') && !l.startsWith('-')).map((l) => l.split(':'));
  const out: string[] = [];
  const groupNames = new Map<string, string>();
  const members: string[] = [];
  for (const [name, , gid, list = ''] of rows(groupText)) {
    if (!name || !/^\d+$/.test(gid ?? '')) continue;
    groupNames.set(gid!, name);
    if (filter({ kind: 'group', name, id: Number(gid) })) out.push(formatSysusersLine({ type: 'g', name, gid: gid! }));
    for (const m of list.split(',').map((x) => x.trim()).filter(Boolean)) {
      if (filter({ kind: 'member', name: m, group: name })) members.push(formatSysusersLine({ type: 'm', user: m, group: name }));
    }
  }
  for (const [name, , uid, gid, gecos = '', home = '', shell = ''] of rows(passwdText)) {
    if (!name || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) continue;
    if (!filter({ kind: 'user', name, id: Number(uid) })) continue;
    out.push(formatSysusersLine({ type: 'u', name, uid: uid!, gid: gid!, gecos, home, shell }));
  }
  out.push(...members);
  return out.length ? `# Written by apt-ostree: the users and groups of the image, with their ids (see docs/layout.md).\n${out.join('\n')}\n` : '';
}

/** Write usr/lib/sysusers.d/NAME.conf for every user and group of /usr/etc except root. */
function writeSysusers(root: string, name: string): number {
  const read = (f: string) => {
    try {
      return readFileSync(join(root, 'usr/etc', f), 'utf8');
    } catch {
      return '';
    }
  };
  const text = sysusersConf(read('passwd'), read('group'));
  const file = join(root, 'usr/lib/sysusers.d', `${name}.conf`);
  if (!text) {
    rmSync(file, { force: true });
    return 0;
  }
  replaceFile(file, text, 0o644);
  return text.split('\n').filter((l) => /^[gum] /.test(l)).length;
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
  if (!isRealDir(join(root, 'usr'))) {
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

/**
 * The reverse, for running dpkg in a converted tree (layering): create in /var what the tree's
 * tmpfiles.d files describe, as systemd-tmpfiles does at boot, so that maintainer scripts, dpkg
 * (/var/lib/dpkg) and files under /opt and /usr/local find the places they expect. Every
 * `*.conf` counts, whatever its name, with systemd's precedence (activeTmpfilesFiles,
 * effectiveTmpfiles): the image may come from another tool. Only /var is made, only what is
 * missing, and nothing is written outside the tree (resolveBeneath). convertRootfs afterwards
 * turns /var back into tmpfiles.d lines (and skips what is already declared).
 * Returns the items it applied.
 */
export function createVarFromTmpfiles(root: string, warn: (text: string) => void = () => {}): TmpfilesItem[] {
  const items = effectiveTmpfiles(readTmpfilesFiles(root)).filter((i) => i.path.startsWith('/var/'));
  const ids = imageIds(root);
  for (const item of items) {
    try {
      applyTmpfilesItem(root, item, ids);
    } catch (e) {
      // As systemd-tmpfiles: a line that cannot be applied does not stop the others.
      warn(`${item.source}: ${item.type} ${item.path}: ${(e as Error).message}`);
    }
  }
  return items;
}

function applyTmpfilesItem(root: string, item: TmpfilesItem, ids: ImageIds): void {
  const parent = resolveBeneath(root, dirname(item.path), { create: true });
  if (!parent) return; // something on the way is not a directory
  const p = join(parent, item.path.slice(item.path.lastIndexOf('/') + 1));
  const st = lstatOrUndefined(p);
  switch (item.type) {
    case 'd': case 'D': case 'v': case 'q': case 'Q': // subvolumes are directories off btrfs
      if (st) return;
      mkdirSync(p);
      setOwnerMode(p, parseMode(item.mode) ?? 0o755, ids.uid(item.uid), ids.gid(item.gid));
      return;
    case 'f': case 'F':
      if (st) return;
      writeFileSync(p, item.arg ?? '', { flag: 'wx' });
      setOwnerMode(p, parseMode(item.mode) ?? 0o644, ids.uid(item.uid), ids.gid(item.gid));
      return;
    case 'L': {
      const target = item.arg ?? `/usr/share/factory${item.path}`;
      if (st?.isSymbolicLink() && readlinkSync(p) === target) return;
      if (st && !item.force) return;
      if (st) rmSync(p, { recursive: true, force: true });
      symlinkSync(target, p);
      return;
    }
    case 'C': {
      const src = resolveBeneath(root, item.arg ?? `/usr/share/factory${item.path}`);
      const sst = src ? lstatOrUndefined(src) : undefined;
      // Only into a missing path, or into an empty directory (systemd's rule); never into itself.
      if (!sst || (st && !(st.isDirectory() && sst.isDirectory() && readdirSync(p).length === 0))) return;
      if (`${p}/`.startsWith(`${src}/`)) return;
      copyTree(src!, p);
      return;
    }
    default:
      // p, c, b (FIFOs and devices), w (writes into an existing file): nothing a sandbox needs.
      return;
  }
}

/** Copy a file, symlink or directory (recursively) with modes and owners; `dest` is missing or an empty directory. */
function copyTree(src: string, dest: string): void {
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

/** tmpfiles.d modes: octal, with the `~` (masked) and `:` (on creation only) prefixes. */
function parseMode(m: string | undefined): number | undefined {
  const match = m ? /^[~:]*([0-7]{3,4})$/.exec(m) : null;
  return match ? parseInt(match[1]!, 8) : undefined;
}

interface ImageIds {
  uid(s: string | undefined): number;
  gid(s: string | undefined): number;
}

/** User and group names of tmpfiles.d lines, resolved with the image's own passwd and group (unknown: root). */
function imageIds(root: string): ImageIds {
  const table = (file: string) => {
    const map = new Map<string, number>();
    for (const etc of ['usr/etc', 'etc']) {
      const p = resolveBeneath(root, `${etc}/${file}`);
      let text: string;
      try {
        text = p ? readFileSync(p, 'utf8') : '';
      } catch {
        continue;
      }
      for (const [name, , id] of text.split('\n').map((l) => l.split(':'))) {
        if (name && id && /^\d+$/.test(id) && !map.has(name)) map.set(name, Number(id));
      }
    }
    return map;
  };
  const lookup = (map: Map<string, number>) => (s: string | undefined) => (s === undefined || s === '-' ? 0 : /^\d+$/.test(s) ? Number(s) : map.get(s) ?? 0);
  return { uid: lookup(table('passwd')), gid: lookup(table('group')) };
}

function setOwnerMode(p: string, mode: number | undefined, uid: number, gid: number): void {
  try {
    lchownSync(p, uid, gid);
    if (mode !== undefined) chmodSync(p, mode); // after chown, which clears setuid/setgid bits
  } catch {
    /* not root: keep the defaults */
  }
}
