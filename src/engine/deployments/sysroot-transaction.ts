/**
 * A transaction on one loaded sysroot: what every operation that changes deployments starts
 * with, written once. Damaged origins are refused before the lock (so a refused command
 * leaves no trace) and again under it; the sysroot is loaded once under the lock and its
 * stateroot resolved, and the body reads that one handle. Only a step after which ostree
 * itself changed the sysroot (a deploy, an undeploy, a new boot order) loads it again,
 * through `reload`, saying why.
 */
import { Transaction, type OperationOptions } from '../transaction/transaction.js';
import { Sysroot } from './sysroot.js';

/**
 * Which damaged origins stop the transaction: 'all' (the default deployment's origin is about
 * to be read), or only those ostree cannot load ('unloadable': rollback, cleanup, rebase,
 * which move away from a damaged origin or do not read it).
 */
export type DamagedOriginPolicy = 'all' | 'unloadable';

export interface SysrootHandle {
  tx: Transaction;
  /** The sysroot as loaded under the lock (or as the last `reload` left it). */
  sysroot: Sysroot;
  /** The stateroot the operation acts on (--os, else Sysroot.resolveOs's choice). */
  os: string;
  /** Load the sysroot again after ostree changed it; the handle then holds the new one. */
  reload(): Sysroot;
}

export async function runOnSysroot<T>(opts: OperationOptions, refuse: DamagedOriginPolicy, body: (h: SysrootHandle) => Promise<T>): Promise<T> {
  Sysroot.refuseDamagedOrigins(opts.sysroot, opts.os, { keepDefault: refuse === 'unloadable' });
  return Transaction.run(opts, async (tx) => {
    // The one load under the lock: nothing else changes the sysroot while we hold it.
    const sysroot = Sysroot.load(opts.sysroot);
    const os = sysroot.resolveOs(opts.os);
    // Checked again under the lock: ostree cannot load a sysroot with an unreadable origin.
    sysroot.assertOriginsLoadable();
    const handle: SysrootHandle = {
      tx,
      sysroot,
      os,
      reload() {
        // Called only after ostree rewrote the deployments or the boot order (see callers).
        handle.sysroot = Sysroot.load(opts.sysroot);
        return handle.sysroot;
      },
    };
    return body(handle);
  });
}
