/**
 * tmpfiles.d (tmpfiles.d(5)): its lines (parse, format), the files of an image as
 * systemd-tmpfiles reads them (search directories, masking, precedence, the first declaration
 * of a path wins), and the one writer of apt-ostree's own tmpfiles.d files.
 */
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { lstatOrUndefined } from '../system/fs.js';
import { replaceFile, resolveBeneath } from './files.js';

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
