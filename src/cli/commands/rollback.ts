/** `rollback`: make the rollback deployment the default for the next boot (engine/deployments/rollback.ts). */
import { describeDeployment } from '../../engine/deployments/deploy.js';
import { maybeReboot } from '../../engine/deployments/reboot.js';
import { rollback } from '../../engine/deployments/rollback.js';
import { InputError } from '../../errors.js';
import { transactionOptions, type CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { ROLLBACK } from '../specs/rollback.js';

export async function run(ctx: CommandContext<ArgsOf<typeof ROLLBACK>>): Promise<number> {
  const to = ctx.args.to;
  if (to !== undefined && (!Number.isInteger(to) || to < 0)) throw new InputError(`--to takes a deployment index, a whole number 0 or more; got ${to}.`, 'Give the index as `apt-ostree status` lists the deployments.');
  const { sysroot, target, previous } = await rollback({ ...transactionOptions(ctx, to === undefined ? 'rollback' : `rollback --to ${to}`), to });
  process.stdout.write(
    `Default deployment is now ${describeDeployment(sysroot, target)}; the previous default ${describeDeployment(sysroot, previous)} is the rollback.\n`,
  );
  if (ctx.args.reboot) await maybeReboot(ctx, sysroot);
  else if (sysroot.isBootedSystem) process.stdout.write('Run `systemctl reboot` to start using it.\n');
  return 0;
}
