/**
 * apt-get, driven from the host against a tree that is not the running system: resolution
 * and downloads. An APT_CONFIG file we write points every apt directory at the right place:
 * the target deployment's /etc/apt (sources, keyrings, preferences), the base tree's dpkg
 * database, and apt-ostree's cache of lists and .debs. The host's own apt configuration is
 * never read, and neither are the deployment's apt.conf and apt.conf.d: they are the image's,
 * and could name commands and programs that apt would run here, on the host, as root; only
 * their plain settings are passed on (apt-image-settings.ts).
 *
 * What a transaction pays for apt (issue 19), and why:
 *   aptUpdate   `apt-get update` without apt's own cache rebuild: apt removes and rebuilds its
 *               binary caches after every update, changed or not (about a second for Debian's
 *               main); we drop them only when a list file really changed.
 *   aptResolve  one `apt-get install --print-uris`: the plan (from apt's JSON hook, the
 *               machine-readable form of what apt decided) and the download list (the URIs of
 *               the .debs not yet in the archives cache), read from the binary caches when
 *               they are valid (AptDirs.binaryCaches).
 *   aptFetch    `apt-get download` of exactly those package versions: apt's acquire, its hash
 *               and signature checks, no dependency resolution.
 * The install itself runs inside the tree, in the sandbox (aptInstallInSandbox).
 */
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AptOstreeError } from '../errors.js';
import { readImageSettings } from './apt-image-settings.js';
import { runInSandbox, type SandboxOptions } from './bwrap.js';
import { run, type RunOptions, type RunResult } from './run.js';

