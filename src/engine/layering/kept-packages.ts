/**
 * The kept packages of a stateroot: every .deb of the layers of its deployments (requested
 * packages, the dependencies that came with them, local .debs, override replacements), kept
 * in the stateroot's /var/lib/apt-ostree/kept (state-paths.ts) with a Packages index written
 * here, so that a later change re-layers them when the sources no longer offer those versions
 * (a repository removed, a mirror changed, a machine offline), as rpm-ostree re-layers from its
 * package cache.
 *
 * apt reads the index as one more source of every layering run (`APT::Sources::With`, a
 * Packages file: apt ≥ 2.1; no `apt-get update`, no network, nothing written to the
 * deployment's /etc/apt), at apt's default priority: a version the sources still offer, or a
 * newer one, is taken as before; a version only the index has is taken from it, and the run
 * names those packages in one line.
 *
 * Why .debs and not their unpacked content imported into the repository (docs/transactions.md has
 * the measurements): a .deb is what apt and dpkg install, so the same resolution and install run
 * re-layers it, maintainer scripts included; imported content would need a second install path
 * (no scripts, no dpkg database entries) and costs more space (objects are stored uncompressed)
 * and time (unpacking and committing every file). The kept file is a hardlink of the archives cache's
 * while both exist: keeping costs no space until `cleanup -b` empties the cache.
 */
import { existsSync, linkSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDeb822, type Stanza } from '../../debian/deb822.js';
import { sha256File } from '../../hash.js';
import { aptCachePolicy, archiveFileName, type AptConfig } from '../../system/apt.js';
import { readDebControl } from '../../system/dpkg.js';
import { listDir } from '../../system/fs.js';
import { requestName } from '../deployments/origin.js';
import { commitPackages } from '../deployments/packages.js';
import type { Deployment, Sysroot } from '../deployments/sysroot.js';
import { AptOstreeError } from '../../errors.js';
import { keptPackagesDir } from '../state-paths.js';
import type { Transaction } from '../transaction/transaction.js';
import type { Reporter } from '../../output/reporter.js';

/** A package version, as apt plans it and dpkg lists it. */
export interface PackageVersion {
  name: string;
  version: string;
  architecture: string;
}

const INDEX = 'Packages';
/** Fields of our own in the index (apt keeps and ignores them). */
const ORIGIN_FIELD = 'X-Apt-Ostree-Origin';
const OFFERED_FIELD = 'X-Apt-Ostree-Offered';

