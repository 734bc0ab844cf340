import { aptUpdate } from '../../system/apt.js';
import { withDeploymentApt } from '../../engine/layering/apt-lists.js';
import { Transaction } from '../../engine/transaction/transaction.js';
import { lockWaitOf, type CommandContext } from '../context.js';

export async function run(ctx: CommandContext): Promise<number> {
  await Transaction.run(
    { sysroot: ctx.sysroot, command: 'refresh-md', title: 'refresh-md', reporter: ctx.reporter, lockWaitSeconds: lockWaitOf(ctx.argv) },
    async (tx) => {
      await withDeploymentApt(ctx.sysroot, ctx.os, { create: true, workDir: tx.workDir('refresh-md'), reporter: ctx.reporter }, (apt) =>
        ctx.reporter.task('Updating package lists', () => aptUpdate(apt, { signal: tx.signal })),
      );
    },
  );
  process.stdout.write('Package lists are up to date.\n');
  return 0;
}
