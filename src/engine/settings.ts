/**
 * The settings of apt-ostree.conf that transactions obey. The file is read (and zod loaded)
 * only when it exists: most systems have none, and defaults cost nothing.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Reporter } from '../output/reporter.js';
import type { Sysroot } from './sysroot.js';

export interface TransactionSettings {
  lockLayering: boolean;
  installRecommends: boolean;
  /** The file they came from, for messages. */
  file?: string;
}

export async function transactionSettings(sysroot: Sysroot, os: string, reporter: Reporter): Promise<TransactionSettings> {
  const file = resolve(sysroot.path) === '/'
    ? '/etc/apt-ostree/apt-ostree.conf'
    : (() => {
        const d = sysroot.defaultDeployment(os);
        return d ? join(d.path, 'etc', 'apt-ostree', 'apt-ostree.conf') : undefined;
      })();
  if (!file || !existsSync(file)) return { lockLayering: false, installRecommends: true };
  const { readConfigFile } = await import('../config/config.js');
  const loaded = readConfigFile(file);
  for (const w of loaded.warnings) reporter.warn(w);
  return { lockLayering: loaded.config.Daemon.LockLayering, installRecommends: !loaded.config.Daemon.DisableRecommends, file };
}
