/** `apply-live`: the pending deployment onto the running system (engine/deployments/live.ts). */
import { applyLive, type ApplyLiveResult } from '../../engine/deployments/live.js';
import { renderDiffBlocks } from '../render/package-diff.js';
import { transactionOptions, type CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { APPLY_LIVE } from '../specs/apply-live.js';

export async function run(ctx: CommandContext<ArgsOf<typeof APPLY_LIVE>>): Promise<number> {
  const result = await applyLive({ ...transactionOptions(ctx, 'apply-live'), allowReplacement: ctx.args.allowReplacement, unchangedExit77: ctx.args.unchangedExit77 });
  ctx.reporter.end();
  process.stdout.write(renderApplied(result));
  return 0;
}

export function renderApplied(r: ApplyLiveResult): string {
  const out: string[] = [];
  const diff = renderDiffBlocks(r.plan.packages).trimEnd();
  if (diff) out.push(diff);
  const u = r.plan.usr;
  out.push(`Applied ${r.commit.slice(0, 12)} to the running system: ${u.add.length} new, ${u.replace.length} replaced, ${u.remove.length} removed under /usr${r.etcAdded.length ? `; ${r.etcAdded.length} new in /etc` : ''}.`);
  out.push('The changes are live now; the next boot starts the same deployment without the overlay.');
  return out.join('\n') + '\n';
}
