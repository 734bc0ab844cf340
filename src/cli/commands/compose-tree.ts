import { resolve } from 'node:path';
import { InputError, UnchangedError } from '../../errors.js';
import { requireRoot } from '../../engine/transaction/transaction.js';
import { composeTree, writeCommitId } from '../../image/compose.js';
import { bool, str, type CommandContext } from '../context.js';

export async function run(ctx: CommandContext): Promise<number> {
  const manifestPath = str(ctx.argv, 'manifest');
  const repo = str(ctx.argv, 'repo');
  if (!manifestPath) throw new InputError('compose tree needs a manifest.', 'Usage: apt-ostree compose tree MANIFEST --repo REPO');
  if (!repo) throw new InputError('compose tree needs --repo.', 'Usage: apt-ostree compose tree MANIFEST --repo REPO');
  const dryRun = bool(ctx.argv, 'dry-run');
  const unchanged77 = bool(ctx.argv, 'unchanged-exit-77');
  // Reading and resolving need no privileges; building and committing a tree do.
  if (!dryRun) requireRoot(ctx.command);
  const cacheDir = str(ctx.argv, 'cachedir');
  const r = await composeTree({ manifestPath, repo: resolve(repo), cacheDir: cacheDir ? resolve(cacheDir) : undefined, dryRun, reporter: ctx.reporter });
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
    writeCommitId(str(ctx.argv, 'write-commitid-to'), r.unchangedCommit);
    throw new UnchangedError(`No changes (inputhash ${r.inputhash.slice(0, 16)}…): ${r.ref} is already ${r.unchangedCommit}; nothing committed.`, unchanged77);
  }
  writeCommitId(str(ctx.argv, 'write-commitid-to'), r.checksum!);
  ctx.reporter.info(`${r.packages.length} packages (${r.downloaded ?? 0} downloaded, ${r.cached ?? 0} from the cache)`);
  process.stdout.write(`${r.ref} => ${r.checksum} (version ${r.version})\n`);
  return 0;
}
