/**
 * Reordering deployments: make one deployment the default without deploying anything, always
 * through libostree (ostree_sysroot_write_deployments), so that the boot loader backend runs as on
 * any other deployment change — with GRUB, the menu is regenerated (see docs/layout.md):
 *
 *   ostree 2024.1 and later (Debian 13's 2025.2)   `ostree admin set-default INDEX`
 *   older ostree (Debian 12's 2022.7)              data/ostree/ostree-set-default, a small
 *                                                  python3-gi helper doing what set-default does
 *
 * libostree writes the new boot version beside the running one and switches with one rename, so
 * a failure leaves the previous configuration in place.
 */
import { AptOstreeError } from '../../errors.js';
import * as ostree from '../../system/ostree.js';
import { deploymentId, ostreeDeploymentOrder } from './deploy.js';
import type { Sysroot, Deployment } from './sysroot.js';
import type { Transaction } from '../transaction/transaction.js';

/** `deployments` with `target` moved to the front, the others keeping their order. */
export function withDefault(deployments: Deployment[], target: Deployment): Deployment[] {
  return [target, ...deployments.filter((d) => d.path !== target.path)];
}

/**
 * Make `target` the default deployment (index 0), keeping the others in order. Runs inside
 * `tx`; on failure before the switch nothing visible changed, and the created files go.
 */
export async function setDefaultDeployment(tx: Transaction, sysroot: Sysroot, target: Deployment): Promise<void> {
  const expected = withDefault(sysroot.deployments, target).map(deploymentId);
  tx.throwIfCancelled();
  // libostree's switch is atomic: it completes or changes nothing, so from here there is no undo.
  tx.enterCommitPhase();
  if (await ostree.hasAdminSetDefault()) await ostree.adminSetDefault(sysroot.path, target.index);
  else await ostree.setDefaultThroughLibostree(sysroot.path, target.index);
  await checkOstreeOrder(sysroot.path, expected);
}

async function checkOstreeOrder(sysrootPath: string, expected: string[]): Promise<void> {
  const seen = await ostreeDeploymentOrder(sysrootPath);
  if (seen.join(' ') !== expected.join(' ')) {
    throw new AptOstreeError('After reordering, ostree lists the deployments in an unexpected order.', {
      detail: `expected:\n  ${expected.join('\n  ')}\nostree admin status:\n  ${seen.join('\n  ')}`,
    });
  }
}
