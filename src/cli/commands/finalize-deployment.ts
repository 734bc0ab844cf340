/** `finalize-deployment`: lift the finalization lock of the staged deployment and reboot into it (engine/deployments/finalization.ts). */
import { unlockStagedDeployment } from '../../engine/deployments/finalization.js';
import { maybeReboot } from '../../engine/deployments/reboot.js';
import { transactionOptions, type CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { FINALIZE_DEPLOYMENT } from '../specs/upgrade.js';

export async function run(ctx: CommandContext<ArgsOf<typeof FINALIZE_DEPLOYMENT>>): Promise<number> {
  const { checksum, allowMissingChecksum, allowUnlocked } = ctx.args;
  const r = await unlockStagedDeployment({ ...transactionOptions(ctx, 'finalize-deployment'), checksum: checksum || undefined, allowMissingChecksum, allowUnlocked });
  ctx.reporter.end();
  process.stdout.write(`${r.wasLocked ? 'Unlocked the staged deployment' : 'The staged deployment was not locked'} (base ${r.base.slice(0, 12)}); it is finalized at shutdown.\n`);
  // As rpm-ostree: the point of finalizing is the reboot.
  await maybeReboot(ctx, r.sysroot);
  return 0;
}