export interface AptDirs {
  /**
   * The target's /etc/apt directory (merged /etc of the deployment): apt reads its sources,
   * preferences, trusted keys and auth.conf; of its apt.conf and apt.conf.d only what
   * IMAGE_SETTINGS allows (apt-image-settings.ts).
   */
  etcApt: string;
  /** apt configuration lines of the caller's own (compose: the manifest's apt-options), read last. */
  settings?: readonly string[];
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
  /**
   * Keep apt's binary caches in these files between runs: srcpkgcache.bin holds the package
   * lists, pkgcache.bin the lists plus the status file. With valid caches apt maps them instead
   * of parsing every list (Debian's main: ~1 s → ~0.2 s a run). Without this, apt builds both in
   * memory on every run (compose). apt takes a cache as valid while every file it was built
   * from has the same path, size and mtime (in seconds): the status file must therefore keep
   * its path and mtime while its content stays the same, and get another path when its content
   * changes (apt-setup.ts keeps one file per base commit); list changes are taken care of by
   * aptUpdate.
   */
  binaryCaches?: { pkgcache: string; srcpkgcache: string };
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

/**
 * Write the APT_CONFIG file of the apt runs on the host for `d`. In the order apt reads it: our
 * directories; the deployment's allowed settings (readImageSettings: apt itself is pointed past
 * its apt.conf and apt.conf.d, at an empty directory and /dev/null); our settings, which win
 * over the image's (apt-ostree.conf's download settings over its Acquire::http::Timeout); the
 * caller's own.
 */
export async function writeAptConfig(d: AptDirs): Promise<AptConfig> {
  const archivesDir = join(d.cacheDir, 'archives');
  const listsDir = join(d.cacheDir, 'lists');
  const noParts = join(d.workDir, 'apt.conf.d');
  mkdirSync(noParts, { recursive: true });
  const reader = join(d.workDir, 'deployment-apt.conf');
  writeFileSync(reader, `Dir::Etc ${q(d.etcApt + '/')};\n`);
  const imageSettings = await readImageSettings(reader, d.architecture);
  const lines = [
    `Dir "/";`,
    `Dir::Etc ${q(d.etcApt + '/')};`,
    `Dir::Etc::Main "/dev/null";`,
    `Dir::Etc::Parts ${q(noParts + '/')};`,
    `Dir::State ${q(join(d.cacheDir, 'state') + '/')};`,
    `Dir::State::lists ${q(listsDir + '/')};`,
    `Dir::State::status ${q(d.statusFile)};`,
    `Dir::State::extended_states ${q(join(d.workDir, 'extended_states'))};`,
    `Dir::Cache ${q(d.cacheDir + '/')};`,
    `Dir::Cache::archives ${q(archivesDir + '/')};`,
    `Dir::Cache::pkgcache ${d.binaryCaches ? q(d.binaryCaches.pkgcache) : '""'};`,
    `Dir::Cache::srcpkgcache ${d.binaryCaches ? q(d.binaryCaches.srcpkgcache) : '""'};`,
    `Dir::Log ${q(join(d.workDir, 'log') + '/')};`,
    ...imageSettings,
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
  lines.push(...(d.settings ?? []));
  const file = join(d.workDir, 'apt.conf');
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, dirs: d, archivesDir, listsDir };
}

function aptEnv(cfg: AptConfig): Record<string, string> {
  return { APT_CONFIG: cfg.file, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8' };
}

export interface AptUpdateResult {
  /** Whether any list file was added, replaced or removed (the binary caches were dropped). */
  changed: boolean;
}

/**
 * `apt-get update`. With binary caches, apt is told not to rebuild them (it removes and rebuilds
 * them after every update, even when nothing changed: the largest cost of an update of an
 * unchanged repository); they are dropped here instead, only when a list file was added,
 * replaced or removed (apt writes each new list beside the old one and renames it in place, so
 * a new inode, size or mtime is a change). Dropping rather than trusting apt's own check: a new
 * list of the same size fetched within the same second as the old one (no Last-Modified from
 * the server) would look unchanged to apt.
 */
export async function aptUpdate(cfg: AptConfig, opts: RunOptions = {}): Promise<AptUpdateResult> {
  const caches = cfg.dirs.binaryCaches;
  const before = caches ? listsState(cfg.listsDir) : '';
  let changed = true;
  try {
    await run('apt-get', ['update', ...(caches ? ['-o', 'pkgCacheFile::Generate=false'] : [])], {
      env: aptEnv(cfg),
      what: 'apt-get update',
      hint: 'Check the apt sources of the deployment (/etc/apt/sources.list*) and the network, or use --cache-only.',
      ...opts,
    });
  } finally {
    // Also after a failure: the sources that did update have new lists.
    if (caches) {
      changed = listsState(cfg.listsDir) !== before;
      if (changed) dropBinaryCaches(cfg);
    }
  }
  return { changed };
}

/** The identity of every list file: name, inode, size, mtime (ns). */
function listsState(dir: string): string {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return '';
  }
  const lines: string[] = [];
  for (const name of names.sort()) {
    if (name === 'lock') continue;
    const st = lstatSync(join(dir, name), { bigint: true, throwIfNoEntry: false });
    if (!st || st.isDirectory()) continue; // partial/, auxfiles/
    lines.push(`${name} ${st.ino} ${st.size} ${st.mtimeNs}`);
  }
  return lines.join('\n');
}

/** Remove the binary caches built from the lists (every pkgcache*.bin of their directories). */
export function dropBinaryCaches(cfg: AptConfig): void {
  const caches = cfg.dirs.binaryCaches;
  if (!caches) return;
  for (const dir of new Set([dirname(caches.pkgcache), dirname(caches.srcpkgcache)])) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      /* none yet */
    }
    for (const n of names) if (/^(src)?pkgcache.*\.bin$/.test(n)) rmSync(join(dir, n), { force: true });
  }
  rmSync(caches.pkgcache, { force: true });
  rmSync(caches.srcpkgcache, { force: true });
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

