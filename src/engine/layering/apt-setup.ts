/**
 * Where layering keeps apt's state for a stateroot, and apt set up for a deployment: shared by
 * the layering transaction (build.ts) and the read-only commands that use the same lists
 * (search, info, refresh-md: apt-lists.ts).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DpkgPackage as InstalledPackage } from '../../debian/deb822.js';
import { AptOstreeError } from '../../errors.js';
import { writeAptConfig, type AptConfig } from '../../system/apt.js';
import type { Deployment, Sysroot } from '../deployments/sysroot.js';
import type { DownloadSettings } from '../settings.js';

/** Where apt-ostree keeps apt lists and downloaded .debs for a stateroot (reused across runs). */
export function cacheDirOf(sysroot: Sysroot, os: string): string {
  return join(sysroot.stateroot(os), 'var', 'cache', 'apt-ostree');
}

/**
 * apt set up for a deployment: its /etc/apt, the stateroot's cache, a dpkg status file.
 * `create` makes the cache directories (transactions); read-only commands use them as they are.
 */
export function aptConfigFor(
  sysroot: Sysroot,
  os: string,
  deployment: Deployment,
  opts: { workDir: string; statusFile: string; architecture: string; installRecommends?: boolean; downloads?: DownloadSettings; create?: boolean },
): AptConfig {
  const cacheDir = cacheDirOf(sysroot, os);
  if (opts.create !== false) for (const d of ['lists/partial', 'archives/partial', 'state']) mkdirSync(join(cacheDir, d), { recursive: true });
  mkdirSync(join(opts.workDir, 'log'), { recursive: true });
  return writeAptConfig({
    etcApt: join(deployment.path, 'etc', 'apt'),
    statusFile: opts.statusFile,
    cacheDir,
    workDir: opts.workDir,
    architecture: opts.architecture,
    installRecommends: opts.installRecommends,
    downloads: opts.downloads,
  });
}

/** Where requested local .deb files are kept so later transactions can re-apply them. */
export function localDebDirOf(sysroot: Sysroot, os: string): string {
  return join(sysroot.stateroot(os), 'var', 'lib', 'apt-ostree', 'local');
}

/** The base image's architecture, from its dpkg database (dpkg's own, else any package's). */
export function nativeArchitecture(packages: InstalledPackage[]): string {
  const dpkg = packages.find((p) => p.name === 'dpkg');
  if (dpkg && dpkg.architecture !== 'all') return dpkg.architecture;
  const any = packages.find((p) => p.architecture !== 'all');
  if (!any) throw new AptOstreeError('Cannot tell the base image\'s architecture from its dpkg database.', { hint: 'Is this a Debian image with dpkg installed?' });
  return any.architecture;
}
