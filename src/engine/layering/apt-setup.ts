/**
 * Where layering keeps apt's state for a stateroot, and apt set up for a deployment: shared by
 * the layering transaction (build.ts) and the read-only commands that use the same lists
 * (search, info, refresh-md: apt-lists.ts).
 */
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DpkgPackage as InstalledPackage } from '../../debian/deb822.js';
import { AptOstreeError } from '../../errors.js';
import { writeAptConfig, type AptConfig } from '../../system/apt.js';
import type { Deployment, Sysroot } from '../deployments/sysroot.js';
import type { DownloadSettings } from '../deployments/settings.js';
import { aptCacheDir } from '../state-paths.js';

/**
 * apt set up for a deployment: its /etc/apt, the stateroot's cache, a dpkg status file, and
 * apt's binary caches kept in the cache directory (AptDirs.binaryCaches).
 *
 * The status file decides whether the binary cache can be reused (apt checks its path, size and
 * mtime): a base commit's status (`{ baseChecksum, text }`, layering transactions) is kept once
 * per checksum under the cache directory (baseStatusFile), so every transaction on the same base
 * finds the pkgcache.bin built by the previous one, and a transaction on another base finds a
 * file at another path, which apt never takes for the one the cache was built with. A status file
 * as it is (`{ file }`, the read-only queries: a deployment's own, whose path names its commit)
 * gets a pkgcache of its own, so queries and transactions do not rebuild each other's.
 * `create` makes the cache directories (transactions); read-only commands use them as they are.
 */
export async function aptConfigFor(
  sysroot: Sysroot,
  os: string,
  deployment: Deployment,
  opts: {
    workDir: string;
    status: { file: string } | { baseChecksum: string; text: string };
    architecture: string;
    installRecommends?: boolean;
    downloads?: DownloadSettings;
    create?: boolean;
    /** apt configuration lines of the caller's own (layering: the kept packages' source). */
    settings?: readonly string[];
  },
): Promise<AptConfig> {
  const cacheDir = aptCacheDir(sysroot.path, os);
  if (opts.create !== false) for (const d of ['lists/partial', 'archives/partial', 'state']) mkdirSync(join(cacheDir, d), { recursive: true });
  mkdirSync(join(opts.workDir, 'log'), { recursive: true });
  const base = 'file' in opts.status ? undefined : opts.status;
  return writeAptConfig({
    etcApt: join(sysroot.etcOf(deployment), 'apt'),
    statusFile: base ? baseStatusFile(cacheDir, base.baseChecksum, base.text) : (opts.status as { file: string }).file,
    cacheDir,
    workDir: opts.workDir,
    architecture: opts.architecture,
    installRecommends: opts.installRecommends,
    downloads: opts.downloads,
    settings: opts.settings,
    binaryCaches: {
      pkgcache: join(cacheDir, base ? 'pkgcache.bin' : 'pkgcache-deployment.bin'),
      srcpkgcache: join(cacheDir, 'srcpkgcache.bin'),
    },
  });
}

/** How many base status files baseStatusFile keeps (the newest written). */
const KEPT_BASE_STATUS_FILES = 6;

/**
 * The dpkg status file of a base commit, kept in the cache directory under its checksum:
 * written once (to a temporary name, then renamed), and left alone, mtime included, while it
 * holds that text, so that apt's pkgcache.bin built against it stays valid. Files of other
 * bases beyond the newest KEPT_BASE_STATUS_FILES are removed (one is written again, with a new
 * mtime, when its base is used again).
 */
export function baseStatusFile(cacheDir: string, checksum: string, text: string): string {
  if (!/^[0-9a-f]{64}$/.test(checksum)) throw new AptOstreeError(`Not a commit checksum: ${checksum}`);
  const dir = join(cacheDir, 'base-status');
  const file = join(dir, checksum);
  if (statSync(file, { throwIfNoEntry: false })?.size === Buffer.byteLength(text)) return file;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
  const others = readdirSync(dir)
    .filter((n) => n !== checksum && /^[0-9a-f]{64}$/.test(n))
    .map((n) => ({ n, mtime: statSync(join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { n } of others.slice(KEPT_BASE_STATUS_FILES - 1)) rmSync(join(dir, n), { force: true });
  return file;
}

/** The base image's architecture, from its dpkg database (dpkg's own, else any package's). */
export function nativeArchitecture(packages: InstalledPackage[]): string {
  const dpkg = packages.find((p) => p.name === 'dpkg');
  if (dpkg && dpkg.architecture !== 'all') return dpkg.architecture;
  const any = packages.find((p) => p.architecture !== 'all');
  if (!any) throw new AptOstreeError('Cannot tell the base image\'s architecture from its dpkg database.', { hint: 'Is this a Debian image with dpkg installed?' });
  return any.architecture;
}