/** A .deb apt must fetch for a plan: one line of `apt-get --print-uris`. */
export interface AptDownload {
  /** Where apt fetches it from: http(s):, file: (a local repository), … */
  uri: string;
  /** Its name in the archives cache (archiveFileName). */
  fileName: string;
  /** Size in bytes, from the repository's index. */
  size: number;
  /** Its SHA256 from the repository's index, as `SHA256:hex` ('' when the index has none). */
  hash: string;
  /** The package version it is (what aptFetch asks apt for). */
  name: string;
  version: string;
  architecture: string;
}

export interface AptResolution {
  plan: AptPlan;
  /** The .debs of the plan that are not in the archives cache yet, for aptFetch. */
  downloads: AptDownload[];
}

/**
 * Resolve `apt-get install REQUESTS` in one apt run: what apt would install, upgrade, downgrade
 * and remove (the plan), and what it would have to download for it. Downgrades are allowed here
 * and judged by the caller (overrides may ask for them). Nothing is downloaded or installed.
 *
 * The run is `apt-get install --print-uris`: it prints a URI, file name, size and hash for every
 * .deb missing from the archives cache, and stops before downloading. The plan comes from the
 * same run through apt's JSON hook (AptCli::Hooks::Install, doc/json-hooks-protocol.md in apt's
 * sources): a small sh script answers apt's handshake and saves the pre-prompt notification,
 * which lists every changed package with its install and current version and architecture.
 * Resolution errors become one AptOstreeError (translateResolveError).
 */
export async function aptResolve(cfg: AptConfig, requests: string[], opts: RunOptions = {}): Promise<AptResolution> {
  const hook = writePlanHook(cfg);
  rmSync(hook.output, { force: true });
  const resolve = (extra: string[]) => run(
    'apt-get',
    [
      'install', '--print-uris', '--yes', '--quiet', '--allow-downgrades',
      // Read after every configuration file: our hook is the only one.
      '-c', hook.conf,
      // --print-uris would print MD5 sums (apt forces them "for compatibility").
      '-o', 'Acquire::ForceHash=SHA256',
      ...extra,
      ...requests,
    ],
    { env: aptEnv(cfg), what: 'apt-get (resolving)', ...opts },
  );
  let out;
  try {
    out = await resolve([]).catch((e: { stderr?: string }) => {
      // No room to save the binary caches (tens of MB): resolve without them, as before they
      // were kept; what comes next (the download) says what needs the room.
      if (!/No space left on device/.test(e.stderr ?? '') || !/cache/i.test(e.stderr ?? '')) throw e;
      dropBinaryCaches(cfg);
      return resolve(['-o', 'Dir::Cache::pkgcache=', '-o', 'Dir::Cache::srcpkgcache=']);
    });
  } catch (e) {
    throw translateResolveError(e);
  }
  let messages = '';
  try {
    messages = readFileSync(hook.output, 'utf8');
  } catch {
    /* checked below */
  }
  const plan = parseHookPlan(messages);
  if (!plan) {
    throw new AptOstreeError('apt-get resolved the request but did not report its plan through its JSON hook.', {
      detail: messages.slice(0, 2000) || out.stdout.slice(-2000),
      hint: 'apt-ostree reads the plan from apt\'s JSON hooks (AptCli::Hooks::Install, protocol 0.1 or 0.2); this apt may speak another version.',
    });
  }
  return { plan, downloads: parseDownloads(out.stdout, plan) };
}

/** The plan alone (compose): aptResolve without its download list. */
export async function aptSimulate(cfg: AptConfig, requests: string[], opts: RunOptions = {}): Promise<AptPlan> {
  return (await aptResolve(cfg, requests, opts)).plan;
}

