import { resolve } from 'node:path';
import { InputError, UnchangedError } from '../../errors.js';
import { validateKarg } from '../../engine/deployments/kargs.js';
import { requireRoot } from '../../engine/transaction/transaction.js';
import { composeCommit, writeCommitId } from '../../image/compose.js';
import { parseMetadataArgs } from '../../image/refs.js';
import { describeSigning, resolveSigning, unchangedSigningNote } from '../../image/signing.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { COMPOSE_COMMIT } from '../specs/compose.js';

export async function run(ctx: CommandContext<ArgsOf<typeof COMPOSE_COMMIT>>): Promise<number> {
  const { rootfs, repo, ref } = ctx.args;
  if (!rootfs) throw new InputError('compose commit needs the root filesystem directory.', 'Usage: apt-ostree compose commit ROOTFS --repo REPO --ref REF');
  if (!repo || !ref) throw new InputError(`compose commit needs ${!repo ? '--repo' : '--ref'}.`, 'Usage: apt-ostree compose commit ROOTFS --repo REPO --ref REF');
  const metadata = parseMetadataArgs(ctx.args.metadata);
  const kargs = ctx.args.karg;
  for (const k of kargs) validateKarg(k, '--karg', { single: true });
  requireRoot(ctx.command);
  const sign = await resolveSigning(ctx.args);
  const r = await composeCommit({
    sign,
    rootfs,
    repo: resolve(repo),
    ref,
    version: ctx.args.version,
    metadata,
    kernel: ctx.args.kernel,
    kargs,
    inPlace: ctx.args.inPlace,
    reporter: ctx.reporter,
  });
  writeCommitId(ctx.args.writeCommitidTo, r.checksum);
  if (!r.committed) {
    const unchanged = `the tree is the same as ${ref}'s commit ${r.checksum}`;
    // A new signature is a change to publish (a file the web server must serve): exit 0.
    if (r.existingSigning === 'signed') {
      process.stdout.write(`No new commit: ${unchanged}; signed it with ${describeSigning(sign!)}.\n`);
      return 0;
    }
    throw new UnchangedError(`No changes: ${unchanged}; nothing committed${unchangedSigningNote(r.existingSigning, sign)}.`, ctx.args.unchangedExit77);
  }
  process.stdout.write(`${ref} => ${r.checksum}${sign ? ' (signed)' : ''}\n`);
  ctx.reporter.info(`${r.packages.length} packages${r.convert.kernel && !r.convert.kernel.placeholder ? `, kernel ${r.convert.kernel.version}` : ''}; ${r.convert.tmpfilesLines} tmpfiles.d entries, ${r.convert.sysusersLines} sysusers.d entries`);
  return 0;
}
