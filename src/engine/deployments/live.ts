/**
 * apply-live: bring the files of the pending deployment (the default for the next boot) onto
 * the running system now, through a transient overlay on /usr (`ostree admin unlock
 * --transient`, as usroverlay makes), never by writing into the deployment's own /usr. The
 * reboot boots the pending deployment as usual and drops the overlay.
 *
 * Order: check everything (booted, LiveFs, a pending deployment, no interrupted apply, the
 * plan and --allow-replacement) → unlock → stage the new files of /usr and /etc beside their
 * targets (live-tree.ts) → switch them into place → record the live commit → the
 * irreversible steps that only add (systemd-sysusers, systemd-tmpfiles --create for the new
 * snippets, systemctl daemon-reload). Until the switch is done, a failure or Ctrl-C leaves
 * /usr and /etc as they were.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AptOstreeError, InputError, UnchangedError } from '../../errors.js';
import { CONFIG_PATH } from '../../config/config.js';
import { isDirectory, isSymlink, listDir } from '../../system/fs.js';
import * as ostree from '../../system/ostree.js';
import { remount } from '../../system/overlay.js';
import * as systemd from '../../system/systemd.js';
import { loadSysrootConfig } from './settings.js';
import type { Transaction, OperationOptions } from '../transaction/transaction.js';
import { runLocked } from './sysroot-transaction.js';
import { isEmptyPlan, planLive, type LivePlan } from './live-plan.js';
import { LIVE_REF } from '../state-paths.js';
import { readLiveState, writeLiveState } from './live-state.js';
import { removeStaging, stageTree, STAGING_NAME, switchTree, type TreeChange } from './live-tree.js';
import { commitPackages } from './packages.js';
import { openSysroot, type Deployment, type Sysroot } from './sysroot.js';

export interface ApplyLiveOptions extends OperationOptions {
  allowReplacement?: boolean;
  unchangedExit77?: boolean;
}

export interface ApplyLiveResult {
  /** The commit whose files the running system shows now. */
  commit: string;
  /** What it was before (the booted commit, or an earlier live one). */
  from: string;
  plan: LivePlan;
  /** Entries of /etc that were added (the admin's /etc keeps everything it had). */
  etcAdded: string[];
}

/**
 * Refuse, before any work, what apply-live can never do here: a sysroot that is not the
 * running system, or LiveFs not turned on in apt-ostree.conf. `install --apply-live` calls it
 * before it installs anything.
 */
export function assertApplyLiveAllowed(sysrootPath: string): void {
  const sysroot = openSysroot(sysrootPath);
  if (!sysroot.isBootedSystem || !sysroot.booted) {
    throw new InputError(
      `apply-live changes the running system only; ${sysroot.path} is not the booted system.`,
      'Run it on the booted machine, without --sysroot; for another sysroot the new deployment starts at its next boot.',
    );
  }
  const { config } = loadSysrootConfig(sysroot);
  if (!config.Experimental.Enabled || !config.Experimental.LiveFs) {
    throw new InputError(
      `apply-live is turned off on this system: it needs Enabled=true and LiveFs=true in the [Experimental] group of ${CONFIG_PATH}.`,
      'Set both to allow changing the running /usr, or reboot to start the new deployment.',
    );
  }
}

