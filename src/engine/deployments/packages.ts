/**
 * The installed packages of a commit, and the difference between two such lists.
 *
 * Where the list comes from, cheapest first:
 *   1. the commit metadata `aptostree.dpkg.pkglist` (GVariant a(sss): name, version,
 *      architecture), written by compose and layering; read from the commit object itself;
 *   2. the dpkg status file of a deployment's checkout on disk (when the caller has one);
 *   3. the dpkg status file inside the commit, read with `ostree cat` (no checkout).
 * The status file lives at /usr/share/dpkg/database/status in the apt-ostree layout; a plain
 * Debian tree committed as it is has it at /var/lib/dpkg/status.
 */
import { readFileSync } from 'node:fs';
import { AptOstreeError, ToolError } from '../../errors.js';
import { sha256Hex } from '../../hash.js';
import { installedPackages } from '../../debian/deb822.js';
import { compareVersions } from '../../debian/version.js';
import { readCommit, type CommitInfo } from '../../ostree/commit.js';
import type { GValue } from '../../ostree/gvariant.js';
import type { Sysroot } from './sysroot.js';
import { META } from '../../layout/commit-metadata.js';
import { resolveBeneath } from '../../layout/files.js';

/** Where the dpkg status file is in a commit, in the order they are tried. */
const DPKG_STATUS_PATHS = ['/usr/share/dpkg/database/status', '/var/lib/dpkg/status'];

export interface PackageEntry {
  name: string;
  version: string;
  arch: string;
}

export type PackageListSource = 'metadata' | 'status-file';

export interface CommitPackages {
  checksum: string;
  packages: PackageEntry[];
  source: PackageListSource;
}

/** Sorted by name, then architecture, then version (dpkg's own order for the status file). */
export function sortPackages(pkgs: readonly PackageEntry[]): PackageEntry[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...pkgs].sort((a, b) => cmp(a.name, b.name) || cmp(a.arch, b.arch) || cmp(a.version, b.version));
}

/** The installed packages of a dpkg status file's text. */
export function packagesFromStatus(statusText: string, source?: string): PackageEntry[] {
  return sortPackages(installedPackages(statusText, source).map((p) => ({ name: p.name, version: p.version, arch: p.architecture })));
}

/** The installed packages of a tree on disk (a checkout or a deployment), from its dpkg status file. */
function treePackages(root: string): PackageEntry[] {
  for (const rel of DPKG_STATUS_PATHS) {
    // Links on the way are followed inside the tree, as a chroot would: an image's absolute
    // link (/usr/share/dpkg/database → /var/lib/dpkg) must not read the host's database.
    const file = resolveBeneath(root, rel);
    if (file === undefined) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw new AptOstreeError(`Cannot read the dpkg database ${file}: ${(e as Error).message}.`, { hint: 'Run the command as a user who can read it, or with sudo.' });
    }
    return packagesFromStatus(text, file);
  }
  throw new AptOstreeError(`${root} has no dpkg database (looked for ${DPKG_STATUS_PATHS.join(' and ')}).`);
}

/** The value to store as `aptostree.dpkg.pkglist` (ostree.commit metadata, GVariant a(sss)), sorted. */
export function pkglistMetadata(pkgs: ReadonlyArray<PackageEntry | { name: string; version: string; architecture: string }>): string[][] {
  const entries = pkgs.map((p) => ({ name: p.name, version: p.version, arch: 'arch' in p ? p.arch : p.architecture }));
  return sortPackages(entries).map((p) => [p.name, p.version, p.arch]);
}

/** The package list of commit metadata, or undefined when the commit has none (or it is not a(sss)). */
export function pkglistFromMetadata(value: GValue | undefined): PackageEntry[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: PackageEntry[] = [];
  for (const t of value) {
    if (!Array.isArray(t) || t.length !== 3 || !t.every((x) => typeof x === 'string')) return undefined;
    const [name, version, arch] = t as string[];
    out.push({ name: name!, version: version!, arch: arch! });
  }
  return sortPackages(out);
}

/**
 * The installed packages of a commit. `source` is a Sysroot (its commit cache is used) or the
 * path of a repository. Give `treeRoot` when a checkout of the commit is on disk (a
 * deployment): its status file is read directly instead of starting `ostree cat`.
 */
