/**
 * AutomaticUpdatePolicy=apply, after the update is staged (auto-update.ts): reboot into it when
 * [Updates] RebootStrategy allows, through ostree's finalization lock (finalization.ts).
 *
 *   immediate   now
 *   periodic    inside a maintenance window (reboot-windows.ts); otherwise it waits for a later run
 *   fleet-lock  once the FleetLock server granted a slot (reboot-lock.ts); never without it
 *
 * Before the reboot, people logged in are warned with wall and the reboot is postponed while they
 * stay, up to 10 times 60 s (Zincati's limit), then it goes ahead. A sysroot directory is not the
 * running system: nothing there can be rebooted, so the run stops after the strategy's decision
 * (having taken the lock, for fleet-lock) and says so.
 */
import { join } from 'node:path';
import type { AptOstreeConfig } from '../../config/config.js';
import { parseMaintenanceWindows } from '../../config/maintenance-windows.js';
import type { Reporter } from '../../output/reporter.js';
import type { Deployment, Sysroot } from '../deployments/sysroot.js';
import { fleetLockNodeId } from './node-id.js';
import { checkWindows, describeNextWindow } from './reboot-windows.js';
import { fleetLockStep, readRebootState, writeRebootState } from './reboot-lock.js';
import type { RetryPolicy } from './fleet-lock.js';

export const SESSION_WAIT_SECONDS = 60;
export const SESSION_WAIT_TIMES = 10;

export interface ApplyContext {
  sysroot: Sysroot;
  os: string;
  /** The deployment to reboot into: the staged one, or on a sysroot directory the new default. */
  pending: Deployment;
  updates: AptOstreeConfig['Updates'];
  reporter: Reporter;
  command: string;
  now?: Date;
  retry?: RetryPolicy;
}

export interface ApplyOutcome {
  action: 'rebooting' | 'waiting' | 'not-running-system';
  /** One or two sentences for the log. */
  message: string;
}

function waiting(ctx: ApplyContext, why: string): ApplyOutcome {
  writeRebootState(ctx.sysroot.path, { ...readRebootState(ctx.sysroot.path), waiting: { why, at: new Date().toISOString() } });
  return { action: 'waiting', message: `The update is staged and waits: ${why}.` };
}

export async function applyStagedUpdate(ctx: ApplyContext): Promise<ApplyOutcome> {
  const u = ctx.updates;
  const base = ctx.sysroot.baseChecksum(ctx.pending);
  if (u.RebootStrategy === 'periodic') {
    const parsed = parseMaintenanceWindows(u.MaintenanceWindows);
    const verdict = checkWindows(ctx.now ?? new Date(), 'windows' in parsed ? parsed.windows : [], u.TimeZone);
    if (!verdict.open) return waiting(ctx, `outside the maintenance windows (${describeNextWindow(verdict, u.TimeZone)}; a run of the timer inside it reboots)`);
  }
  const booted = ctx.sysroot.isBootedSystem;
  if (booted) await waitForLoggedInUsers(ctx.reporter);
  if (u.RebootStrategy === 'fleet-lock') {
    const client = { baseUrl: u.FleetLockURL, group: u.FleetLockGroup, id: fleetLockNodeId(booted ? '/etc' : join(ctx.pending.path, 'etc')) };
    const ok = await fleetLockStep(ctx.sysroot.path, client, 'pre-reboot', ctx.reporter, ctx.retry, base);
    if (!ok) {
      const e = readRebootState(ctx.sysroot.path)['fleet-lock']?.['last-error'];
      return waiting(ctx, `no reboot without the FleetLock slot (${e ? `${e.api}: ${e.kind}: ${e.value}` : 'refused'}); the next run of the timer asks again`);
    }
    ctx.reporter.info(`The FleetLock server at ${u.FleetLockURL} granted the reboot slot (group ${u.FleetLockGroup}, id ${client.id})`);
  }
  const state = readRebootState(ctx.sysroot.path);
  delete state.waiting;
  writeRebootState(ctx.sysroot.path, state);
  if (!booted) {
    return {
      action: 'not-running-system',
      message: `RebootStrategy=${u.RebootStrategy} allows the reboot${u.RebootStrategy === 'fleet-lock' ? ' and the FleetLock slot is taken' : ''}; not rebooting: ${ctx.sysroot.path} is not the running system (its new default deployment starts at its next boot).`,
    };
  }
  const { unlockStagedDeployment } = await import('../deployments/finalization.js');
  await unlockStagedDeployment({ sysrootPath: ctx.sysroot.path, os: ctx.os, command: ctx.command, reporter: ctx.reporter, checksum: base, allowUnlocked: true });
  const { rebootSystem } = await import('../../system/systemd.js');
  ctx.reporter.info('Rebooting into the staged update');
  await rebootSystem('The update is finalized; reboot by hand to start it.');
  return { action: 'rebooting', message: `Rebooting into the update (base ${base.slice(0, 12)}).` };
}

/** Postpone while people are logged in, telling them each time; after the limit the reboot goes ahead. */
export async function waitForLoggedInUsers(
  reporter: Reporter,
  deps: { sessions?: () => Promise<{ user: string }[]>; wall?: (m: string) => Promise<void>; sleep?: (s: number) => Promise<void> } = {},
): Promise<number> {
  const logind = deps.sessions && deps.wall ? undefined : await import('../../system/logind.js');
  const sessions = deps.sessions ?? logind!.interactiveSessions;
  const wall = deps.wall ?? logind!.wall;
  const sleep = deps.sleep ?? ((s: number) => new Promise<void>((r) => setTimeout(r, s * 1000)));
  for (let n = 0; n < SESSION_WAIT_TIMES; n++) {
    let users: string[];
    try {
      users = [...new Set((await sessions()).map((s) => s.user))];
    } catch (e) {
      reporter.warn(`cannot list the logged-in users (${(e as Error).message.split('\n')[0]}); not waiting for them`);
      return n;
    }
    if (!users.length) return n;
    const left = (SESSION_WAIT_TIMES - n) * SESSION_WAIT_SECONDS;
    reporter.info(`Postponing the reboot: logged in: ${users.join(', ')}`);
    await wall(`apt-ostree: this system reboots into a staged update in at most ${Math.ceil(left / 60)} min (sooner once nobody is logged in). Save your work.`).catch(() => {});
    await sleep(SESSION_WAIT_SECONDS);
  }
  return SESSION_WAIT_TIMES;
}
