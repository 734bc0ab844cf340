/**
 * The finalization lock of a staged deployment, ostree's own: a deployment staged with
 * `--lock-finalization` is not written into the boot configuration at shutdown
 * (ostree-finalize-staged.service leaves it), so the next boot starts the same deployment again
 * and the staged one is dropped, as /run is. `finalize-deployment` lifts the lock and reboots;
 * `cleanup -p` drops the staged deployment. This is how update drivers (Zincati) decide when a
 * machine reboots into an update.
 *
 * ostree records the lock in two places, both under /run: the legacy file
 * /run/ostree/staged-deployment-locked (which every ostree's finalization honours, and which
 * ostree 2022.7's hidden `admin deploy --lock-finalization` writes), and, from 2023.8, a `locked`
 * key in /run/ostree/staged-deployment. Both are read; an unlock clears both.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { AptOstreeError } from '../../errors.js';
import { readGVariant, vardictToObject } from '../../ostree/gvariant.js';
import type { Deployment, Sysroot } from './sysroot.js';
import type { OperationOptions } from '../transaction/transaction.js';

// status reads the lock: what changes it (ostree, the transaction) is loaded when it is used.
const system = () => import('../../system/ostree.js');

export const STAGED_DEPLOYMENT_FILE = '/run/ostree/staged-deployment';
export const STAGED_LOCK_FILE = '/run/ostree/staged-deployment-locked';

/** The `locked` key of ostree's staged-deployment record (2023.8 and later). */
function stagedRecordLocked(): boolean {
  try {
    const v = vardictToObject(readGVariant('a{sv}', readFileSync(STAGED_DEPLOYMENT_FILE)));
    const locked = v.locked;
    return locked === true || (typeof locked === 'object' && locked !== null && 'value' in locked && locked.value === true);
  } catch {
    return false;
  }
}

/** Is the staged deployment of the running system held back from finalization? */
export function stagedFinalizationLocked(): boolean {
  if (!existsSync(STAGED_DEPLOYMENT_FILE)) return false;
  return existsSync(STAGED_LOCK_FILE) || stagedRecordLocked();
}

/**
 * Stage with the lock: ostree's own `admin deploy --stage --lock-finalization` where it has the
 * option; otherwise the legacy file is written first, as ostree itself does before staging, so
 * that no shutdown in between can finalize an unlocked deployment.
 */
export async function prepareLockedStaging(sysroot: Sysroot): Promise<{ ostreeOption: boolean }> {
  if (!sysroot.isBootedSystem) throw lockNeedsRunningSystem(sysroot.path);
  if (await (await system()).hasDeployLockFinalization()) return { ostreeOption: true };
  mkdirSync('/run/ostree', { recursive: true });
  writeFileSync(STAGED_LOCK_FILE, '', { mode: 0o640 });
  return { ostreeOption: false };
}

/** --lock-finalization on a sysroot directory: nothing is staged there, so there is nothing to hold back. */
export function lockNeedsRunningSystem(path: string): AptOstreeError {
  return new AptOstreeError(
    `--lock-finalization applies to a deployment staged on the running system; on ${path}, which is not the running system, a new deployment is written into the boot configuration at once.`,
    { hint: 'Leave out --lock-finalization for a sysroot directory (or run the command on the booted system).' },
  );
}

export interface FinalizeOptions extends OperationOptions {
  /** The base commit the staged deployment must have (what drivers pass); undefined with allowMissingChecksum. */
  checksum?: string;
  allowMissingChecksum?: boolean;
  allowUnlocked?: boolean;
}

export interface FinalizeResult {
  staged: Deployment;
  base: string;
  /** It was locked (and is not any more). */
  wasLocked: boolean;
  /** The sysroot as the transaction loaded it (lifting the lock leaves its deployments as they were). */
  sysroot: Sysroot;
}

/**
 * finalize-deployment, as rpm-ostree checks it: a staged deployment of the stateroot exists, its
 * base is CHECKSUM, it was locked (unless allowUnlocked); then the lock is lifted. The reboot is
 * the command's.
 */
export async function unlockStagedDeployment(opts: FinalizeOptions): Promise<FinalizeResult> {
  if (!opts.checksum && !opts.allowMissingChecksum) {
    throw new AptOstreeError('finalize-deployment needs the expected CHECKSUM of the staged deployment\'s base.', {
      hint: 'Give the checksum `apt-ostree status --json` shows as base-checksum (or checksum) of the staged deployment, or --allow-missing-checksum.',
    });
  }
  if (opts.checksum && opts.allowMissingChecksum) {
    throw new AptOstreeError('finalize-deployment takes either CHECKSUM or --allow-missing-checksum, not both.', { hint: 'Drop one of them.' });
  }
  const { runLocked } = await import('./sysroot-transaction.js');
  const ostree = await system();
  // Needs no stateroot and reads no origin: the running system's staged deployment only.
  return runLocked(opts, async ({ tx, sysroot }) => {
    if (!sysroot.isBootedSystem) {
      throw new AptOstreeError(`No staged deployment: ${sysroot.path} is not the running system, and only the running system stages deployments.`, {
        hint: 'Run finalize-deployment on the booted system, after `apt-ostree deploy --lock-finalization` (or upgrade, rebase) there.',
      });
    }
    const os = sysroot.resolveOs(opts.os);
    const staged = sysroot.deployments[0]?.staged ? sysroot.deployments[0] : undefined;
    if (!staged) throw new AptOstreeError('No staged deployment to finalize.', { hint: 'Stage one with `apt-ostree deploy --lock-finalization REVISION` (or upgrade, rebase).' });
    if (staged.osname !== os) throw new AptOstreeError(`The staged deployment is of the stateroot '${staged.osname}', not of '${os}'.`, { hint: `Give --os=${staged.osname}.` });
    const base = sysroot.baseChecksum(staged);
    if (opts.checksum && opts.checksum !== base) {
      throw new AptOstreeError(`The staged deployment's base is ${base}, not the expected ${opts.checksum}; it is left locked.`, {
        hint: 'Check the checksum with `apt-ostree status --json` (base-checksum, or checksum when nothing is layered).',
      });
    }
    const wasLocked = stagedFinalizationLocked();
    if (!wasLocked && !opts.allowUnlocked) {
      throw new AptOstreeError('The staged deployment is not finalization-locked: it is finalized at the next shutdown anyway.', {
        hint: 'Give --allow-unlocked to reboot into it now all the same.',
      });
    }
    if (wasLocked) {
      if (stagedRecordLocked() && (await ostree.hasAdminLockFinalization())) await ostree.adminUnlockFinalization(sysroot.path);
      rmSync(STAGED_LOCK_FILE, { force: true });
      if (stagedFinalizationLocked()) {
        throw new AptOstreeError(`The staged deployment is still locked after removing ${STAGED_LOCK_FILE}: this ostree records the lock in ${STAGED_DEPLOYMENT_FILE} and has no \`ostree admin lock-finalization\`.`, {
          hint: 'Drop it with `apt-ostree cleanup -p` and stage it again without --lock-finalization.',
        });
      }
    }
    // The next boot starts it: its tries count from there (a locked staged deployment's
    // counter may have been used up, or marked good, by boots of the running deployment meanwhile).
    (await import('./arm.js')).armBootCounting(tx, sysroot, os);
    return { staged, base, wasLocked, sysroot };
  });
}
