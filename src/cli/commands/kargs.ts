/**
 * `kargs`: print or change kernel arguments. Printing reads the boot entries (no root, no
 * lock). A change is a transaction that writes a NEW deployment of the default deployment's
 * commit and origin with the new argument list, made the default (rpm-ostree's behaviour:
 * existing deployments never change, so the old arguments stay one rollback away).
 * `--deploy-index N` and `--import-proc-cmdline` only choose which arguments the edits start
 * from, as in rpm-ostree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AptOstreeError, InputError, UnchangedError } from '../../errors.js';
import { deployNew, describeDeployment, dropSuperseded } from '../../engine/deployments/deploy.js';
import { applyKargEdits, editorText, kargsFromProcCmdline, parseEditorText, sameKargs, validateKarg, type KargEdits } from '../../engine/deployments/kargs.js';
import { maybeReboot } from '../../engine/deployments/reboot.js';
import { Sysroot, type Deployment } from '../../engine/deployments/sysroot.js';
import { Transaction } from '../../engine/transaction/transaction.js';
import { readGVariant, vardictToObject } from '../../ostree/gvariant.js';
import { bool, commandLine, lockWaitOf, str, strs, type CommandContext } from '../context.js';

interface KargsArgs {
  edits: KargEdits;
  editor: boolean;
  deployIndex?: number;
  importProcCmdline: boolean;
  unchangedExit77: boolean;
  reboot: boolean;
}

function parseArgs(ctx: CommandContext): KargsArgs {
  const edits: KargEdits = {
    append: strs(ctx.argv, 'append'),
    appendIfMissing: strs(ctx.argv, 'append-if-missing'),
    delete: strs(ctx.argv, 'delete'),
    deleteIfPresent: strs(ctx.argv, 'delete-if-present'),
    replace: strs(ctx.argv, 'replace'),
  };
  const optionOf: Record<keyof KargEdits, string> = {
    append: '--append',
    appendIfMissing: '--append-if-missing',
    delete: '--delete',
    deleteIfPresent: '--delete-if-present',
    replace: '--replace',
  };
  for (const [k, list] of Object.entries(edits) as Array<[keyof KargEdits, string[]]>) {
    for (const a of list) validateKarg(a, optionOf[k]);
  }
  for (const a of edits.replace ?? []) {
    if (!a.includes('=')) throw new InputError(`--replace ${a}: give KEY=NEWVALUE or KEY=VALUE=NEWVALUE.`, 'For example --replace console=ttyS0=ttyS1.');
  }
  const editor = bool(ctx.argv, 'editor');
  const anyEdit = Object.values(edits).some((l) => l.length > 0);
  if (editor && anyEdit) {
    throw new InputError('--editor cannot be combined with --append, --append-if-missing, --delete, --delete-if-present or --replace.', 'Make all the changes in the editor, or none there.');
  }
  let deployIndex: number | undefined;
  const rawIndex = str(ctx.argv, 'deploy-index');
  if (rawIndex !== undefined) {
    if (!/^\d+$/.test(rawIndex)) throw new InputError(`--deploy-index ${rawIndex}: not a deployment index.`, 'Give a number: 0 is the default deployment, 1 the next, as `apt-ostree status` lists them.');
    deployIndex = Number(rawIndex);
  }
  const importProcCmdline = bool(ctx.argv, 'import-proc-cmdline');
  if (importProcCmdline && deployIndex !== undefined) {
    throw new InputError('--import-proc-cmdline and --deploy-index both choose where the arguments start from; give one.', 'Use one of them.');
  }
  const reboot = bool(ctx.argv, 'reboot');
  if (reboot && !editor && !anyEdit) throw new InputError('--reboot needs a change of kernel arguments.', 'Add --append, --delete, --replace or --editor, or reboot with `systemctl reboot`.');
  return { edits, editor, deployIndex, importProcCmdline, unchangedExit77: bool(ctx.argv, 'unchanged-exit-77'), reboot };
}

/** The deployment whose arguments the edits start from, and those arguments. */
function sourceKargs(sysroot: Sysroot, os: string, args: KargsArgs): { from: string; kargs: string[] } {
  if (args.importProcCmdline) {
    return { from: '/proc/cmdline', kargs: kargsFromProcCmdline(readFileSync('/proc/cmdline', 'utf8')) };
  }
  if (args.deployIndex !== undefined) {
    const d = sysroot.deployments[args.deployIndex];
    if (!d) {
      throw new InputError(`--deploy-index ${args.deployIndex}: there is no such deployment (the sysroot has ${sysroot.deployments.length}).`, 'See them with `apt-ostree status`; 0 is the default.');
    }
    return { from: `deployment ${args.deployIndex}`, kargs: kargsOf(d, sysroot) };
  }
  const d = sysroot.defaultDeployment(os);
  if (!d) throw new AptOstreeError(`The stateroot '${os}' has no deployment.`, { hint: 'Deploy one first.' });
  return { from: 'the default deployment', kargs: kargsOf(d, sysroot) };
}

