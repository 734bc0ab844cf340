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
 * and time (an ostree commit per package). The kept file is a hardlink of the archives cache's
 * while both exist: keeping costs no space until `cleanup -b` empties the cache.
 */
import { existsSync, linkSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDeb822, type Stanza } from '../../debian/deb822.js';
import { sha256File } from '../../hash.js';
import { aptCachePolicy, archiveFileName, type AptConfig } from '../../system/apt.js';
import { readDebControl } from '../../system/dpkg.js';
import { listDir } from '../../system/fs.js';
import { commitPackages } from '../deployments/packages.js';
import type { Sysroot } from '../deployments/sysroot.js';
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

/** apt configuration lines that add the kept packages as a source; none while nothing is kept. */
export function keptSourceSettings(sysrootPath: string, os: string): string[] {
  const index = join(keptPackagesDir(sysrootPath, os), INDEX);
  if (!(statSync(index, { throwIfNoEntry: false })?.size ?? 0)) return [];
  if (/["\n]/.test(index)) return []; // not writable in apt's syntax: the run goes without
  return [`APT::Sources::With { "${index}"; };`];
}

/** The index's paragraphs by file name (its Filename field without "./"). */
function readIndex(dir: string): Map<string, string> {
  let text = '';
  try {
    text = readFileSync(join(dir, INDEX), 'utf8');
  } catch {
    return new Map();
  }
  const entries = new Map<string, string>();
  for (const stanza of parseDeb822(text, {})) {
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

/** The index paragraph of a kept .deb: its control fields, then where it is, its size and hash. */
async function indexEntry(dir: string, file: string): Promise<string> {
  const control = parseDeb822(await readDebControl(join(dir, file)), {})[0];
  const fields = (control?.fields ?? []).filter((f) => !/^(Filename|Size|MD5sum|SHA1|SHA256|SHA512)$/i.test(f.name));
  return [
    ...fields.map((f) => `${f.name}: ${f.value}`),
    `Filename: ./${file}`,
    `Size: ${statSync(join(dir, file)).size}`,
    `SHA256: ${sha256File(join(dir, file))}`,
  ].join('\n');
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
export async function keepLayerPackages(tx: Transaction, sysrootPath: string, os: string, archivesDir: string, packages: readonly PackageVersion[]): Promise<void> {
  const dir = keptPackagesDir(sysrootPath, os);
  mkdirSync(dir, { recursive: true });
  const entries = readIndex(dir);
  const before = new Map(entries);
  const added: string[] = [];
  for (const p of packages) {
    const file = archiveFileName(p);
    if (entries.has(file) && existsSync(join(dir, file))) continue;
    const source = join(archivesDir, file);
    if (!existsSync(source)) continue; // a package the plan removes or keeps: nothing to keep
    if (!existsSync(join(dir, file))) {
      linkOrCopy(source, join(dir, file));
      added.push(file);
    }
    entries.set(file, await indexEntry(dir, file));
  }
  if (entries.size === before.size && !added.length) return;
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

/**
 * The packages of a plan whose version only the kept index offers: no source of the deployment
 * has it any more (one `apt-cache policy` of the kept ones in the plan).
 */
export async function onlyKept(apt: AptConfig, sysrootPath: string, os: string, packages: readonly PackageVersion[], signal?: AbortSignal): Promise<PackageVersion[]> {
  const dir = keptPackagesDir(sysrootPath, os);
  const index = join(dir, INDEX);
  const kept = packages.filter((p) => existsSync(join(dir, archiveFileName(p))));
  if (!kept.length) return [];
  const sources = parsePolicy(await aptCachePolicy(apt, [...new Set(kept.map((p) => p.name))], { signal }));
  return kept.filter((p) => {
    const offered = sources.get(p.name)?.get(p.version) ?? [];
    // The dpkg status file lists what the base has installed: no source.
    return !offered.some((s) => s !== index && s !== apt.dirs.statusFile);
  });
}

/**
 * Say in one line which packages of a plan come from the kept packages only: an info on the
 * same base, a warning on a new base (upgrade, rebase), where the kept version is installed on a
 * base it was not built for.
 */
export async function namePackagesFromKept(
  apt: AptConfig, sysrootPath: string, os: string, packages: readonly PackageVersion[], newBase: boolean, reporter: Reporter, signal?: AbortSignal,
): Promise<PackageVersion[]> {
  const kept = await onlyKept(apt, sysrootPath, os, packages, signal);
  if (!kept.length) return kept;
  const names = kept.map((p) => `${p.name} ${p.version}`).join(', ');
  if (newBase) reporter.warn(`Kept version${kept.length === 1 ? '' : 's'} layered on the new base, as no source offers ${kept.length === 1 ? 'it' : 'them'} any more: ${names}.`);
  else reporter.info(`Taken from the kept packages (no source offers ${kept.length === 1 ? 'this version' : 'these versions'} any more): ${names}.`);
  return kept;
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
