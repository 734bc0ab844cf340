/**
 * A writable overlay on /usr of the running deployment, through `ostree admin unlock`
 * (development mode: changes last until the reboot; hotfix: they are kept, in a clone of the
 * deployment; transient: read-only until remounted). For debugging only: package changes
 * belong in a new deployment (apt-ostree install).
 */
import { InputError } from '../../errors.js';
import * as ostree from '../../system/ostree.js';
import type { OperationOptions } from '../transaction/transaction.js';
import { runLocked } from './sysroot-transaction.js';

export type UsrOverlayMode = 'development' | 'hotfix' | 'transient';

export async function mountUsrOverlay(opts: OperationOptions & { mode: UsrOverlayMode }): Promise<UsrOverlayMode> {
  // Needs no stateroot and reads no origin: the booted deployment only.
  return runLocked(opts, async ({ tx, sysroot }) => {
    const booted = sysroot.booted;
    if (!sysroot.isBootedSystem || !booted) {
      throw new InputError(`usroverlay works on the running system only; ${sysroot.path} is not booted.`, 'Run it on the booted machine, without --sysroot.');
    }
    if (booted.unlocked !== 'none') {
      throw new InputError(`/usr of the booted deployment is already unlocked (${booted.unlocked}).`, 'Reboot to lock it again (a hotfix lasts until you roll back).');
    }
    // The mount happens at once; nothing to undo if a later step failed, as there is none.
    await tx.reporter.task('Mounting a writable overlay on /usr', () => ostree.adminUnlock(sysroot.path, opts.mode));
    return opts.mode;
  });
}
