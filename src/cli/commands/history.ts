/** `history`: the transactions recorded on the sysroot, newest first (engine/transaction/history.ts). Read-only. */
import { openSysroot } from '../../engine/deployments/sysroot.js';
import { readHistory, type HistoryDeployment, type HistoryEntry } from '../../engine/transaction/history.js';
import { historyPath } from '../../engine/state-paths.js';
import { InputError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { HISTORY } from '../specs/history.js';

export async function run(ctx: CommandContext<ArgsOf<typeof HISTORY>>): Promise<number> {
  const { limit } = ctx.args;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new InputError(`--limit takes a whole number of entries, 1 or more; got ${limit}.`, 'E.g. `apt-ostree history -n 10`.');
  // A path that is not a sysroot is said so (rather than "no transactions").
  openSysroot(ctx.sysroot);
  const { entries, damaged } = readHistory(ctx.sysroot);
  if (damaged) ctx.reporter.warn(`${historyPath(ctx.sysroot)}: ${damaged}`);
  const newestFirst = entries.reverse().slice(0, limit ?? entries.length);
  if (ctx.args.json) {
    process.stdout.write(JSON.stringify(newestFirst, null, 2) + '\n');
    return 0;
  }
  if (!newestFirst.length) {
    process.stdout.write('No transactions recorded yet.\n');
    return 0;
  }
  process.stdout.write(newestFirst.map(renderEntry).join('\n'));
  return 0;
}

function renderEntry(e: HistoryEntry): string {
  const lines = [`${e.start}  ${e.title}  (${e.outcome}, ${e['duration-seconds']} s)`, `  Command: ${e.command}`, `  By: ${e.user}${e.trigger === 'command' ? '' : ` (${e.trigger})`}`];
  if (e.from?.deployment !== e.to?.deployment) lines.push(`  Deployment: ${describe(e.from)} → ${describe(e.to)}`);
  else if (e.to) lines.push(`  Deployment: ${describe(e.to)} (unchanged)`);
  const p = e.packages;
  if (p) {
    for (const [label, list] of [['Changed', p.changed], ['Added', p.added], ['Removed', p.removed]] as const) {
      if (list.length) lines.push(`  ${label}: ${list.join(', ')}`);
    }
    if (p.omitted) lines.push(`  … and ${p.omitted} more package changes`);
  }
  if (e.error) lines.push(`  Error: ${e.error}`);
  return lines.join('\n') + '\n';
}

function describe(d: HistoryDeployment | undefined): string {
  if (!d) return 'none';
  const [checksum, serial] = d.deployment.split('.');
  return `${d.osname} ${d.version || 'no version'} (${checksum!.slice(0, 12)}.${serial}${d.staged ? ', staged' : ''})`;
}