/** apt configuration lines that add the kept packages as a source; none while nothing is kept. */
export function keptSourceSettings(sysrootPath: string, os: string): string[] {
  const index = join(keptPackagesDir(sysrootPath, os), INDEX);
  if (!(statSync(index, { throwIfNoEntry: false })?.size ?? 0)) return [];
  if (/["\n]/.test(index)) return []; // not writable in apt's syntax: the run goes without
  return [`APT::Sources::With { "${index}"; };`];
}

function readIndexText(dir: string): string {
  try {
    return readFileSync(join(dir, INDEX), 'utf8');
  } catch {
    return '';
  }
}

/** The index's paragraphs by file name (its Filename field without "./"). */
function readIndex(dir: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const stanza of parseDeb822(readIndexText(dir), {})) {
    const file = stanza.get('Filename')?.replace(/^\.\//, '');
    if (file) entries.set(file, formatStanza(stanza));
  }
  return entries;
}

function formatStanza(stanza: Stanza): string {
  return stanza.fields.map((f) => `${f.name}: ${f.value}`).join('\n');
}

/** Write the index (a new file renamed in place: apt never reads half of it). */
function writeIndex(dir: string, entries: Map<string, string>): void {
  const text = [...entries.keys()].sort().map((k) => `${entries.get(k)}\n`).join('\n');
  writeFileSync(join(dir, `${INDEX}.new`), text);
  renameSync(join(dir, `${INDEX}.new`), join(dir, INDEX));
}

/**
 * The index paragraph of a kept .deb: its control fields, where it is, its size and hash, then
 * where it came from and whether its sources still offer it.
 */
async function indexEntry(dir: string, file: string, origin: string, offered: boolean): Promise<string> {
  const control = parseDeb822(await readDebControl(join(dir, file)), {})[0];
  const fields = (control?.fields ?? []).filter((f) => !/^(Filename|Size|MD5sum|SHA1|SHA256|SHA512|X-Apt-Ostree-.*)$/i.test(f.name));
  return [
    ...fields.map((f) => `${f.name}: ${f.value}`),
    `Filename: ./${file}`,
    `Size: ${statSync(join(dir, file)).size}`,
    `SHA256: ${sha256File(join(dir, file))}`,
    ...(origin ? [`${ORIGIN_FIELD}: ${origin}`] : []),
    `${OFFERED_FIELD}: ${offered ? 'yes' : 'no'}`,
  ].join('\n');
}

/** The same paragraph with the offered field set (no program started). */
function withOffered(entry: string, offered: boolean): string {
  const lines = entry.split('\n').filter((l) => !l.startsWith(`${OFFERED_FIELD}:`));
  return [...lines, `${OFFERED_FIELD}: ${offered ? 'yes' : 'no'}`].join('\n');
}

/** Hardlink a file (copy across file systems). */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/**
 * Keep the .debs of a layer just built (from the archives cache, where the build had them all),
 * and index the new ones. Undone with the transaction: the files it added go, the index is put
 * back.
 */
export async function keepLayerPackages(
  tx: Transaction, sysrootPath: string, os: string, archivesDir: string, packages: readonly PackageVersion[], sources: LayerSources,
): Promise<void> {
  const dir = keptPackagesDir(sysrootPath, os);
  mkdirSync(dir, { recursive: true });
  const entries = readIndex(dir);
  const before = new Map(entries);
  const added: string[] = [];
  for (const p of packages) {
    const file = archiveFileName(p);
    const offeredBy = sources.offered.get(file) ?? [];
    const known = entries.get(file);
    if (known !== undefined && existsSync(join(dir, file))) {
      entries.set(file, withOffered(known, offeredBy.length > 0));
      continue;
    }
    const source = join(archivesDir, file);
    if (!existsSync(source)) continue; // a package the plan removes or keeps: nothing to keep
    if (!existsSync(join(dir, file))) {
      linkOrCopy(source, join(dir, file));
      added.push(file);
    }
    entries.set(file, await indexEntry(dir, file, offeredBy[0] ?? '', offeredBy.length > 0));
  }
  if (!added.length && [...entries].every(([k, v]) => before.get(k) === v)) return;
  writeIndex(dir, entries);
  tx.onUndo('put back the kept packages', () => {
    for (const file of added) rmSync(join(dir, file), { force: true });
    writeIndex(dir, before);
  });
}

/**
 * Link the kept .debs of a plan that the archives cache lacks into it (the install reads only
 * the archives cache); returns the packages linked.
 */
export function restoreKeptDebs(sysrootPath: string, os: string, archivesDir: string, packages: readonly PackageVersion[]): PackageVersion[] {
  const dir = keptPackagesDir(sysrootPath, os);
  const restored: PackageVersion[] = [];
  for (const p of packages) {
    const file = archiveFileName(p);
    if (existsSync(join(archivesDir, file)) || !existsSync(join(dir, file))) continue;
    linkOrCopy(join(dir, file), join(archivesDir, file));
    restored.push(p);
  }
  return restored;
}

/** Where each package version of a plan comes from, as apt's sources say at this run. */
export interface LayerSources {
  /** `name_version_arch.deb` → the sources (not the kept index) that offer that version. */
  offered: Map<string, string[]>;
  /** The packages only the kept index has. */
  onlyKept: PackageVersion[];
}

/**
 * One `apt-cache policy` of a plan's packages: which sources offer each version (recorded as the
 * kept package's origin), and which versions only the kept index still has.
 */
export async function layerSources(apt: AptConfig, sysrootPath: string, os: string, packages: readonly PackageVersion[], signal?: AbortSignal): Promise<LayerSources> {
  const dir = keptPackagesDir(sysrootPath, os);
  const index = join(dir, INDEX);
  const offered = new Map<string, string[]>();
  if (!packages.length) return { offered, onlyKept: [] };
  const policy = parsePolicy(await aptCachePolicy(apt, [...new Set(packages.map((p) => p.name))], { signal }));
  const onlyKept: PackageVersion[] = [];
  for (const p of packages) {
    const all = policy.get(p.name)?.get(p.version) ?? [];
    // The dpkg status file lists what the base has installed: no source.
    const sources = all.filter((s) => s !== index && s !== apt.dirs.statusFile);
    offered.set(archiveFileName(p), sources);
    if (!sources.length && all.includes(index)) onlyKept.push(p);
  }
  return { offered, onlyKept };
}

/**
 * Say in one line which packages of a plan come from the kept packages only: an info on the
 * same base, a warning on a new base (upgrade, rebase), where the kept version is installed on a
 * base it was not built for.
 */
export function namePackagesFromKept(kept: readonly PackageVersion[], newBase: boolean, reporter: Reporter): void {
  if (!kept.length) return;
  const names = kept.map((p) => `${p.name} ${p.version}`).join(', ');
  if (newBase) reporter.warn(`Kept version${kept.length === 1 ? '' : 's'} layered on the new base, as no source offers ${kept.length === 1 ? 'it' : 'them'} any more: ${names}.`);
  else reporter.info(`Taken from the kept packages (no source offers ${kept.length === 1 ? 'this version' : 'these versions'} any more): ${names}.`);
}

/** A kept package as the index records it: where it came from, and whether its sources still offered it at the last layering. */
export interface KeptPackage extends PackageVersion {
  file: string;
  /** The source it was first kept from (`URI SUITE [COMPONENT]`, as apt-cache policy names it); '' when unknown. */
  origin: string;
  /** False when the last layering run that used it found it in no source any more. */
  offered: boolean;
}

/** The kept packages of a stateroot, from its index. */
export function keptPackages(sysrootPath: string, os: string): KeptPackage[] {
  const text = readIndexText(keptPackagesDir(sysrootPath, os));
  return parseDeb822(text, {}).map((st) => ({
    name: st.get('Package') ?? '',
    version: st.get('Version') ?? '',
    architecture: st.get('Architecture') ?? '',
    file: (st.get('Filename') ?? '').replace(/^\.\//, ''),
    origin: st.get(ORIGIN_FIELD) ?? '',
    offered: st.get(OFFERED_FIELD) !== 'no',
  }));
}

/**
 * On a new base, a resolution that failed while the layer has packages no source offers any more:
 * one sentence naming them, where they came from, and the ways out. Undefined when no package of
 * the layer is such (the failure is then apt's own).
 */
export async function refusalForUnofferedKept(
  apt: AptConfig, sysroot: Sysroot, os: string, merge: Deployment, baseChecksum: string, cause: unknown, signal?: AbortSignal,
): Promise<AptOstreeError | undefined> {
  const sysrootPath = sysroot.path;
  const layer = (await commitPackages(sysroot, merge.checksum, { treeRoot: merge.path })).packages;
  const inLayer = new Set(layer.map((p) => archiveFileName({ name: p.name, version: p.version, architecture: p.arch })));
  const kept = keptPackages(sysrootPath, os).filter((k) => inLayer.has(k.file));
  if (!kept.length) return undefined;
  const { onlyKept } = await layerSources(apt, sysrootPath, os, kept, signal);
  if (!onlyKept.length) return undefined;
  const origin = new Map(kept.map((k) => [k.file, k.origin]));
  const named = onlyKept.map((p) => `${p.name} ${p.version} (from ${origin.get(archiveFileName(p)) || 'a source not recorded'})`).join(', ');
  // What `uninstall` takes: the requested ones among them, else every requested package (the
  // unoffered ones are dependencies of some of them).
  const requested = (merge.origin?.requestedPackages ?? []).map(requestName);
  const blocking = requested.filter((n) => onlyKept.some((p) => p.name === n));
  const names = (blocking.length ? blocking : requested).join(' ');
  return new AptOstreeError(
    `The layered package${onlyKept.length === 1 ? '' : 's'} ${named} ${onlyKept.length === 1 ? 'is' : 'are'} offered by no source any more, and the kept version does not install on the new base ${baseChecksum.slice(0, 12)}.`,
    {
      hint: `Ways out: \`apt-ostree uninstall ${names}\` before the upgrade, or an apt source in the deployment's /etc/apt that offers a version for the new base.`,
      detail: cause instanceof AptOstreeError ? [cause.message, cause.detail].filter(Boolean).join('\n') : undefined,
      cause,
    },
  );
}

/**
 * `apt-cache policy` output → name → version → the sources that offer it (a Packages file's
 * path, `URI SUITE COMPONENTS` of a repository, or the dpkg status file).
 */
export function parsePolicy(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let versions: Map<string, string[]> | undefined;
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    const pkg = /^(\S+?)(?::[a-z0-9-]+)?:$/.exec(line);
    if (pkg) {
      versions = new Map();
      out.set(pkg[1]!, versions);
      current = undefined;
      continue;
    }
    const version = /^ (?:\*\*\*| {3}) (\S+) -?\d+$/.exec(line);
    if (version && versions) {
      current = [];
      versions.set(version[1]!, current);
      continue;
    }
    const source = /^ {8}-?\d+ (.+)$/.exec(line);
    if (source && current) current.push(source[1]!.replace(/ Packages$/, '').trim());
  }
  return out;
}

/** The kept .deb file names the stateroot's deployments use (every package of their trees). */
export async function keptInUse(sysroot: Sysroot, os: string): Promise<Set<string>> {
  const used = new Set<string>();
  for (const d of sysroot.deploymentsOf(os)) {
    const { packages } = await commitPackages(sysroot, d.checksum, { treeRoot: d.path });
    for (const p of packages) used.add(archiveFileName({ name: p.name, version: p.version, architecture: p.arch }));
  }
  return used;
}

/**
 * Remove the kept .debs no deployment uses, and their index entries (cleanup). Returns the
 * files removed and the bytes freed.
 */
export function dropUnusedKept(sysrootPath: string, os: string, used: ReadonlySet<string>): { files: string[]; bytes: number } {
  const dir = keptPackagesDir(sysrootPath, os);
  const entries = readIndex(dir);
  const files: string[] = [];
  let bytes = 0;
  for (const name of listDir(dir)) {
    if (!name.endsWith('.deb') || used.has(name)) continue;
    const st = statSync(join(dir, name), { throwIfNoEntry: false });
    // A file still linked from the archives cache frees nothing yet.
    if (st && st.nlink === 1) bytes += st.blocks * 512;
    rmSync(join(dir, name), { force: true });
    entries.delete(name);
    files.push(name);
  }
  for (const name of [...entries.keys()]) if (!existsSync(join(dir, name))) entries.delete(name);
  if (files.length && existsSync(dir)) writeIndex(dir, entries);
  return { files, bytes };
}
