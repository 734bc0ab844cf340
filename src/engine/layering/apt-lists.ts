/** apt's view of the default deployment, for read-only queries and list refreshes. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AptOstreeError } from '../../errors.js';
import { installedPackages } from '../../debian/deb822.js';
import type { AptConfig } from '../../system/apt.js';
import { aptConfigFor, nativeArchitecture } from './apt-setup.js';
import { aptCacheDir } from '../state-paths.js';
import type { Reporter } from '../../output/reporter.js';
import { transactionSettings } from '../deployments/settings.js';
import { openSysroot, type Sysroot } from '../deployments/sysroot.js';

/**
 * Run `fn` with apt configured for the default deployment of the stateroot. With a reporter
 * (commands that download: refresh-md), apt-ostree.conf's download settings apply.
 */
export async function withDeploymentApt<T>(sysrootPath: string, os: string | undefined, opts: { create: boolean; workDir?: string; reporter?: Reporter }, fn: (apt: AptConfig, sysroot: Sysroot, os: string) => Promise<T>): Promise<T> {
  const sysroot = openSysroot(sysrootPath);
  const name = sysroot.resolveOs(os);
  const d = sysroot.defaultDeployment(name);
  if (!d) throw new AptOstreeError(`The stateroot '${name}' has no deployment.`, { hint: 'Provision it first with `apt-ostree admin provision`.' });
  const statusFile = join(d.path, 'usr', 'share', 'dpkg', 'database', 'status');
  const arch = nativeArchitecture(installedPackages(readFileSync(statusFile, 'utf8'), statusFile));
  const work = opts.workDir ?? mkdtempSync(join(tmpdir(), 'apt-ostree-'));
  try {
    const downloads = opts.reporter ? (await transactionSettings(sysroot, name, opts.reporter)).downloads : undefined;
    return await fn(await aptConfigFor(sysroot, name, d, { workDir: work, status: { file: statusFile }, architecture: arch, downloads, create: opts.create }), sysroot, name);
  } finally {
    if (!opts.workDir) rmSync(work, { recursive: true, force: true });
  }
}

export function requireLists(apt: AptConfig, sysroot: Sysroot, os: string): void {
  let lists: string[] = [];
  try {
    lists = readdirSync(apt.listsDir).filter((f) => f.endsWith('Packages') || f.includes('_Packages'));
  } catch {
    /* none */
  }
  if (!lists.length) {
    throw new AptOstreeError(`There are no package lists for the stateroot '${os}' yet (${aptCacheDir(sysroot.path, os)}).`, {
      hint: 'Download them with: sudo apt-ostree refresh-md',
    });
  }
}
