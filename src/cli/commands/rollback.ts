/** `rollback`: make the rollback deployment the default for the next boot (engine/deployments/rollback.ts). */
import { describeDeployment } from '../../engine/deployments/deploy.js';
import { maybeReboot } from '../../engine/deployments/reboot.js';
import { rollback } from '../../engine/deployments/rollback.js';
import { bool, transactionOptions, type CommandContext } from '../context.js';

export async function run(ctx: CommandContext): Promise<number> {
  const { sysroot, target, previous } = await rollback(transactionOptions(ctx, 'rollback'));
  process.stdout.write(
    `Default deployment is now ${describeDeployment(sysroot, target)}; the previous default ${describeDeployment(sysroot, previous)} is the rollback.\n`,
  );
  if (bool(ctx.argv, 'reboot')) await maybeReboot(ctx, sysroot);
  else if (sysroot.isBootedSystem) process.stdout.write('Run `systemctl reboot` to start using it.\n');
  return 0;
}
