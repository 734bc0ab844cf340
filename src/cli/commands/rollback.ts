/**
 * `rollback`: make the rollback deployment the default for the next boot, keeping the other
 * deployments in order (a second rollback swaps back). Nothing is deployed: only the boot
 * configuration changes (see engine/deployments/bootconfig.ts). Refused while a staged deployment is
 * pending on the running system, like rpm-ostree.
 */
import { AptOstreeError } from '../../errors.js';
import { setDefaultDeployment } from '../../engine/deployments/bootconfig.js';
import { deploymentId, describeDeployment } from '../../engine/deployments/deploy.js';
import { maybeReboot } from '../../engine/deployments/reboot.js';
import { Sysroot } from '../../engine/deployments/sysroot.js';
import { Transaction } from '../../engine/transaction/transaction.js';
import { bool, commandLine, lockWaitOf, type CommandContext } from '../context.js';

export async function run(ctx: CommandContext): Promise<number> {
  Sysroot.refuseDamagedOrigins(ctx.sysroot, ctx.os, { keepDefault: true });
  const result = await Transaction.run(
    {
      sysroot: ctx.sysroot,
      command: commandLine(),
      title: 'rollback',
      reporter: ctx.reporter,
      lockWaitSeconds: lockWaitOf(ctx.argv),
    },
    async (tx) => {
      const sysroot = Sysroot.load(ctx.sysroot);
      const os = sysroot.resolveOs(ctx.os);
      // Rollback reads no origin (moving away from a damaged one is a repair), but ostree
      // cannot load a sysroot with an origin that is not a key file.
      sysroot.assertOriginsLoadable();
      if (sysroot.deployments.some((d) => d.staged)) {
        throw new AptOstreeError('A staged deployment is pending; drop it with `apt-ostree cleanup -p` before rolling back.', {
          hint: 'Or reboot into it first; `apt-ostree status` shows it.',
        });
      }
      const target = sysroot.rollbackDeployment(os);
      if (!target) {
        throw new AptOstreeError(`There is no rollback deployment: the stateroot '${os}' has only ${sysroot.deploymentsOf(os).length === 1 ? 'one deployment' : 'no deployment'}.`, {
          hint: 'A rollback needs a previous deployment; `apt-ostree status` lists them.',
        });
      }
      const from = sysroot.defaultDeployment(os)!;
      ctx.reporter.info(`Moving '${deploymentId(target)}' to be the first deployment`);
      await tx.reporter.task('Writing the new boot order', () => setDefaultDeployment(tx, sysroot, target));
      return { sysroot: Sysroot.load(ctx.sysroot), target, from, os };
    },
  );
  const { sysroot, target, from } = result;
  const now = sysroot.deployments.find((d) => d.path === target.path) ?? target;
  process.stdout.write(
    `Default deployment is now ${describeDeployment(sysroot, now)}; the previous default ${describeDeployment(sysroot, from)} is the rollback.\n`,
  );
  if (bool(ctx.argv, 'reboot')) await maybeReboot(ctx, sysroot);
  else if (sysroot.isBootedSystem) process.stdout.write('Run `systemctl reboot` to start using it.\n');
  return 0;
}