/**
 * A deployment's kernel arguments. A staged deployment has no boot entry yet: ostree keeps
 * them in /run/ostree/staged-deployment (an a{sv} with "kargs" when they were given, else
 * they are those of its "merge-deployment").
 */
function kargsOf(d: Deployment, sysroot?: Sysroot): string[] {
  if (!d.staged) return d.kargs;
  try {
    const dict = vardictToObject(readGVariant('a{sv}', readFileSync('/run/ostree/staged-deployment')));
    const k = dict.kargs;
    if (Array.isArray(k) && k.every((x) => typeof x === 'string')) return (k as string[]).filter((a) => !a.startsWith('ostree='));
    const merge = dict['merge-deployment'];
    const name = merge instanceof Map ? merge.get('name') : undefined;
    const mergeName = name && typeof name === 'object' && 'value' in name ? name.value : name;
    const from = sysroot?.deployments.find((x) => !x.staged && `${x.checksum}.${x.serial}` === mergeName);
    if (k === undefined && from) return from.kargs;
  } catch {
    /* fall through */
  }
  throw new AptOstreeError('Cannot read the kernel arguments of the staged deployment.', {
    hint: 'Drop it with `apt-ostree cleanup -p`, or reboot into it first.',
  });
}

export async function run(ctx: CommandContext): Promise<number> {
  const args = parseArgs(ctx);
  const modifying = args.editor || Object.values(args.edits).some((l) => l.length > 0);
  if (!modifying) {
    const sysroot = Sysroot.load(ctx.sysroot);
    const os = sysroot.resolveOs(ctx.os);
    process.stdout.write(`${sourceKargs(sysroot, os, args).kargs.join(' ')}\n`);
    return 0;
  }

  Sysroot.refuseDamagedOrigins(ctx.sysroot, ctx.os);
  const result = await Transaction.run(
    {
      sysroot: ctx.sysroot,
      command: commandLine(),
      title: 'kargs',
      reporter: ctx.reporter,
      lockWaitSeconds: lockWaitOf(ctx.argv),
    },
    async (tx) => {
      const sysroot = Sysroot.load(ctx.sysroot);
      const os = sysroot.resolveOs(ctx.os);
      const base = sysroot.defaultDeployment(os);
      if (!base) throw new AptOstreeError(`The stateroot '${os}' has no deployment.`, { hint: 'Deploy one first.' });
      // The new deployment gets this origin as it is: a damaged one is refused, not copied.
      const origin = sysroot.requireOrigin(base);
      const source = sourceKargs(sysroot, os, args);
      let wanted: string[];
      if (args.editor) {
        const file = join(tx.workDir('kargs-editor'), 'kernel-arguments');
        writeFileSync(file, editorText(source.kargs));
        await runEditor(file, tx.signal);
        tx.throwIfCancelled();
        wanted = parseEditorText(readFileSync(file, 'utf8'));
      } else {
        wanted = applyKargEdits(source.kargs, args.edits);
      }
      if (sameKargs(wanted, source.kargs) || sameKargs(wanted, kargsOf(base, sysroot))) {
        throw new UnchangedError('Kernel arguments unchanged', args.unchangedExit77);
      }
      tx.reporter.debug(`kernel arguments of ${source.from}: ${source.kargs.join(' ')}; new: ${wanted.join(' ')}`);
      const result = await deployNew(tx, sysroot, { os, revision: base.checksum, origin, kargs: wanted });
      const dropped = await dropSuperseded(tx, sysroot, result, os);
      if (dropped.length) tx.reporter.info(`Removed the older deployment${dropped.length > 1 ? 's' : ''} ${dropped.map((d) => describeDeployment(sysroot, d)).join(', ')}, as ostree admin deploy does`);
      return { ...result, sysroot: Sysroot.load(ctx.sysroot), wanted };
    },
  );
  process.stdout.write(
    `Kernel arguments updated: ${result.staged ? 'staged' : 'new'} deployment ${describeDeployment(result.sysroot, result.added)} is the default for the next boot.\n` +
      `${result.wanted.join(' ')}\n`,
  );
  if (args.reboot) await maybeReboot(ctx, result.sysroot);
  else if (result.sysroot.isBootedSystem) process.stdout.write('Run `systemctl reboot` to start using it.\n');
  return 0;
}

/**
 * $VISUAL, then $EDITOR, then Debian's `editor` alternative. The variable is split at spaces
 * (for "vim -u NONE"), never handed to a shell.
 */
async function runEditor(file: string, signal: AbortSignal): Promise<void> {
  const { run } = await import('../../system/run.js');
  const spec = (process.env.VISUAL || process.env.EDITOR || 'editor').trim().split(/\s+/);
  await run(spec[0]!, [...spec.slice(1), file], {
    interactive: true,
    signal,
    what: `the editor (${spec[0]})`,
    hint: 'Set $EDITOR to an editor that exits 0 after saving; nothing was changed.',
  });
}
