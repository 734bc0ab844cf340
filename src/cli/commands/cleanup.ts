/** `cleanup`: free space (engine/cleanup.ts); -p, -r, -b, -m say what to remove. */
import { InputError } from '../../errors.js';
import { cleanupDeployments, type CleanupCandidates, type CleanupResult } from '../../engine/cleanup.js';
import { formatBytes } from '../../output/reporter.js';
import { transactionOptions, type CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { CLEANUP } from '../specs/cleanup.js';

export async function run(ctx: CommandContext<ArgsOf<typeof CLEANUP>>): Promise<number> {
  const { pending, rollback, base, repomd } = ctx.args;
  const want = { pending, rollback, base, repomd };
  if (!Object.values(want).some(Boolean)) {
    throw new InputError('cleanup needs to know what to remove.', 'Give at least one of -p/--pending, -r/--rollback, -b/--base, -m/--repomd.');
  }
  const result = await cleanupDeployments({ ...transactionOptions(ctx, 'cleanup'), ...want });
  process.stdout.write(renderCleanup(result, ctx.sysroot).join('\n') + '\n');
  return 0;
}

function renderCleanup(r: CleanupResult, sysroot: string): string[] {
  const out: string[] = [];
  const kept = (c: CleanupCandidates, kind: string) =>
    c.pinned.map((d) => `Keeping the ${kind} deployment ${d}: it is pinned (ostree admin pin --unpin to allow removing it).`);
  if (r.pending) {
    out.push(...kept(r.pending, 'pending'));
    if (!r.pending.found) out.push(r.pending.booted ? 'No pending deployment.' : `No pending deployment: ${sysroot} is not the running system, so nothing is staged or pending.`);
  }
  if (r.rollback) {
    out.push(...kept(r.rollback, 'rollback'));
    if (!r.rollback.found) out.push('No rollback deployment.');
  }
  if (r.listsRemoved) out.push('Removed the cached package lists.');
  out.push(...r.removed.map((d) => `Removed deployment ${d.description}.`));
  out.push(...r.removedRefs.map((ref) => `Removed the unused ref ${ref}.`));
  if (r.keptRemoved?.length) out.push(`Removed ${r.keptRemoved.length} kept package${r.keptRemoved.length === 1 ? '' : 's'} no deployment layers: ${r.keptRemoved.map((f) => f.replace(/\.deb$/, '')).join(', ')}.`);
  const parts: string[] = [];
  if (r.repositoryFreed) {
    const { bytes, objects } = r.repositoryFreed;
    parts.push(`${formatBytes(bytes)} from the repository (${objects} object${objects === 1 ? '' : 's'})`);
  }
  if (r.cacheFreed !== undefined) parts.push(`${formatBytes(r.cacheFreed)} of package cache`);
  const ids = r.removed.map((d) => d.id.slice(0, 12) + d.id.slice(64));
  out.push(`Deployments removed: ${ids.length}${ids.length ? ` (${ids.join(', ')})` : ''}`);
  if (parts.length) out.push(`Freed: ${parts.join(', ')}`);
  return out;
}
