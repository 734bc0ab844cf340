/**
 * The settings of apt-ostree.conf that transactions obey, from the file that applies to the
 * sysroot (see loadSysrootConfig). zod is loaded only when there is a file to parse.
 */
import { join, resolve } from 'node:path';
import { CONFIG_PATH, CONFIG_RELATIVE_PATH, readConfigFile, type LoadedConfig } from '../../config/config.js';
import type { Reporter } from '../../output/reporter.js';
import { openSysroot, type Sysroot } from './sysroot.js';

/** MaxConcurrentDownloads and DownloadTimeout, for apt (system/apt.ts) and ostree pull (system/ostree.ts). */
export interface DownloadSettings {
  maxConcurrent: number;
  timeoutSeconds: number;
}

export interface TransactionSettings {
  lockLayering: boolean;
  installRecommends: boolean;
  downloads: DownloadSettings;
  /** PackageListsMaxAge: how old the package lists may be before a layering transaction refreshes them. */
  listsMaxAgeSeconds: number;
  /** The file they came from, for messages. */
  file?: string;
}

export async function transactionSettings(sysroot: Sysroot, os: string, reporter: Reporter): Promise<TransactionSettings> {
  const loaded = loadSysrootConfig(sysroot, os);
  for (const w of loaded.warnings) reporter.warn(w);
  const d = loaded.config.Daemon;
  return {
    lockLayering: d.LockLayering,
    installRecommends: !d.DisableRecommends,
    downloads: { maxConcurrent: d.MaxConcurrentDownloads, timeoutSeconds: d.DownloadTimeout },
    listsMaxAgeSeconds: d.PackageListsMaxAge,
    file: loaded.exists ? loaded.path : undefined,
  };
}

/** The /etc of the deployment commands act on in a sysroot that is not the running system: the default deployment's. */
export function deploymentEtcDir(sysroot: Sysroot, os?: string): string | undefined {
  if (!os && !sysroot.deployments.length) return undefined; // nothing deployed yet: defaults apply
  const d = sysroot.defaultDeployment(sysroot.resolveOs(os));
  return d ? join(d.path, 'etc') : undefined;
}

/**
 * Load the configuration that applies to a sysroot. On the running system (`/`) that is
 * /etc/apt-ostree/apt-ostree.conf; for another sysroot it is read from `deploymentEtcDir`,
 * or, when that is not given, from the default deployment of `os` (or of the default stateroot).
 * A missing file means defaults. Warnings are returned, not printed.
 */
export function loadConfig(sysrootPath: string, deploymentEtc?: string, os?: string): LoadedConfig {
  if (deploymentEtc) return readConfigFile(join(deploymentEtc, CONFIG_RELATIVE_PATH));
  if (resolve(sysrootPath) === '/') return readConfigFile(CONFIG_PATH);
  return loadSysrootConfig(openSysroot(sysrootPath), os);
}

/** The same for a Sysroot already loaded (inside a transaction): /etc on `/`, else the default deployment's of `os`. */
export function loadSysrootConfig(sysroot: Sysroot, os?: string): LoadedConfig {
  if (sysroot.path === '/') return readConfigFile(CONFIG_PATH);
  const etc = deploymentEtcDir(sysroot, os);
  return readConfigFile(etc ? join(etc, CONFIG_RELATIVE_PATH) : undefined);
}
