/**
 * `usroverlay`: a writable overlay on /usr of the running deployment, through
 * `ostree admin unlock` (development mode: changes last until the reboot; --hotfix: they are
 * kept, in a clone of the deployment; --transient: read-only until remounted). For debugging
 * only: package changes belong in a new deployment (apt-ostree install).
 */
import { InputError } from '../../errors.js';
import { Sysroot } from '../../engine/deployments/sysroot.js';
import { Transaction } from '../../engine/transaction/transaction.js';
import * as ostree from '../../system/ostree.js';
import { bool, commandLine, lockWaitOf, type CommandContext } from '../context.js';

export async function run(ctx: CommandContext): Promise<number> {
  const hotfix = bool(ctx.argv, 'hotfix');
  const transient = bool(ctx.argv, 'transient');
  if (hotfix && transient) throw new InputError('--hotfix and --transient cannot be used together.', 'Give one of them, or neither for an overlay that lasts until the reboot.');
  const mode = hotfix ? 'hotfix' : transient ? 'transient' : 'development';
  const state = await Transaction.run(
    { sysroot: ctx.sysroot, command: commandLine(), title: 'usroverlay', reporter: ctx.reporter, lockWaitSeconds: lockWaitOf(ctx.argv) },
    async (tx) => {
      const sysroot = Sysroot.load(ctx.sysroot);
      const booted = sysroot.booted;
      if (!sysroot.isBootedSystem || !booted) {
        throw new InputError(`usroverlay works on the running system only; ${sysroot.path} is not booted.`, 'Run it on the booted machine, without --sysroot.');
      }
      if (booted.unlocked !== 'none') {
        throw new InputError(`/usr of the booted deployment is already unlocked (${booted.unlocked}).`, 'Reboot to lock it again (a hotfix lasts until you roll back).');
      }
      // The mount happens at once; nothing to undo if a later step failed, as there is none.
      await tx.reporter.task('Mounting a writable overlay on /usr', () => ostree.adminUnlock(sysroot.path, mode));
      return mode;
    },
  );
  process.stdout.write(
    state === 'hotfix'
      ? 'A writable overlay is mounted on /usr; its changes are kept across reboots (the booted deployment was cloned: `apt-ostree rollback` goes back to it).\n'
      : state === 'transient'
        ? 'A read-only overlay is mounted on /usr: `mount -o remount,rw /usr` makes it writable. Its changes are lost at the next reboot.\n'
        : 'A writable overlay is mounted on /usr. Its changes are lost at the next reboot.\n',
  );
  return 0;
}
