/**
 * apt-get, driven from the host against a tree that is not the running system: resolution
 * and downloads. An APT_CONFIG file we write points every apt directory at the right place:
 * the target deployment's /etc/apt (sources, keyrings, preferences, apt.conf.d), the base
 * tree's dpkg database, and apt-ostree's cache of lists and .debs. The host's own apt
 * configuration is never read.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AptOstreeError } from '../errors.js';
import { run, type RunOptions } from './run.js';

export interface AptDirs {
  /** The target's /etc/apt directory (merged /etc of the deployment). */
  etcApt: string;
  /** dpkg status file of the tree packages are resolved against. */
  statusFile: string;
  /** Persistent cache: lists/, archives/, state/. */
  cacheDir: string;
  /** Scratch directory for this run (logs, the config file itself). */
  workDir: string;
  architecture: string;
  foreignArchitectures?: string[];
  installRecommends?: boolean;
  /** MaxConcurrentDownloads and DownloadTimeout of apt-ostree.conf; apt's defaults without. */
  downloads?: { maxConcurrent: number; timeoutSeconds: number };
}

export interface AptConfig {
  file: string;
  dirs: AptDirs;
  archivesDir: string;
  listsDir: string;
}

function q(s: string): string {
  if (/["\n]/.test(s)) throw new AptOstreeError(`Unusable path for apt: ${s}`);
  return `"${s}"`;
}

export function writeAptConfig(d: AptDirs): AptConfig {
  const archivesDir = join(d.cacheDir, 'archives');
  const listsDir = join(d.cacheDir, 'lists');
  const lines = [
    `Dir "/";`,
    `Dir::Etc ${q(d.etcApt + '/')};`,
    `Dir::State ${q(join(d.cacheDir, 'state') + '/')};`,
    `Dir::State::lists ${q(listsDir + '/')};`,
    `Dir::State::status ${q(d.statusFile)};`,
    `Dir::State::extended_states ${q(join(d.workDir, 'extended_states'))};`,
    `Dir::Cache ${q(d.cacheDir + '/')};`,
    `Dir::Cache::archives ${q(archivesDir + '/')};`,
    `Dir::Cache::pkgcache "";`,
    `Dir::Cache::srcpkgcache "";`,
    `Dir::Log ${q(join(d.workDir, 'log') + '/')};`,
    `APT::Architecture ${q(d.architecture)};`,
    `APT::Architectures { ${[d.architecture, ...(d.foreignArchitectures ?? [])].map(q).join('; ')}; };`,
    `APT::Install-Recommends ${d.installRecommends === false ? '"false"' : '"true"'};`,
    `APT::Sandbox::User "root";`,
    `Acquire::Languages "none";`,
    `Dpkg::Use-Pty "false";`,
  ];
  if (d.downloads) {
    const { maxConcurrent, timeoutSeconds } = d.downloads;
    // apt fetches from each server over one connection (queue), from at most Limit servers of
    // each access method at once; more servers share one further queue (apt-pkg/acquire.cc).
    lines.push(`Acquire::QueueHost::Limit "${Math.trunc(maxConcurrent)}";`);
    // The methods' Timeout covers connecting and each wait for data.
    for (const m of ['http', 'https', 'ftp']) lines.push(`Acquire::${m}::Timeout "${Math.trunc(timeoutSeconds)}";`);
  }
  const file = join(d.workDir, 'apt.conf');
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, dirs: d, archivesDir, listsDir };
}

function aptEnv(cfg: AptConfig): Record<string, string> {
  return { APT_CONFIG: cfg.file, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8' };
}

export async function aptUpdate(cfg: AptConfig, opts: RunOptions = {}): Promise<void> {
  await run('apt-get', ['update'], {
    env: aptEnv(cfg),
    what: 'apt-get update',
    hint: 'Check the apt sources of the deployment (/etc/apt/sources.list*) and the network, or use --cache-only.',
    ...opts,
  });
}

export interface PlannedPackage {
  name: string;
  version: string;
  architecture: string;
  /** Installed version it replaces, if any. */
  oldVersion?: string;
}

export interface AptPlan {
  install: PlannedPackage[];
  remove: Array<{ name: string; version?: string }>;
}

/** What apt would do for `apt-get install REQUESTS`, from its simulation. */
export async function aptSimulate(cfg: AptConfig, requests: string[], opts: RunOptions = {}): Promise<AptPlan> {
  let out;
  try {
    // Downgrades are allowed here and judged by the caller (overrides may ask for them).
    out = await run('apt-get', ['install', '--simulate', '--yes', '--quiet', '--allow-downgrades', ...requests], { env: aptEnv(cfg), what: 'apt-get (resolving)', ...opts });
  } catch (e) {
    throw translateResolveError(e);
  }
  return parseSimulation(out.stdout);
}

function parseSimulation(stdout: string): AptPlan {
  const plan: AptPlan = { install: [], remove: [] };
  for (const line of stdout.split('\n')) {
    const inst = /^Inst (\S+) (?:\[(\S+)\] )?\((\S+) (.*?)(?: \[(\S+)\])?\)/.exec(line);
    if (inst) {
      // A foreign-architecture package prints as name:arch; the name is the part before.
      plan.install.push({ name: inst[1]!.replace(/:.*$/, ''), oldVersion: inst[2], version: inst[3]!, architecture: inst[5] ?? 'all' });
      continue;
    }
    const remv = /^(?:Remv|Purg) (\S+)(?: \[(\S+)\])?/.exec(line);
    if (remv) plan.remove.push({ name: remv[1]!.replace(/:.*$/, ''), version: remv[2] });
  }
  return plan;
}

/** Turn apt's resolution errors into one message listing every unknown package. */
function translateResolveError(e: unknown): unknown {
  const err = e as { stdout?: string; stderr?: string };
  const text = `${err.stdout ?? ''}\n${err.stderr ?? ''}`;
  const missing = [...text.matchAll(/Unable to locate package (\S+)/g)].map((m) => m[1]!);
  const noCandidate = [...text.matchAll(/Package '?(\S+?)'? has no installation candidate/g)].map((m) => m[1]!);
  const badVersion = [...text.matchAll(/Version '([^']+)' for '([^']+)' was not found/g)].map((m) => `${m[2]}=${m[1]}`);
  const badRelease = [...text.matchAll(/Release '([^']+)' for '([^']+)' was not found/g)].map((m) => `${m[2]}/${m[1]}`);
  const unknown = [...new Set([...missing, ...noCandidate, ...badVersion, ...badRelease])];
  if (unknown.length) {
    return new AptOstreeError(`Package${unknown.length > 1 ? 's' : ''} not found in the apt repositories: ${unknown.join(', ')}.`, {
      hint: 'Check the names (apt-ostree search TERM), the apt sources of the deployment, or refresh without --cache-only.',
    });
  }
  const unmet = /The following packages have unmet dependencies:([\s\S]*?)(?:\nE:|$)/.exec(text);
  const essential = /WARNING: The following essential packages will be removed[\s\S]*?\n((?: {2}.*\n?)+)/.exec(text);
  if (unmet || essential || /held broken packages|essential packages|pkgProblemResolver/.test(text)) {
    return new AptOstreeError('apt cannot satisfy the request without breaking the base image.', {
      detail: (unmet?.[1] ?? essential?.[1] ?? text).trim(),
      hint: 'The packages conflict with packages of the base image (apt will not remove essential ones) or with each other.',
    });
  }
  return e;
}

/** Download every package of the plan into the archives cache (no-op for cached ones). */
export async function aptDownload(cfg: AptConfig, requests: string[], opts: RunOptions = {}): Promise<void> {
  await run('apt-get', ['install', '--download-only', '--yes', '--quiet', '--allow-downgrades', ...requests], {
    env: aptEnv(cfg),
    what: 'apt-get (downloading)',
    hint: 'Check the network and the apt sources, or use --cache-only with packages already downloaded.',
    ...opts,
  });
}

/** apt's hash names in --print-uris output → node:crypto's. */
const HASHES: Record<string, string> = { MD5Sum: 'md5', SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

/**
 * Copy the packages of the plan that come from file: repositories into the archives cache.
 * apt reads such packages in place and never copies them there, but the install run only
 * sees the cache. Each copy is checked against the size and hash of the repository's index.
 * Returns how many were copied.
 */
export async function aptCopyFromFileRepos(cfg: AptConfig, requests: string[], opts: RunOptions = {}): Promise<number> {
  const { stdout } = await run('apt-get', ['install', '--print-uris', '--yes', '-qq', '--allow-downgrades', ...requests], { env: aptEnv(cfg), what: 'apt-get --print-uris', ...opts });
  let copied = 0;
  for (const line of stdout.split('\n')) {
    // 'file:/srv/repo/./hello_2.10-3_amd64.deb' hello_2.10-3_amd64.deb 53080 SHA256:…
    const m = /^'(file:[^']+)' (\S+) (\d+) (\w+):([0-9a-f]+)$/.exec(line.trim());
    if (!m) continue;
    const [, uri, name, size, hashName, hash] = m as unknown as [string, string, string, string, string, string];
    if (name.includes('/')) continue;
    const data = readFileSync(fileURLToPath(uri));
    const algorithm = HASHES[hashName];
    if (data.length !== Number(size) || (algorithm && createHash(algorithm).update(data).digest('hex') !== hash)) {
      throw new AptOstreeError(`${fileURLToPath(uri)} does not match its repository's index (size or ${hashName}).`, { hint: 'Regenerate the Packages index of that file: repository, then run apt-ostree again.' });
    }
    const dest = join(cfg.archivesDir, name);
    writeFileSync(`${dest}.partial`, data);
    renameSync(`${dest}.partial`, dest);
    copied++;
  }
  return copied;
}

/** The file name apt gives a downloaded package: name_version_arch.deb, ':' escaped. */
export function archiveFileName(p: { name: string; version: string; architecture: string }): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.architecture}.deb`;
}

/** Search the cached package lists (apt-cache search) for `search`. */
export async function aptCacheSearch(cfg: AptConfig, terms: string[], namesOnly = false): Promise<string> {
  const { stdout } = await run('apt-cache', ['search', ...(namesOnly ? ['--names-only'] : []), '--', ...terms], { env: aptEnv(cfg), what: 'apt-cache search' });
  return stdout;
}

export async function aptCacheShow(cfg: AptConfig, names: string[]): Promise<string> {
  const { stdout } = await run('apt-cache', ['show', '--no-all-versions', '--', ...names], { env: aptEnv(cfg), what: 'apt-cache show' });
  return stdout;
}
