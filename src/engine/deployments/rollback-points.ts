/**
 * Rollback points (issue 29, the design document's phase 7): deployments kept to go back to.
 *   - pins (pin.ts): `apt-ostree pin INDEX` / `unpin INDEX`, ostree's own pin ([libostree-transient]
 *     pinned=true in the origin, `ostree admin pin`): neither ostree's cleanup, nor a new
 *     deployment, nor `apt-ostree cleanup` removes a pinned deployment;
 *   - [Updates] KeepRollbacks=N: a new deployment written to the boot order keeps N earlier
 *     ones of its stateroot besides itself (deploy.ts: dropSuperseded, deployAsDefault);
 *   - `rollback --to INDEX` (rollback.ts) makes any of them the default again.
 */
import { InputError } from '../../errors.js';
import { loadSysrootConfig } from './settings.js';
import type { Deployment, Sysroot } from './sysroot.js';

/** [Updates] KeepRollbacks of the configuration that applies to the sysroot (1 when unset). */
export function keptRollbacks(sysroot: Sysroot, os: string): number {
  return loadSysrootConfig(sysroot, os).config.Updates.KeepRollbacks;
}

/**
 * The deployments of `os` a new deployment (`added`, in `after`'s boot order) leaves behind:
 * all but the first `keep` unpinned earlier ones, the pinned ones, the booted one and `alsoKeep`.
 * Oldest (last in the boot order) first.
 */
export function supersededDeployments(after: Sysroot, added: Deployment, os: string, keep: number, alsoKeep: ReadonlySet<string | undefined>): Deployment[] {
  let kept = 0;
  const drop: Deployment[] = [];
  for (const d of after.deploymentsOf(os)) {
    if (d.path === added.path || d.pinned || d.booted || d.staged) continue;
    if (kept < keep) {
      kept++;
      continue;
    }
    if (!alsoKeep.has(d.path)) drop.push(d);
  }
  return drop.sort((a, b) => b.index - a.index);
}

/** The deployment at `index` of the boot order as `status` lists it, or an error naming the range. */
export function deploymentAt(sysroot: Sysroot, index: number, what: string): Deployment {
  const d = sysroot.deployments[index];
  if (!Number.isInteger(index) || index < 0 || !d) {
    throw new InputError(
      `There is no deployment ${index} to ${what}: the sysroot has ${sysroot.deployments.length === 1 ? 'only deployment 0' : `deployments 0 to ${sysroot.deployments.length - 1}`}.`,
      'Give an index as `apt-ostree status` lists the deployments (0 = the first).',
    );
  }
  return d;
}
