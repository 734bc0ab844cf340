import { withDeploymentApt } from '../../engine/layering/apt-lists.js';
import { refreshLists } from '../../engine/layering/lists-freshness.js';
import { Transaction } from '../../engine/transaction/transaction.js';
import { transactionOptions, type CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { REFRESH_MD } from '../specs/search.js';

export async function run(ctx: CommandContext<ArgsOf<typeof REFRESH_MD>>): Promise<number> {
  // Named 'refresh-md' in the lock owner file and the root message, not by the command line.
  await Transaction.run(
    { ...transactionOptions(ctx, 'refresh-md'), command: 'refresh-md' },
    async (tx) => {
      await withDeploymentApt(ctx.sysroot, ctx.os, { create: true, workDir: tx.workDir('refresh-md'), reporter: ctx.reporter }, (apt) =>
        refreshLists(apt, ctx.reporter, tx.signal),
      );
    },
  );
  process.stdout.write('Package lists are up to date.\n');
  return 0;
}
