/**
 * Which available packages provide a name, in apt's view of a deployment (its sources, the
 * stateroot's package lists): the packages of that name and those whose Provides lists it, the
 * newest version of each (name, architecture) in the lists, as rpm-ostree's WhatProvides takes
 * the latest per architecture. Read from apt itself (apt-cache, apt-get indextargets), never
 * from the list files directly: apt knows their compression, the architectures, which
 * versions come from which source.
 *
 * The programs are started here with the deployment's APT_CONFIG (withDeploymentApt); they
 * belong beside aptCacheSearch in system/apt.ts once that file is free to take them.
 */
import { parseDeb822 } from '../../debian/deb822.js';
import { packageNameProblem } from '../../debian/names.js';
import { compareVersions } from '../../debian/version.js';
import { aptCacheShowAll, aptCacheShowpkg, aptPackageIndexTargets, type AptConfig } from '../../system/apt.js';
import { ETC_APT } from './apt-sources.js';

export interface AvailablePackage {
  name: string;
  /** The full Debian version (epoch included). */
  version: string;
  arch: string;
  /** The first line of the description. */
  summary: string;
  /** The apt source entry the version comes from (FILE:N, as apt-sources.ts names it), when apt says. */
  source?: string;
}

/** One package of `apt-cache showpkg`: its versions with the files they come from, and who provides it. */
export interface ShowpkgEntry {
  versions: Map<string, string[]>;
  reverseProvides: string[];
}

/**
 * `apt-cache showpkg` output, by package name as apt prints it (`name`, or `name:arch` for a
 * foreign architecture).
 */
export function parseShowpkg(text: string): Map<string, ShowpkgEntry> {
  const out = new Map<string, ShowpkgEntry>();
  let current: ShowpkgEntry | undefined;
  let section = '';
  for (const line of text.split('\n')) {
    const pkg = /^Package: (\S+)\s*$/.exec(line);
    if (pkg) {
      current = { versions: new Map(), reverseProvides: [] };
      out.set(pkg[1]!, current);
      section = '';
      continue;
    }
    if (!current) continue;
    const header = /^(Versions|Reverse Depends|Dependencies|Provides|Reverse Provides):\s*$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section === 'Versions') {
      const v = /^(\S+) ((?:\([^()]+\)\s*)+)$/.exec(line);
      if (v) current.versions.set(v[1]!, [...v[2]!.matchAll(/\(([^()]+)\)/g)].map((m) => m[1]!));
    } else if (section === 'Reverse Provides') {
      const p = /^(\S+) \S+/.exec(line);
      if (p && !current.reverseProvides.includes(p[1]!)) current.reverseProvides.push(p[1]!);
    }
  }
  return out;
}

/** The names a Provides field lists (`a (= 1), b:any | c` → a, b, c). */
export function providedNames(field: string | undefined): string[] {
  return (field ?? '')
    .split(/[,|]/)
    .map((p) => p.trim().split(/[\s(]/)[0]!.replace(/:.*$/, ''))
    .filter(Boolean);
}

/** Whether version a is at least b (plain text order for what dpkg would refuse). */
function newerOrSame(a: string, b: string): boolean {
  try {
    return compareVersions(a, b) >= 0;
  } catch {
    return a >= b;
  }
}

async function showpkg(apt: AptConfig, names: string[], signal?: AbortSignal): Promise<Map<string, ShowpkgEntry>> {
  if (!names.length) return new Map();
  return parseShowpkg(await aptCacheShowpkg(apt, names, { signal }));
}

/** Each package list file apt has, and the source entry it comes from (FILE:N, as on the deployed system). */
async function listSources(apt: AptConfig, signal?: AbortSignal): Promise<Map<string, string>> {
  const stdout = await aptPackageIndexTargets(apt, { signal });
  const out = new Map<string, string>();
  const etc = apt.dirs.etcApt.replace(/\/+$/, '');
  for (const line of stdout.split('\n')) {
    const [file, entry] = line.split('\t');
    if (!file || !entry || entry.startsWith('$(')) continue;
    out.set(file, entry.startsWith(`${etc}/`) ? `${ETC_APT}${entry.slice(etc.length)}` : entry);
  }
  return out;
}

/**
 * The packages of the deployment's package lists whose name is one of `names` or that provide
 * one of them: the newest version of each (name, architecture). Names that are not Debian
 * package names (rpm's `font(…)`, `mimehandler(…)`) match nothing. Versions that are only in
 * the dpkg database (installed, in no list) are left out, as rpm-ostree leaves out the rpmdb.
 */
export async function aptWhatProvides(apt: AptConfig, names: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<AvailablePackage[]> {
  const wanted = [...new Set(names.filter((n) => !packageNameProblem(n)))];
  if (!wanted.length) return [];
  const first = await showpkg(apt, wanted, opts.signal);
  const candidates = new Set<string>();
  for (const [name, e] of first) {
    if (e.versions.size) candidates.add(name);
    for (const p of e.reverseProvides) candidates.add(p);
  }
  if (!candidates.size) return [];
  const others = [...candidates].filter((n) => !first.has(n));
  const entries = new Map([...first, ...(await showpkg(apt, others, opts.signal))]);

  const shown = await aptCacheShowAll(apt, [...candidates], { signal: opts.signal });
  const statusFile = apt.dirs.statusFile;
  const native = apt.dirs.architecture;
  const newest = new Map<string, AvailablePackage & { files: string[] }>();
  for (const s of parseDeb822(shown, { source: 'apt-cache show' })) {
    const name = s.get('Package');
    const version = s.get('Version');
    const arch = s.get('Architecture') ?? '';
    if (!name || !version) continue;
    if (!wanted.includes(name) && !providedNames(s.get('Provides')).some((p) => wanted.includes(p))) continue;
    const entry = entries.get(arch === native || arch === 'all' ? name : `${name}:${arch}`) ?? entries.get(name);
    const files = (entry?.versions.get(version) ?? []).filter((f) => f !== statusFile && !f.endsWith('/dpkg/status'));
    if (!files.length) continue; // installed only, in no package list
    const key = `${name}:${arch}`;
    const best = newest.get(key);
    if (best && newerOrSame(best.version, version)) continue;
    newest.set(key, { name, version, arch, summary: (s.get('Description') ?? '').split('\n')[0]!.trim(), files });
  }
  if (!newest.size) return [];
  const sources = await listSources(apt, opts.signal);
  return [...newest.values()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0))
    .map(({ files, ...p }) => {
      const source = files.map((f) => sources.get(f)).find(Boolean);
      return source ? { ...p, source } : p;
    });
}