/** The hook script and the apt configuration that registers it, in the run's work directory. */
function writePlanHook(cfg: AptConfig): { conf: string; output: string } {
  const dir = cfg.dirs.workDir;
  const script = join(dir, 'plan-hook.sh');
  const output = join(dir, 'plan-hook.json');
  const conf = join(dir, 'plan-hook.conf');
  writeFileSync(
    script,
    [
      '# apt-ostree: save what apt sends its JSON hooks (apt passes the socket as fd 3).',
      'IFS= read -r hello <&3 || exit 1',
      'IFS= read -r _ <&3 || exit 1',
      'case $hello in *\'"0.2"\'*) v=0.2 ;; *) v=0.1 ;; esac',
      'printf \'{"jsonrpc":"2.0","id":0,"result":{"version":"%s"}}\\n\\n\' "$v" >&3',
      'exec cat <&3 >>"$1"',
      '',
    ].join('\n'),
  );
  const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(conf, `#clear AptCli::Hooks::Install;\nAptCli::Hooks::Install { ${q(`/bin/sh ${sh(script)} ${sh(output)}`)}; };\n`);
  return { conf, output };
}

interface HookVersion {
  version?: unknown;
  architecture?: unknown;
}
interface HookPackage {
  name?: unknown;
  mode?: unknown;
  versions?: { install?: HookVersion; current?: HookVersion };
}

/**
 * The plan in what apt sent its JSON hook: the pre-prompt notification among the messages
 * (each a JSON object followed by an empty line), or undefined when there is none. Packages
 * are in apt's order (by name); `mode` is install/upgrade/downgrade/reinstall (0.2; 0.1 says
 * install for all four) or deinstall/purge.
 */
export function parseHookPlan(messages: string): AptPlan | undefined {
  for (const text of messages.split(/\n\n+/)) {
    if (!text.trim()) continue;
    let msg: { method?: unknown; params?: { packages?: unknown } };
    try {
      msg = JSON.parse(text) as typeof msg;
    } catch {
      continue;
    }
    if (msg.method !== 'org.debian.apt.hooks.install.pre-prompt') continue;
    const plan: AptPlan = { install: [], remove: [] };
    const packages = Array.isArray(msg.params?.packages) ? (msg.params.packages as HookPackage[]) : [];
    for (const p of packages) {
      const name = String(p.name);
      const current = typeof p.versions?.current?.version === 'string' ? p.versions.current.version : undefined;
      if (p.mode === 'deinstall' || p.mode === 'purge') {
        plan.remove.push({ name, version: current });
        continue;
      }
      const inst = p.versions?.install;
      if (typeof inst?.version !== 'string' || typeof inst.architecture !== 'string') continue; // kept
      plan.install.push({ name, version: inst.version, architecture: inst.architecture, oldVersion: current });
    }
    return plan;
  }
  return undefined;
}

/**
 * The .debs `apt-get --print-uris` lists (`'URI' FILE SIZE HASH`, one a line), each matched
 * to its package in the plan by apt's file name. A .deb given as a path is never listed (apt
 * uses it in place).
 */
export function parseDownloads(stdout: string, plan: AptPlan): AptDownload[] {
  const byFile = new Map(plan.install.map((p) => [archiveFileName(p), p]));
  const downloads: AptDownload[] = [];
  for (const line of stdout.split('\n')) {
    // 'http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb' hello_2.10-3_amd64.deb 53080 SHA256:…
    const m = /^'([^']+)' (\S+) (\d+)(?: (\S*))?$/.exec(line.trim());
    if (!m || m[2]!.includes('/')) continue;
    const [, uri, fileName, size, hash] = m as unknown as [string, string, string, string, string | undefined];
    const p = byFile.get(fileName) ?? packageOfFileName(fileName);
    if (!p) continue;
    downloads.push({ uri, fileName, size: Number(size), hash: hash ?? '', name: p.name, version: p.version, architecture: p.architecture });
  }
  return downloads;
}

/** name_version_arch.deb (version's ':' as %3a) → its parts. */
function packageOfFileName(file: string): PlannedPackage | undefined {
  const m = /^([^_]+)_([^_]+)_([^_]+)\.deb$/.exec(file);
  return m ? { name: m[1]!, version: decodeURIComponent(m[2]!), architecture: m[3]! } : undefined;
}

