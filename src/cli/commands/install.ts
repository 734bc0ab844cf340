import { AptOstreeError, InputError, UnchangedError } from '../../errors.js';
import { transactionOptions, type CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { INSTALL } from '../specs/install.js';
import { runLayerChange } from './package-change-common.js';

export async function run(ctx: CommandContext<ArgsOf<typeof INSTALL>>): Promise<number> {
  const { applyLive: live, reboot, dryRun, downloadOnly } = ctx.args;
  if (!live) return runLayerChange(ctx, { install: ctx.args.packages, uninstall: ctx.args.uninstall });
  const clash = reboot ? '--reboot' : dryRun ? '--dry-run' : downloadOnly ? '--download-only' : undefined;
  if (clash) throw new InputError(`--apply-live and ${clash} cannot be used together.`, 'Give one of them.');
  // Refused before the install when apply-live cannot run here (not booted, LiveFs off).
  const { applyLive, assertApplyLiveAllowed } = await import('../../engine/deployments/live.js');
  assertApplyLiveAllowed(ctx.sysroot);
  await runLayerChange(ctx, { install: ctx.args.packages, uninstall: ctx.args.uninstall });
  let result;
  try {
    result = await applyLive(transactionOptions(ctx, 'apply-live'));
  } catch (e) {
    // The install stands: say so, and what failed after it.
    if (e instanceof AptOstreeError && !(e instanceof UnchangedError)) e.message = `The packages are installed in the new deployment (it boots next), but applying it live failed: ${e.message}`;
    throw e;
  }
  ctx.reporter.end();
  const { renderApplied } = await import('./apply-live.js');
  process.stdout.write(renderApplied(result));
  return 0;
}
