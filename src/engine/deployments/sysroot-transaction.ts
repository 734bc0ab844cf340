/**
 * A transaction on one loaded sysroot: what every operation that changes a sysroot starts
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

/** The sysroot as a transaction holds it: loaded under the lock. */
export interface LockedSysroot {
  tx: Transaction;
  /** The sysroot as loaded under the lock (or as the last `reload` left it). */
  sysroot: Sysroot;
  /** Load the sysroot again after ostree changed it; the handle then holds the new one. */
  reload(): Sysroot;
}

export interface SysrootHandle extends LockedSysroot {
  /** The stateroot the operation acts on (--os, else Sysroot.resolveOs's choice). */
  os: string;
}

export async function runOnSysroot<T>(opts: OperationOptions, refuse: DamagedOriginPolicy, body: (h: SysrootHandle) => Promise<T>): Promise<T> {
  Sysroot.refuseDamagedOrigins(opts.sysrootPath, opts.os, { keepDefault: refuse === 'unloadable' });
  return runLocked(opts, async (locked) => {
    const os = locked.sysroot.resolveOs(opts.os);
    // Checked again under the lock: ostree cannot load a sysroot with an unreadable origin.
    locked.sysroot.assertOriginsLoadable();
    // The same object: a reload through either is seen by both.
    return body(Object.assign(locked, { os }));
  });
}

/**
 * The same without a stateroot and without reading any origin: for the operations on the
 * running system's booted or staged deployment (finalize-deployment, apply-live, usroverlay),
 * which check what they need themselves, with their own messages.
 */
export async function runLocked<T>(opts: OperationOptions, body: (h: LockedSysroot) => Promise<T>): Promise<T> {
  return Transaction.run(opts, async (tx) => {
    // The one load under the lock: nothing else changes the sysroot while we hold it.
    const loading = Date.now();
    const sysroot = Sysroot.load(opts.sysrootPath);
    opts.reporter.recordPhase('Loading the sysroot', loading);
    const handle: LockedSysroot = {
      tx,
      sysroot,
      reload() {
        // Called only after ostree rewrote the deployments or the boot order (see callers).
        handle.sysroot = handle.sysroot.reload();
        return handle.sysroot;
      },
    };
    return body(handle);
  });
}