export async function commitPackages(
  source: Sysroot | string,
  checksum: string,
  opts: { treeRoot?: string; signal?: AbortSignal } = {},
): Promise<CommitPackages> {
  const repo = typeof source === 'string' ? source : source.repoPath;
  let info: CommitInfo | undefined;
  if (typeof source === 'string') {
    try {
      info = readCommit(repo, checksum);
    } catch {
      info = undefined;
    }
  } else {
    info = source.commit(checksum);
  }
  if (!info) {
    throw new AptOstreeError(`The commit ${checksum} is not in the repository ${repo}.`, {
      hint: 'Pull it first (`ostree pull`), or check the revision.',
    });
  }
  const fromMeta = pkglistFromMetadata(info.metadata[META.pkglist]);
  if (fromMeta) return { checksum, packages: fromMeta, source: 'metadata' };
  if (opts.treeRoot) {
    try {
      return { checksum, packages: treePackages(opts.treeRoot), source: 'status-file' };
    } catch {
      /* the checkout is unreadable or incomplete: read the commit itself */
    }
  }
  const { catFile } = await import('../../system/ostree.js');
  let lastError: unknown;
  for (const path of DPKG_STATUS_PATHS) {
    try {
      const text = await catFile(repo, checksum, path, { signal: opts.signal });
      return { checksum, packages: packagesFromStatus(text, `${path} in commit ${checksum.slice(0, 12)}`), source: 'status-file' };
    } catch (e) {
      if (!(e instanceof ToolError)) throw e;
      lastError = e;
    }
  }
  throw new AptOstreeError(`The commit ${checksum} has no package list: no ${META.pkglist} metadata and no dpkg database (${DPKG_STATUS_PATHS.join(', ')}).`, {
    hint: 'Is it a Debian tree? A commit pulled with --commit-metadata-only has no files to read.',
    detail: lastError instanceof ToolError ? lastError.stderr : undefined,
  });
}

// ---- differences ----

export interface PackageChange {
  name: string;
  /** The architecture in the newer list. */
  arch: string;
  /** Set when the architecture changed (e.g. any → all). */
  previousArch?: string;
  from: string;
  to: string;
}

export interface PackageDiff {
  added: PackageEntry[];
  removed: PackageEntry[];
  upgraded: PackageChange[];
  downgraded: PackageChange[];
}

/**
 * What changed from one package list to another. Packages are paired by name; a name present
 * with several architectures (multi-arch) is paired by name and architecture. A package whose
 * version is unchanged is not listed, even if its architecture changed.
 */
export function diffPackages(from: readonly PackageEntry[], to: readonly PackageEntry[]): PackageDiff {
  const group = (list: readonly PackageEntry[]) => {
    const m = new Map<string, PackageEntry[]>();
    for (const p of list) m.set(p.name, [...(m.get(p.name) ?? []), p]);
    return m;
  };
  const a = group(from);
  const b = group(to);
  const diff: PackageDiff = { added: [], removed: [], upgraded: [], downgraded: [] };
  const change = (o: PackageEntry, n: PackageEntry) => {
    const c = safeCompare(o.version, n.version);
    if (c === 0) return;
    const entry: PackageChange = { name: n.name, arch: n.arch, from: o.version, to: n.version };
    if (o.arch !== n.arch) entry.previousArch = o.arch;
    (c < 0 ? diff.upgraded : diff.downgraded).push(entry);
  };
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const olds = a.get(name) ?? [];
    const news = b.get(name) ?? [];
    if (olds.length === 1 && news.length === 1) {
      change(olds[0]!, news[0]!);
      continue;
    }
    for (const o of olds) {
      const n = news.find((x) => x.arch === o.arch);
      if (n) change(o, n);
      else diff.removed.push(o);
    }
    for (const n of news) if (!olds.some((o) => o.arch === n.arch)) diff.added.push(n);
  }
  diff.added = sortPackages(diff.added);
  diff.removed = sortPackages(diff.removed);
  const byName = (x: PackageChange, y: PackageChange) => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.arch < y.arch ? -1 : x.arch > y.arch ? 1 : 0);
  diff.upgraded.sort(byName);
  diff.downgraded.sort(byName);
  return diff;
}

/** compareVersions, falling back to plain string order for versions dpkg would refuse (foreign metadata). */
function safeCompare(a: string, b: string): number {
  try {
    return compareVersions(a, b);
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}

export function isEmptyDiff(d: PackageDiff): boolean {
  return !d.added.length && !d.removed.length && !d.upgraded.length && !d.downgraded.length;
}

/**
 * The "dpkg database version" of a package list (apt-ostree's counterpart of rpm-ostree's
 * rpmdb version): `COUNT:HASH`, HASH being the first 16 hex digits of the sha256 of the sorted
 * list, one "name version arch" line per package. Equal lists give equal versions, wherever
 * they were read from (metadata or status file).
 */
export function packageListVersion(pkgs: readonly PackageEntry[]): { count: number; sha256: string; version: string } {
  const text = sortPackages(pkgs).map((p) => `${p.name} ${p.version} ${p.arch}\n`).join('');
  const sha256 = sha256Hex(text);
  return { count: pkgs.length, sha256, version: `${pkgs.length}:${sha256.slice(0, 16)}` };
}

/**
 * The native architecture of a package list: the most common one other than 'all'. Display
 * code qualifies the names of other architectures (libc6:i386), as dpkg does.
 */
export function nativeArch(...lists: ReadonlyArray<ReadonlyArray<{ arch: string }>>): string | undefined {
  const counts = new Map<string, number>();
  for (const list of lists) for (const p of list) if (p.arch && p.arch !== 'all') counts.set(p.arch, (counts.get(p.arch) ?? 0) + 1);
  let best: string | undefined;
  for (const [arch, n] of counts) if (best === undefined || n > counts.get(best)!) best = arch;
  return best;
}

/** `name`, or `name:arch` for a foreign architecture. */
export function displayName(p: { name: string; arch: string }, native: string | undefined): string {
  return !p.arch || p.arch === 'all' || p.arch === native ? p.name : `${p.name}:${p.arch}`;
}
