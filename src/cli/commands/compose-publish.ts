import { resolve } from 'node:path';
import { InputError, UnchangedError } from '../../errors.js';
import { publish, validatePublish } from '../../image/publish.js';
import { resolveSigning } from '../../image/signing.js';
import { commandLine, type CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { COMPOSE_PUBLISH } from '../specs/compose.js';

export async function run(ctx: CommandContext<ArgsOf<typeof COMPOSE_PUBLISH>>): Promise<number> {
  const { repo: repoArg, keep } = ctx.args;
  if (!repoArg) throw new InputError('compose publish needs --repo.', 'Usage: apt-ostree compose publish --repo REPO [--gpg-sign KEYID --gpg-homedir DIR] [--deltas N] [--keep N]');
  const repo = resolve(repoArg);
  const deltas = ctx.args.deltas ?? 2;
  validatePublish({ repo, deltas, keep });
  const sign = await resolveSigning(ctx.args, 'summary');
  const r = await publish({ repo, deltas, keep, fromScratch: ctx.args.fromScratch, sign, reporter: ctx.reporter, command: commandLine(), lockWaitSeconds: ctx.args.lockWait });
  const refs = r.refs.map((x) => `${x.ref} => ${x.commit}`).join('\n');
  if (!r.changed) {
    // The refs on stdout, as after a publish: an error message is one line (a newline in it is shown escaped).
    process.stdout.write(`${refs}\n`);
    throw new UnchangedError(`Nothing to publish: the summary, deltas and pruning of ${repo} are up to date.`, ctx.args.unchangedExit77);
  }
  const parts = [
    r.pruned.length ? `pruned ${r.pruned.length} commit${r.pruned.length > 1 ? 's' : ''}` : '',
    r.deltasMade.length ? `made ${r.deltasMade.length} static delta${r.deltasMade.length > 1 ? 's' : ''}` : '',
    r.deltasDeleted.length ? `deleted ${r.deltasDeleted.length} delta${r.deltasDeleted.length > 1 ? 's' : ''} to pruned commits` : '',
    r.summaryWritten ? `wrote the summary${r.signed ? ' (signed)' : ''}` : '',
  ].filter(Boolean);
  process.stdout.write(`${refs}\nPublished ${repo}: ${parts.join(', ')}. Serve the directory with any web server (docs/publishing.md).\n`);
  return 0;
}