/** Requested packages (or versions, releases) that the lists do not have. */
export class PackagesNotFoundError extends AptOstreeError {
  constructor(readonly packages: string[]) {
    super(`Package${packages.length > 1 ? 's' : ''} not found in the apt repositories: ${packages.join(', ')}.`, {
      hint: 'Check the names (apt-ostree search TERM), the apt sources of the deployment, or refresh without --cache-only.',
    });
  }
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
  if (unknown.length) return new PackagesNotFoundError(unknown);
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

export interface FetchProgress {
  /** Bytes of the downloads in place (finished files, and what apt wrote of the others). */
  bytes: number;
  totalBytes: number;
  /** Files finished of the downloads. */
  files: number;
  totalFiles: number;
}

/** How often aptFetch measures what apt has written. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * Fetch the downloads of a resolution into the archives cache, without resolving again:
 * `apt-get download NAME:ARCH=VERSION…`, run in archives/partial. It looks the versions up in
 * the (cached) lists and fetches them with apt's acquire: apt-ostree.conf's download settings,
 * proxies and auth.conf apply, every file is checked against the size and hash of the signed
 * index, packages of unauthenticated repositories are refused as `apt-get install` refuses them
 * (`apt-helper download-file` would fetch any URI it is given), and packages of file:
 * repositories are copied (apt-get install would read them in place, but the sandbox only sees
 * the archives cache). Each finished file is checked against the size of the download list (a
 * file: copy against its hash too) and renamed into the archives cache, so the cache never holds
 * a partial .deb under a final name; what an interrupted run left in partial/ is resumed.
 * `onProgress` gets the bytes in place every PROGRESS_INTERVAL_MS while they change (measured on
 * the files: apt's own Status-Fd percentage weighs file counts in).
 */
export async function aptFetch(
  cfg: AptConfig,
  downloads: AptDownload[],
  opts: RunOptions & { onProgress?: (p: FetchProgress) => void } = {},
): Promise<void> {
  const { onProgress, ...runOpts } = opts;
  const partial = join(cfg.archivesDir, 'partial');
  mkdirSync(partial, { recursive: true });
  const final = (d: AptDownload) => join(cfg.archivesDir, d.fileName);
  const done = new Set(downloads.filter((d) => statSync(final(d), { throwIfNoEntry: false })?.size === d.size));
  const todo = downloads.filter((d) => !done.has(d));
  const totalBytes = downloads.reduce((n, d) => n + d.size, 0);
  let last = -1;
  const report = () => {
    if (!onProgress) return;
    let bytes = 0;
    for (const d of downloads) bytes += done.has(d) ? d.size : Math.min(d.size, statSync(join(partial, d.fileName), { throwIfNoEntry: false })?.size ?? 0);
    if (bytes === last) return;
    last = bytes;
    onProgress({ bytes, totalBytes, files: done.size, totalFiles: downloads.length });
  };
  report();
  if (!todo.length) return;
  const timer = onProgress ? setInterval(report, PROGRESS_INTERVAL_MS) : undefined;
  timer?.unref();
  try {
    await run('apt-get', ['download', '-qq', ...todo.map((d) => `${d.name}:${d.architecture}=${d.version}`)], {
      env: aptEnv(cfg),
      cwd: partial,
      what: 'apt-get download',
      hint: 'Check the network and the apt sources, or use --cache-only with packages already downloaded.',
      ...runOpts,
    });
  } finally {
    if (timer) clearInterval(timer);
  }
  for (const d of todo) {
    const file = join(partial, d.fileName);
    const size = statSync(file, { throwIfNoEntry: false })?.size;
    if (size !== d.size) {
      throw new AptOstreeError(`apt-get download left ${d.fileName} ${size === undefined ? 'missing' : `with ${size} bytes instead of ${d.size}`}.`, {
        hint: 'Run the command again; check the apt sources if it persists.',
      });
    }
    if (d.uri.startsWith('file:')) await checkCopy(file, d);
    renameSync(file, final(d));
    done.add(d);
  }
  report();
}

/** A copy of a file: repository's package, checked against the repository's index. */
async function checkCopy(file: string, d: AptDownload): Promise<void> {
  const [hashName, expected] = d.hash.split(':') as [string, string | undefined];
  const algorithm = HASHES[hashName];
  if (!algorithm || !expected) return;
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  if (h.digest('hex') !== expected) {
    rmSync(file, { force: true });
    throw new AptOstreeError(`${fileURLToPath(d.uri)} does not match its repository's index (${hashName}).`, {
      hint: 'Regenerate the Packages index of that file: repository, then run apt-ostree again.',
    });
  }
}

/** apt's hash names → node:crypto's. */
const HASHES: Record<string, string> = { MD5Sum: 'md5', SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

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

/** `apt-cache showpkg NAMES`: versions and reverse provides of each name. */
export async function aptCacheShowpkg(cfg: AptConfig, names: string[], opts: RunOptions = {}): Promise<string> {
  const { stdout } = await run('apt-cache', ['showpkg', '--', ...names], { env: aptEnv(cfg), what: 'apt-cache showpkg', ...opts });
  return stdout;
}

/** `apt-cache show NAMES` with every version (exit 100 when some name is unknown: the others are still shown). */
export async function aptCacheShowAll(cfg: AptConfig, names: string[], opts: RunOptions = {}): Promise<string> {
  const { stdout } = await run('apt-cache', ['show', '--', ...names], { env: aptEnv(cfg), what: 'apt-cache show', okCodes: [100], ...opts });
  return stdout;
}

/** `apt-cache policy NAMES`: each name's versions with the sources that offer them. */
export async function aptCachePolicy(cfg: AptConfig, names: string[], opts: RunOptions = {}): Promise<string> {
  const { stdout } = await run('apt-cache', ['policy', '--', ...names], { env: aptEnv(cfg), what: 'apt-cache policy', ...opts });
  return stdout;
}

/** `apt-get indextargets` of the package lists: each list file and the source entry (FILE:N) it comes from, tab-separated. */
export async function aptPackageIndexTargets(cfg: AptConfig, opts: RunOptions = {}): Promise<string> {
  const { stdout } = await run('apt-get', ['indextargets', '--format', '$(FILENAME)\t$(SOURCESENTRY)', 'Created-By: Packages'], { env: aptEnv(cfg), what: 'apt-get indextargets', ...opts });
  return stdout;
}

export interface SandboxInstall {
  /** Paths of .deb files inside the sandbox (already downloaded: nothing is fetched). */
  debs: readonly string[];
  /** Names of packages to purge (`NAME-`): nothing of them stays in the tree. */
  purge: readonly string[];
}

/**
 * `apt-get install` of downloaded .debs inside the tree, in the sandbox: no download, no
 * recommends, downgrades allowed, dpkg keeping the tree's changed configuration files and
 * syncing nothing.
 */
export async function aptInstallInSandbox(sandbox: SandboxOptions, packages: SandboxInstall, opts: RunOptions = {}): Promise<RunResult> {
  return runInSandbox(
    sandbox,
    [
      'apt-get', 'install', '--yes', '--no-download', '--no-install-recommends', '--allow-downgrades', '--purge',
      '-o', 'Dpkg::Use-Pty=0',
      '-o', 'Dir::Cache::pkgcache=', '-o', 'Dir::Cache::srcpkgcache=',
      '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold',
      // No fsync per unpacked file: the tree is the transaction's scratch copy, thrown away on
      // any failure or crash before its commit, and ostree writes the committed objects to disk
      // itself. dpkg's fsyncs protected nothing here and cost most of an unpack on a slow disk.
      '-o', 'Dpkg::Options::=--force-unsafe-io',
      ...packages.debs,
      ...packages.purge.map((name) => `${name}-`),
    ],
    opts,
  );
}
