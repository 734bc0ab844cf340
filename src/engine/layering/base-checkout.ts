/**
 * The base commit checked out once and kept, as the read-only lower layer of the overlay in
 * which every layering transaction on that base installs its packages.
 *
 * Why a kept checkout: the sandbox needs a root, and a hardlinked checkout of a large base
 * costs seconds (66,000 entries: ~2.7 s on 2 cores), more than a whole plain `apt-get install`.
 * The overlay never writes to its lower layer (every write lands in the transaction's upper
 * directory), so the checkout stays exactly the base commit and the next transaction on the same
 * base starts at once. Where the base is deployed, that deployment's tree is the lower layer
 * instead (deployedBase) and nothing is checked out: its /etc, the one part that is not the
 * commit's and that changes on a booted system, is hidden by a whiteout layer. Checking out only
 * the directories dpkg will touch was set aside: they are not known before maintainer scripts run.
 *
 * Made under the transaction's work directory and renamed in when complete, so a killed run
 * leaves no half checkout here. Kept: the checkouts of the bases of existing deployments;
 * the others go after each layering build, and all of them with `cleanup -b`. Files are
 * hardlinks to repository objects: a kept checkout costs its directories, not its data.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as ostree from '../../system/ostree.js';
import { listDir } from '../../system/fs.js';
import { baseCheckoutsDir } from '../state-paths.js';
import { removeTree, type Transaction } from '../transaction/transaction.js';
import type { Deployment } from '../deployments/sysroot.js';

/**
 * A deployment of `checksum` whose tree can be the overlay's lower layer instead of a checkout,
 * so that the first layering on a deployed base checks nothing out: its /usr is the commit's
 * (hardlinks to the same objects; the overlay never writes to them), and so is everything else
 * at its top but /etc, the admin's merged one, which the overlay hides (`hidden: ['etc']`). Not
 * a deployment whose /usr is unlocked (ostree admin unlock, usroverlay).
 */
export function deployedBase(deployments: readonly Deployment[], checksum: string): string | undefined {
  return deployments.find((d) => d.checksum === checksum && d.unlocked === 'none' && existsSync(join(d.path, 'usr')))?.path;
}

/** What a deployment's tree has at its top that its commit does not (deployedBase). */
export const DEPLOYMENT_ONLY = ['etc'];

export function keptBaseCheckout(sysrootPath: string, checksum: string): string | undefined {
  const dir = join(baseCheckoutsDir(sysrootPath), checksum);
  return existsSync(dir) ? dir : undefined;
}

/**
 * Check out `checksum` (hardlinks) to `scratch`, a path in the transaction's work directory,
 * then keep it; returns where it is kept.
 */
export async function makeBaseCheckout(sysrootPath: string, repo: string, checksum: string, scratch: string, signal: AbortSignal): Promise<string> {
  await ostree.checkout(repo, checksum, scratch, { hardlink: true }, { signal });
  return keepBaseCheckout(sysrootPath, checksum, scratch);
}

/** Keep a finished checkout of `checksum` made at `scratch` (same file system). */
export function keepBaseCheckout(sysrootPath: string, checksum: string, scratch: string): string {
  const dir = join(baseCheckoutsDir(sysrootPath), checksum);
  mkdirSync(baseCheckoutsDir(sysrootPath), { recursive: true });
  if (existsSync(dir)) removeTree(dir);
  renameSync(scratch, dir);
  return dir;
}

/**
 * Remove the kept checkouts of other commits than `keep`, in the background of the transaction
 * (moved into a work directory of it first: a removal cut short is then a leftover the next run
 * removes). Returns how many go.
 */
export function dropBaseCheckouts(tx: Transaction, sysrootPath: string, keep: Iterable<string> = []): number {
  const wanted = new Set(keep);
  let removed = 0;
  for (const name of listDir(baseCheckoutsDir(sysrootPath))) {
    if (wanted.has(name)) continue;
    const doomed = tx.workDir('old-base-checkout');
    renameSync(join(baseCheckoutsDir(sysrootPath), name), join(doomed, 'tree'));
    tx.discardWorkDir(doomed);
    removed++;
  }
  return removed;
}
