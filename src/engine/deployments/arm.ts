/**
 * Arming the boot counter when a new default deployment is written (deploy.ts calls it after
 * every deploy that makes one): GRUB then gives it [Health] BootTries boots to pass its checks.
 * Only where GRUB boots the sysroot (it has /boot/grub/grubenv, or a grub.cfg there to put one
 * beside), a previous deployment exists to fall back to (with one deployment, entry 1 would be
 * nothing), and the new deployment has apt-ostree's health-check unit, which marks it good.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadSysrootConfig } from './settings.js';
import type { Sysroot } from './sysroot.js';
import type { Transaction } from '../transaction/transaction.js';
import { armCounter, clearFallback, countingState } from './boot-counting.js';
import { readGrubEnv, writeGrubEnv, type GrubEnv } from './grubenv.js';

/** The unit that marks a boot good, as the apt-ostree package installs it in an image. */
export const HEALTH_UNIT = 'usr/lib/systemd/system/apt-ostree-health-check.service';

/** The environment block GRUB loads from its prefix, /boot/grub (Debian's GRUB). */
export function grubenvPath(sysrootPath: string): string {
  return join(sysrootPath, 'boot', 'grub', 'grubenv');
}

/** Does GRUB boot this sysroot with an environment block apt-ostree can count in? */
export function bootCountingAvailable(sysrootPath: string): boolean {
  return existsSync(grubenvPath(sysrootPath)) || existsSync(join(sysrootPath, 'boot', 'grub', 'grub.cfg'));
}

/**
 * After a new default deployment of `os` (the sysroot as it is now): set boot_counter to the
 * configured tries and boot_success=0, undone with the transaction. Returns the tries, or
 * undefined when nothing is counted here. A block that cannot be written is a warning: the
 * deployment is made, only its automatic fallback is missing, and the admin is told.
 */
export function armBootCounting(tx: Transaction, after: Sysroot, os: string): number | undefined {
  const path = grubenvPath(after.path);
  const next = after.defaultDeployment(os);
  if (!next || !bootCountingAvailable(after.path) || after.deploymentsOf(os).length < 2) return undefined;
  // Only a deployment that runs the health check can ever be marked good: counting the boots of
  // one that cannot would fall back from it after its tries, however well it runs.
  if (!existsSync(join(next.path, HEALTH_UNIT))) {
    tx.reporter.info(`The new deployment is not boot-counted: it has no /${HEALTH_UNIT} (apt-ostree in the image) to mark its boots good.`);
    // Nor may a counter armed for the deployment before it count this one's boots.
    disarmBootCounting(tx, after.path);
    return undefined;
  }
  const tries = loadSysrootConfig(after, os).config.Health.BootTries;
  let before: GrubEnv | undefined;
  try {
    before = readGrubEnv(path);
    writeGrubEnv(path, armCounter(before ?? new Map(), tries));
  } catch (e) {
    tx.reporter.warn(`the new deployment boots without boot counting (no automatic fallback to the previous one): ${(e as Error).message}`);
    return undefined;
  }
  tx.onUndo(`restore ${path}`, () => {
    if (before) writeGrubEnv(path, before);
    else rmSync(path, { force: true });
  });
  return tries;
}

/**
 * The new default is not on trial any more (a rollback made a known deployment the default, the
 * pending deployment was removed): stop counting, so that GRUB does not count the tries of a
 * deployment that is known good and fall back from it. A fallback (-1) is left to the health
 * check, which records it. Undone with the transaction.
 */
export function disarmBootCounting(tx: Transaction, sysrootPath: string): void {
  const path = grubenvPath(sysrootPath);
  let before: GrubEnv | undefined;
  try {
    before = readGrubEnv(path);
    if (!before || countingState(before).kind !== 'counting') return;
    writeGrubEnv(path, clearFallback(before));
  } catch (e) {
    tx.reporter.warn(`could not stop the boot counting in ${path}: ${(e as Error).message}`);
    return;
  }
  const saved = before;
  tx.onUndo(`restore ${path}`, () => writeGrubEnv(path, saved));
}
