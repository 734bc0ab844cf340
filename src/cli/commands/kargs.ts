/** `kargs`: print or change kernel arguments (engine/deployments/kargs-change.ts). */
import { InputError } from '../../errors.js';
import { describeDeployment } from '../../engine/deployments/deploy.js';
import { validateKarg, type KargEdits } from '../../engine/deployments/kargs.js';
import { changeKargs, readKargs, type KargsSource } from '../../engine/deployments/kargs-change.js';
import { maybeReboot } from '../../engine/deployments/reboot.js';
import { transactionOptions, type CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { KARGS } from '../specs/kargs.js';

/** The option of each kind of edit. */
const EDIT_OPTIONS: Record<keyof KargEdits, string> = {
  append: '--append',
  appendIfMissing: '--append-if-missing',
  delete: '--delete',
  deleteIfPresent: '--delete-if-present',
  replace: '--replace',
};

export async function run(ctx: CommandContext<ArgsOf<typeof KARGS>>): Promise<number> {
  const { append, appendIfMissing, delete: del, deleteIfPresent, replace } = ctx.args;
  const edits: Required<KargEdits> = { append, appendIfMissing, delete: del, deleteIfPresent, replace };
  for (const [k, o] of Object.entries(EDIT_OPTIONS) as Array<[keyof KargEdits, string]>) {
    for (const a of edits[k]) validateKarg(a, o, { removal: k === 'delete' || k === 'deleteIfPresent' });
  }
  for (const a of edits.replace) {
    if (!a.includes('=')) throw new InputError(`--replace ${a}: give KEY=NEWVALUE or KEY=VALUE=NEWVALUE.`, 'For example --replace console=ttyS0=ttyS1.');
  }
  const { editor } = ctx.args;
  const anyEdit = Object.values(edits).some((l) => l.length > 0);
  if (editor && anyEdit) {
    throw new InputError('--editor cannot be combined with --append, --append-if-missing, --delete, --delete-if-present or --replace.', 'Make all the changes in the editor, or none there.');
  }
  const source: KargsSource = { importProcCmdline: ctx.args.importProcCmdline };
  const rawIndex = ctx.args.deployIndex;
  if (rawIndex !== undefined) {
    if (!/^\d+$/.test(rawIndex)) throw new InputError(`--deploy-index ${rawIndex}: not a deployment index.`, 'Give a number: 0 is the default deployment, 1 the next, as `apt-ostree status` lists them.');
    source.deployIndex = Number(rawIndex);
  }
  if (source.importProcCmdline && source.deployIndex !== undefined) {
    throw new InputError('--import-proc-cmdline and --deploy-index both choose where the arguments start from; give one.', 'Use one of them.');
  }
  const { reboot } = ctx.args;
  if (reboot && !editor && !anyEdit) throw new InputError('--reboot needs a change of kernel arguments.', 'Add --append, --delete, --replace or --editor, or reboot with `systemctl reboot`.');

  if (!editor && !anyEdit) {
    process.stdout.write(`${readKargs({ sysrootPath: ctx.sysroot, os: ctx.os, ...source }).join(' ')}\n`);
    return 0;
  }
  const result = await changeKargs({ ...transactionOptions(ctx, 'kargs'), ...source, edits, editor, unchangedExit77: ctx.args.unchangedExit77 });
  process.stdout.write(
    `Kernel arguments updated: ${result.staged ? 'staged' : 'new'} deployment ${describeDeployment(result.sysroot, result.added)} is the default for the next boot.\n` +
      `${result.kargs.join(' ')}\n`,
  );
  if (reboot) await maybeReboot(ctx, result.sysroot);
  else if (result.sysroot.isBootedSystem) process.stdout.write('Run `systemctl reboot` to start using it.\n');
  return 0;
}
