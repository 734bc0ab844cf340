import { resolve } from 'node:path';
import { InputError, UnchangedError } from '../../errors.js';
import { validateKarg } from '../../engine/deployments/kargs.js';
import { requireRoot } from '../../engine/transaction/transaction.js';
import { composeCommit, writeCommitId } from '../../image/compose.js';
import { parseMetadataArgs } from '../../image/refs.js';
import { bool, str, strs, type CommandContext } from '../context.js';

export async function run(ctx: CommandContext): Promise<number> {
  const rootfs = str(ctx.argv, 'rootfs');
  const repo = str(ctx.argv, 'repo');
  const ref = str(ctx.argv, 'ref');
  if (!rootfs) throw new InputError('compose commit needs the root filesystem directory.', 'Usage: apt-ostree compose commit ROOTFS --repo REPO --ref REF');
  if (!repo || !ref) throw new InputError(`compose commit needs ${!repo ? '--repo' : '--ref'}.`, 'Usage: apt-ostree compose commit ROOTFS --repo REPO --ref REF');
  const metadata = parseMetadataArgs(strs(ctx.argv, 'metadata'));
  const kargs = strs(ctx.argv, 'karg');
  for (const k of kargs) validateKarg(k, '--karg', { single: true });
  requireRoot(ctx.command);
  const r = await composeCommit({
    rootfs,
    repo: resolve(repo),
    ref,
    version: str(ctx.argv, 'version'),
    metadata,
    kernel: bool(ctx.argv, 'kernel'),
    kargs,
    inPlace: bool(ctx.argv, 'in-place'),
    reporter: ctx.reporter,
  });
  writeCommitId(str(ctx.argv, 'write-commitid-to'), r.checksum);
  if (!r.committed) {
    throw new UnchangedError(`No changes: the tree is the same as ${ref}'s commit ${r.checksum}; nothing committed.`, bool(ctx.argv, 'unchanged-exit-77'));
  }
  process.stdout.write(`${ref} => ${r.checksum}\n`);
  ctx.reporter.info(`${r.packages.length} packages${r.convert.kernel && !r.convert.kernel.placeholder ? `, kernel ${r.convert.kernel.version}` : ''}; ${r.convert.tmpfilesLines} tmpfiles.d entries, ${r.convert.sysusersLines} sysusers.d entries`);
  return 0;
}
