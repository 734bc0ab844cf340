/**
 * /var in the layout: converting a tree turns its /var into tmpfiles.d lines (+ file contents
 * under /usr/share/factory/var) and empties it; layering does the reverse before dpkg runs
 * (createVarFromTmpfiles), as systemd-tmpfiles does at boot.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isDirectory, lstatOrUndefined } from '../system/fs.js';
import { copyTree, emptyDir, modeString, resolveBeneath, setOwnerMode } from './files.js';
import { effectiveTmpfiles, readTmpfilesFiles, type TmpfilesEntry, type TmpfilesItem } from './tmpfiles.js';

/** Where file contents of /var go in the image (a `C` line copies each back at boot). */
export const FACTORY_VAR = 'usr/share/factory/var';

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
  if (!isDirectory(varDir)) {
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
