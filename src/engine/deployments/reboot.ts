/**
 * `-r/--reboot`: reboot into the new default deployment, but only when the sysroot the command
 * changed is the running system's. Rebooting the host because a sysroot directory (an image
 * being prepared, a mounted disk) changed would be a nasty surprise, so that case only says so.
 */
import type { Reporter } from '../../output/reporter.js';
import type { Sysroot } from './sysroot.js';

export interface RebootOutcome {
  rebooting: boolean;
}

export async function maybeReboot(ctx: { reporter: Reporter }, sysroot: Sysroot): Promise<RebootOutcome> {
  if (!sysroot.isBootedSystem) {
    ctx.reporter.warn(`not rebooting: --sysroot ${sysroot.path} is not the running system`);
    return { rebooting: false };
  }
  const { rebootSystem } = await import('../../system/systemd.js');
  ctx.reporter.info('Rebooting into the new default deployment');
  await rebootSystem('The change is made; reboot by hand to start using it.');
  return { rebooting: true };
}
