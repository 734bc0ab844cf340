/**
 * Rollback: make the rollback deployment (or, with --to INDEX, any kept deployment) the default
 * for the next boot, keeping the other deployments in order (a second rollback swaps back). Nothing is deployed: only the boot
 * configuration changes (see bootconfig.ts). Refused while a staged deployment is pending on
 * the running system, like rpm-ostree, and after apply-live until the reboot.
 */
import { AptOstreeError } from '../../errors.js';
import type { OperationOptions } from '../transaction/transaction.js';
import { runOnSysroot } from './sysroot-transaction.js';
import { setDefaultDeployment } from './bootconfig.js';
import { disarmBootCounting } from './arm.js';
import { deploymentId } from './deploy.js';
import { readLiveState } from './live-state.js';
import { deploymentAt } from './rollback-points.js';
import type { Deployment, Sysroot } from './sysroot.js';

export interface RollbackResult {
  /** The sysroot as the rollback left it. */
  sysroot: Sysroot;
  /** The new default deployment. */
  target: Deployment;
  /** The previous default, now the rollback. */
  previous: Deployment;
  os: string;
}

/** `to`: the index (as `status` lists them) of the deployment to make the default; the rollback deployment when undefined. */
export async function rollback(opts: OperationOptions & { to?: number }): Promise<RollbackResult> {
  // Rollback reads no origin (moving away from a damaged one is a repair), but ostree
  // cannot load a sysroot with an origin that is not a key file.
  return runOnSysroot(opts, 'unloadable', async (handle) => {
    const { tx, sysroot, os } = handle;
    // The running /usr shows the pending deployment's files (apply-live): booting another one
    // would take them away at the next boot while the system runs with them now.
    const live = sysroot.booted && readLiveState(sysroot.booted);
    if (live) {
      throw new AptOstreeError(`The running system has live changes (apply-live of ${(live.commit ?? live.inprogress)!.slice(0, 12)}); a rollback now would boot a system without them.`, {
        hint: 'Reboot first (the pending deployment boots, without the overlay), then roll back.',
      });
    }
    if (sysroot.deployments.some((d) => d.staged)) {
      throw new AptOstreeError('A staged deployment is pending; drop it with `apt-ostree cleanup -p` before rolling back.', {
        hint: 'Or reboot into it first; `apt-ostree status` shows it.',
      });
    }
    const target = opts.to === undefined ? sysroot.rollbackDeployment(os) : chosenTarget(sysroot, opts.to);
    if (!target) {
      throw new AptOstreeError(`There is no rollback deployment: the stateroot '${os}' has only ${sysroot.deploymentsOf(os).length === 1 ? 'one deployment' : 'no deployment'}.`, {
        hint: 'A rollback needs a previous deployment; `apt-ostree status` lists them.',
      });
    }
    const previous = sysroot.defaultDeployment(target.osname)!;
    tx.reporter.info(`Moving '${deploymentId(target)}' to be the first deployment`);
    // The deployment rolled back to is not on trial: GRUB stops counting tries. Before the new
    // boot order, not after: a SIGKILL between the two must not leave the counter armed for
    // the known deployment, whose used-up tries would fall back to the one rolled away from.
    // Killed there, the old default stays, uncounted (undone on any other failure).
    disarmBootCounting(tx, sysroot.path);
    await tx.reporter.task('Writing the new boot order', () => setDefaultDeployment(tx, sysroot, target));
    // ostree wrote the new boot order.
    const after = handle.reload();
    return { sysroot: after, target: after.deployments.find((d) => d.path === target.path) ?? target, previous, os };
  });
}

/** `rollback --to INDEX`: any kept deployment but the default (rollback-points.ts). */
function chosenTarget(sysroot: Sysroot, index: number): Deployment {
  const target = deploymentAt(sysroot, index, 'roll back to');
  if (index === 0) {
    throw new AptOstreeError(`Deployment 0 (${deploymentId(target)}) is already the default.`, {
      hint: 'Give the index of another deployment, as `apt-ostree status` lists them.',
    });
  }
  return target;
}
