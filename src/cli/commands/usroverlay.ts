/** `usroverlay`: a writable overlay on /usr of the running deployment (engine/deployments/usroverlay.ts). */
import { InputError } from '../../errors.js';
import { mountUsrOverlay } from '../../engine/deployments/usroverlay.js';
import { transactionOptions, type CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { USROVERLAY } from '../specs/usroverlay.js';

export async function run(ctx: CommandContext<ArgsOf<typeof USROVERLAY>>): Promise<number> {
  const { hotfix, transient } = ctx.args;
  if (hotfix && transient) throw new InputError('--hotfix and --transient cannot be used together.', 'Give one of them, or neither for an overlay that lasts until the reboot.');
  const mode = await mountUsrOverlay({ ...transactionOptions(ctx, 'usroverlay'), mode: hotfix ? 'hotfix' : transient ? 'transient' : 'development' });
  process.stdout.write(
    mode === 'hotfix'
      ? 'A writable overlay is mounted on /usr; its changes are kept across reboots (the booted deployment was cloned: `apt-ostree rollback` goes back to it).\n'
      : mode === 'transient'
        ? 'A read-only overlay is mounted on /usr: `LIBMOUNT_FORCE_MOUNT2=always mount -o remount,rw /usr` makes it writable. Its changes are lost at the next reboot.\n'
        : 'A writable overlay is mounted on /usr. Its changes are lost at the next reboot.\n',
  );
  return 0;
}
