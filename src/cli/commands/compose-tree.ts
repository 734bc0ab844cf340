import { resolve } from 'node:path';
import { InputError, UnchangedError } from '../../errors.js';
import { requireRoot } from '../../engine/transaction/transaction.js';
import { composeTree, writeCommitId } from '../../image/compose.js';
import { describeSigning, resolveSigning, unchangedSigningNote } from '../../image/signing.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { COMPOSE_TREE } from '../specs/compose.js';

export async function run(ctx: CommandContext<ArgsOf<typeof COMPOSE_TREE>>): Promise<number> {
  const { manifest: manifestPath, repo } = ctx.args;
  if (!manifestPath) throw new InputError('compose tree needs a manifest.', 'Usage: apt-ostree compose tree MANIFEST --repo REPO');
  if (!repo) throw new InputError('compose tree needs --repo.', 'Usage: apt-ostree compose tree MANIFEST --repo REPO');
  const { dryRun, unchangedExit77: unchanged77 } = ctx.args;
  // Reading and resolving need no privileges; building and committing a tree do.
  if (!dryRun) requireRoot(ctx.command);
  const sign = await resolveSigning(ctx.args);
  const cacheDir = ctx.args.cachedir;
  const r = await composeTree({ manifestPath, repo: resolve(repo), cacheDir: cacheDir ? resolve(cacheDir) : undefined, dryRun, sign, reporter: ctx.reporter });
  if (dryRun) {
    const out = [
      `Ref: ${r.ref}`,
      `Inputhash: ${r.inputhash}`,
      `Packages (${r.packages.length}):`,
      ...r.packages.map((p) => `  ${p.name} ${p.version} ${p.architecture}`),
      r.unchangedCommit ? `No changes: ${r.ref} is already ${r.unchangedCommit} with this inputhash; nothing would be committed.` : `Would commit ${r.ref} version ${r.version}.`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    return r.unchangedCommit && unchanged77 ? 77 : 0;
  }
  if (r.unchangedCommit) {
    writeCommitId(ctx.args.writeCommitidTo, r.unchangedCommit);
    const inputs = `(inputhash ${r.inputhash.slice(0, 16)}…): ${r.ref} is already ${r.unchangedCommit}`;
    // A new signature is a change to publish (a file the web server must serve): exit 0.
    if (r.existingSigning === 'signed') {
      process.stdout.write(`No new commit ${inputs}; signed it with ${describeSigning(sign!)}.\n`);
      return 0;
    }
    throw new UnchangedError(`No changes ${inputs}; nothing committed${unchangedSigningNote(r.existingSigning, sign)}.`, unchanged77);
  }
  writeCommitId(ctx.args.writeCommitidTo, r.checksum!);
  ctx.reporter.info(`${r.packages.length} packages (${r.downloaded ?? 0} downloaded, ${r.cached ?? 0} from the cache)`);
  process.stdout.write(`${r.ref} => ${r.checksum} (version ${r.version}${sign ? ', signed' : ''})\n`);
  return 0;
}
