/**
 * `apt-ostree pin INDEX` / `unpin INDEX`: ostree's pin of a deployment (rollback-points.ts says
 * what keeps a pinned deployment), as one transaction.
 */
import { AptOstreeError } from '../../errors.js';
import * as ostree from '../../system/ostree.js';
import type { OperationOptions } from '../transaction/transaction.js';
import { deploymentId } from './deploy.js';
import { deploymentAt } from './rollback-points.js';
import { runOnSysroot } from './sysroot-transaction.js';
import type { Deployment, Sysroot } from './sysroot.js';

export interface PinResult {
  sysroot: Sysroot;
  target: Deployment;
  /** False when it already was as asked: nothing was changed. */
  changed: boolean;
}

/** Pin or unpin the deployment at `index` (ostree admin pin); one transaction. */
export async function setPinned(opts: OperationOptions, index: number, pinned: boolean): Promise<PinResult> {
  return runOnSysroot(opts, 'unloadable', async (handle) => {
    const { tx, sysroot } = handle;
    const target = deploymentAt(sysroot, index, pinned ? 'pin' : 'unpin');
    if (target.staged) {
      throw new AptOstreeError(`Deployment ${index} (${deploymentId(target)}) is staged: ostree pins only deployments in the boot order.`, {
        hint: 'Pin it after the reboot that finalizes it, or pin the deployment you want to keep instead.',
      });
    }
    if (target.pinned === pinned) return { sysroot, target, changed: false };
    await tx.reporter.task(`${pinned ? 'Pinning' : 'Unpinning'} ${deploymentId(target)}`, () => ostree.adminPin(sysroot.path, index, pinned));
    // ostree rewrote the deployment's origin.
    const after = handle.reload();
    const now = after.deployments.find((d) => d.path === target.path);
    if (now?.pinned !== pinned) {
      throw new AptOstreeError(`ostree admin pin${pinned ? '' : ' --unpin'} ${index} succeeded but ${deploymentId(target)} is ${pinned ? 'not' : 'still'} pinned.`, {
        hint: 'Check `ostree admin status`; this is a bug in apt-ostree or ostree.',
      });
    }
    return { sysroot: after, target: now, changed: true };
  });
}