export async function applyLive(opts: ApplyLiveOptions): Promise<ApplyLiveResult> {
  assertApplyLiveAllowed(opts.sysrootPath);
  // Needs no stateroot and reads no origin: the booted and the pending deployment only.
  return runLocked(opts, async ({ tx, sysroot }) => {
    const booted = sysroot.booted!;
    const pending = sysroot.defaultDeployment(booted.osname)!;
    if (booted.unlocked === 'hotfix') {
      throw new InputError('/usr of the booted deployment is unlocked as a hotfix; apply-live works on a plain or transient /usr only.', 'Reboot into a deployment that is not a hotfix first.');
    }
    const state = readLiveState(booted);
    if (state?.inprogress) {
      throw new AptOstreeError(`An apply-live of ${state.inprogress} was interrupted; the running /usr may hold part of it.`, {
        hint: 'Reboot to start from a consistent system (the pending deployment boots as usual).',
      });
    }
    const from = state?.commit ?? booted.checksum;
    if (pending === booted || pending.checksum === from) {
      throw new UnchangedError(
        pending === booted
          ? 'No pending deployment: the running system already is the default for the next boot.'
          : `The running system already shows the pending deployment's commit ${from.slice(0, 12)}.`,
        Boolean(opts.unchangedExit77),
      );
    }
    const pendingUsr = join(pending.path, 'usr');
    const diff = await ostree.diff(sysroot.repoPath, from, pending.checksum, { signal: tx.signal });
    const [before, after] = await Promise.all([commitPackages(sysroot, from), commitPackages(sysroot, pending.checksum, { treeRoot: pending.path })]);
    const plan = planLive(diff, before.packages, after.packages, (rel) => isDirectory(join(pendingUsr, rel)));
    if (plan.replaced.length && !opts.allowReplacement) {
      throw new InputError(
        `apply-live would change packages the running system has: ${plan.replaced.join(', ')}.`,
        'Give --allow-replacement to change them while programs may be running (or reboot into the new deployment).',
      );
    }
    const result: ApplyLiveResult = { commit: pending.checksum, from, plan, etcAdded: [] };
    if (isEmptyPlan(plan)) {
      // Only metadata differs (no file of /usr): record the commit as live, nothing to copy.
      await recordLive(tx, sysroot, booted, pending.checksum, state?.commit);
      return result;
    }
    for (const p of plan.outsideUsr) tx.reporter.warn(`${p} differs in the new deployment but is outside /usr: it changes at the next boot`);
    const c = plan.usr;
    tx.reporter.info(`Applying ${from.slice(0, 12)} → ${pending.checksum.slice(0, 12)} to the running system: ${c.add.length} new, ${c.replace.length} replaced, ${c.remove.length} removed under /usr`);

    if (booted.unlocked === 'none') {
      // The overlay shows /usr as it is; it stays until the reboot, changed or not.
      await tx.reporter.task('Mounting a transient overlay on /usr', () => ostree.adminUnlock(sysroot.path, 'transient'));
    }
    const remounted = booted.unlocked !== 'development';
    if (remounted) {
      await remount('/usr', 'rw');
      tx.onUndo('remount /usr read-only', () => remount('/usr', 'ro'));
    }

    // Stage /usr and /etc beside their targets.
    const usrStaging = join('/usr', STAGING_NAME);
    const etcStaging = join('/etc', STAGING_NAME);
    for (const dir of [usrStaging, etcStaging]) removeStaging(dir);
    const etcChange: TreeChange = { add: etcAdditions(join(pendingUsr, 'etc'), '/etc', plan.etcAdded), replace: [], remove: [], dirMeta: [] };
    const cleanup = () => {
      removeStaging(usrStaging);
      removeStaging(etcStaging);
    };
    tx.onUndo('remove the staged files', cleanup);
    await tx.reporter.task('Staging the new files', async () => {
      await stageTree(pendingUsr, usrStaging, c, tx.signal);
      if (etcChange.add.length) await stageTree(join(pendingUsr, 'etc'), etcStaging, etcChange, tx.signal);
    });
    tx.throwIfCancelled();

    // Switch: /etc first (only additions), then /usr; each undoes itself when it fails.
    writeLiveState(booted, { commit: state?.commit, inprogress: pending.checksum });
    tx.onUndo('restore the live state', () => writeLiveState(booted, state));
    const etcSwitch = await switchTree('/etc', join(pendingUsr, 'etc'), etcStaging, etcChange);
    tx.onUndo('remove the new files of /etc', etcSwitch.undo);
    const usrSwitch = await tx.reporter.task('Switching /usr', () => switchTree('/usr', pendingUsr, usrStaging, c));
    tx.onUndo('restore /usr', usrSwitch.undo);
    result.etcAdded = etcChange.add;
    await recordLive(tx, sysroot, booted, pending.checksum, state?.commit);

    // Done: what follows only adds users, directories and unit files systemd sees.
    tx.enterCommitPhase();
    cleanup();
    if (remounted) await remount('/usr', 'ro');
    await tx.reporter.task('Creating users, groups and directories of the new packages', async () => {
      await systemd.sysusers(plan.sysusers);
      await systemd.tmpfilesCreate(plan.tmpfiles);
    });
    await tx.reporter.task('Reloading systemd units', () => systemd.daemonReload());
    return result;
  });
}

/** Point the live ref and the live state at `commit` (undone on failure). */
async function recordLive(tx: Transaction, sysroot: Sysroot, booted: Deployment, commit: string, previous: string | undefined): Promise<void> {
  await ostree.setRef(sysroot.repoPath, LIVE_REF, commit);
  tx.onUndo(`restore the ref ${LIVE_REF}`, () => ostree.setRef(sysroot.repoPath, LIVE_REF, previous ?? null).catch(() => undefined));
  writeLiveState(booted, { commit });
}

/**
 * The added entries of /usr/etc that /etc does not have yet: an existing file is the admin's
 * and stays; into an existing directory, its new entries go one by one.
 */
export function etcAdditions(sourceEtc: string, etc: string, added: readonly string[]): string[] {
  const out: string[] = [];
  const visit = (rel: string) => {
    if (!existsSync(join(etc, rel)) && !isSymlink(join(etc, rel))) {
      out.push(rel);
    } else if (isDirectory(join(etc, rel)) && isDirectory(join(sourceEtc, rel))) {
      for (const name of listDir(join(sourceEtc, rel)).sort()) visit(join(rel, name));
    }
  };
  for (const rel of added) visit(rel);
  return out;
}
