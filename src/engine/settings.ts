/**
 * The settings of apt-ostree.conf that transactions obey, from the file that applies to the
 * sysroot (see loadSysrootConfig). zod is loaded only when there is a file to parse.
 */
import { loadSysrootConfig } from '../config/config.js';
import type { Reporter } from '../output/reporter.js';
import type { Sysroot } from './sysroot.js';

/** MaxConcurrentDownloads and DownloadTimeout, for apt (system/apt.ts) and ostree pull (system/ostree.ts). */
export interface DownloadSettings {
  maxConcurrent: number;
  timeoutSeconds: number;
}

export interface TransactionSettings {
  lockLayering: boolean;
  installRecommends: boolean;
  downloads: DownloadSettings;
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
    file: loaded.exists ? loaded.path : undefined,
  };
}
