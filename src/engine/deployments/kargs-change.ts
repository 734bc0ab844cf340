/**
 * Reading and changing a deployment's kernel arguments (`kargs`). Reading takes the boot
 * entries (no root, no lock). A change is a transaction that writes a NEW deployment of the
 * default deployment's commit and origin with the new argument list, made the default
 * (rpm-ostree's behaviour: existing deployments never change, so the old arguments stay one
 * rollback away). `deployIndex` and `importProcCmdline` only choose which arguments the edits
 * start from, as in rpm-ostree. The editing itself is kargs.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AptOstreeError, InputError, UnchangedError } from '../../errors.js';
import { readGVariant, vardictToObject } from '../../ostree/gvariant.js';
import type { OperationOptions } from '../transaction/transaction.js';
import { runOnSysroot } from './sysroot-transaction.js';
import { deployNew, describeDeployment, dropSuperseded } from './deploy.js';
import { applyKargEdits, editorText, kargsFromProcCmdline, parseEditorText, sameKargs, type KargEdits } from './kargs.js';
import { openSysroot, type Deployment, type Sysroot } from './sysroot.js';

/** Where the arguments start from: the default deployment unless one of these says otherwise. */
export interface KargsSource {
  /** The deployment of this index in the sysroot (0 is the default). */
  deployIndex?: number;
  /** The running kernel's arguments, /proc/cmdline. */
  importProcCmdline?: boolean;
}

export interface KargsChangeOptions extends OperationOptions, KargsSource {
  edits: KargEdits;
  /** Edit the arguments in $VISUAL/$EDITOR instead (edits is then empty). */
  editor?: boolean;
  unchangedExit77?: boolean;
}

export interface KargsChangeResult {
  /** The sysroot as the change left it. */
  sysroot: Sysroot;
  /** The new default deployment, and whether it is staged (on the running system). */
  added: Deployment;
  staged: boolean;
  /** Its kernel arguments. */
  kargs: string[];
}

/** The kernel arguments the source names, as `kargs` prints them. */
export function readKargs(opts: { sysrootPath: string; os?: string } & KargsSource): string[] {
  // Read-only (kargs without edits): no transaction, no lock.
  const sysroot = openSysroot(opts.sysrootPath);
  return sourceKargs(sysroot, sysroot.resolveOs(opts.os), opts).kargs;
}

export async function changeKargs(opts: KargsChangeOptions): Promise<KargsChangeResult> {
  return runOnSysroot(opts, 'all', async (handle) => {
    const { tx, sysroot, os } = handle;
    const base = sysroot.defaultDeployment(os);
    if (!base) throw new AptOstreeError(`The stateroot '${os}' has no deployment.`, { hint: 'Deploy one first.' });
    // The new deployment gets this origin as it is: a damaged one is refused, not copied.
    const origin = sysroot.requireOrigin(base);
    const source = sourceKargs(sysroot, os, opts);
    let wanted: string[];
    if (opts.editor) {
      const file = join(tx.workDir('kargs-editor'), 'kernel-arguments');
      writeFileSync(file, editorText(source.kargs));
      const { editInEditor } = await import('../../system/editor.js');
      await editInEditor(file, tx.signal);
      tx.throwIfCancelled();
      wanted = parseEditorText(readFileSync(file, 'utf8'));
    } else {
      wanted = applyKargEdits(source.kargs, opts.edits);
    }
    if (sameKargs(wanted, source.kargs) || sameKargs(wanted, kargsOf(base, sysroot))) {
      throw new UnchangedError('Kernel arguments unchanged', Boolean(opts.unchangedExit77));
    }
    tx.reporter.debug(`kernel arguments of ${source.from}: ${source.kargs.join(' ')}; new: ${wanted.join(' ')}`);
    const result = await deployNew(tx, sysroot, { os, revision: base.checksum, origin, kargs: wanted, prune: false });
    const dropped = await dropSuperseded(tx, sysroot, result, os);
    if (dropped.length) tx.reporter.info(`Removed the older deployment${dropped.length > 1 ? 's' : ''} ${dropped.map((d) => describeDeployment(sysroot, d)).join(', ')}, as ostree admin deploy does`);
    // dropSuperseded undeployed through ostree: the list changed again since the deploy.
    return { sysroot: dropped.length ? handle.reload() : result.sysroot, added: result.added, staged: result.staged, kargs: wanted };
  });
}

/** The deployment whose arguments the edits start from, and those arguments. */
function sourceKargs(sysroot: Sysroot, os: string, source: KargsSource): { from: string; kargs: string[] } {
  if (source.importProcCmdline) {
    return { from: '/proc/cmdline', kargs: kargsFromProcCmdline(readFileSync('/proc/cmdline', 'utf8')) };
  }
  if (source.deployIndex !== undefined) {
    const d = sysroot.deployments[source.deployIndex];
    if (!d) {
      throw new InputError(`--deploy-index ${source.deployIndex}: there is no such deployment (the sysroot has ${sysroot.deployments.length}).`, 'See them with `apt-ostree status`; 0 is the default.');
    }
    return { from: `deployment ${source.deployIndex}`, kargs: kargsOf(d, sysroot) };
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
