/**
 * What AutomaticUpdatePolicy=apply keeps between runs and boots (reboot-state.json): the FleetLock
 * slot (held or not, for which base, the server's last refusal), and why a staged update waits.
 * The slot is released (`steady-state`) only by a boot of the base it was taken for that passed
 * its health checks; after a health fallback the booted base is another, so the slot stays taken
 * and the fleet's lock server stops the rollout there.
 */
import { replaceFile } from '../../layout/files.js';
import { readFileSync } from 'node:fs';
import { rebootStatePath } from '../state-paths.js';
import { openSysroot, type Deployment } from '../deployments/sysroot.js';
import type { Reporter } from '../../output/reporter.js';
import { describeFleetLockFailure, fleetLockWithRetries, type FleetLockApi, type FleetLockClient, type RetryPolicy } from './fleet-lock.js';

export interface FleetLockState {
  url: string;
  group: string;
  id: string;
  held: boolean;
  /** The base commit the slot was taken for. */
  'for-checksum'?: string;
  'taken-at'?: string;
  'released-at'?: string;
  /** Set when a boot did not come up on for-checksum (a health fallback): the slot is kept. */
  'kept-because'?: string;
  'last-error'?: { api: FleetLockApi; status?: number; kind: string; value: string; at: string };
}

export interface RebootState {
  'fleet-lock'?: FleetLockState;
  /** Why the staged update has not been rebooted into, as of the last run. */
  waiting?: { why: string; at: string };
}

/**
 * The slot's state in one word, for the metrics (apt_ostree_reboot_lock_state):
 *   none                 no FleetLock in use, or never asked
 *   unlocked             this node holds no slot (released, or not yet granted)
 *   held                 granted: held until the new deployment passed its checks
 *   kept-after-fallback  the new deployment fell back: the slot is kept on purpose
 *   error                the last request failed (refused, or the server unreachable)
 */
export const REBOOT_LOCK_STATES = ['none', 'unlocked', 'held', 'kept-after-fallback', 'error'] as const;

export function rebootLockState(state: RebootState): (typeof REBOOT_LOCK_STATES)[number] {
  const lock = state['fleet-lock'];
  if (!lock) return 'none';
  if (lock['kept-because']) return 'kept-after-fallback';
  if (lock['last-error']) return 'error';
  return lock.held ? 'held' : 'unlocked';
}

export function readRebootState(sysrootPath: string): RebootState {
  try {
    const v = JSON.parse(readFileSync(rebootStatePath(sysrootPath), 'utf8')) as unknown;
    return v && typeof v === 'object' ? (v as RebootState) : {};
  } catch {
    return {}; // none yet, or damaged: the next write replaces it
  }
}

export function writeRebootState(sysrootPath: string, state: RebootState): void {
  replaceFile(rebootStatePath(sysrootPath), JSON.stringify(state, null, 2) + '\n');
}

/** Send a request with retries and record its outcome in the state; true when the server said 200. */
export async function fleetLockStep(sysrootPath: string, client: FleetLockClient, api: FleetLockApi, reporter: Reporter, retry?: RetryPolicy, forChecksum?: string): Promise<boolean> {
  const answer = await fleetLockWithRetries(client, api, {
    ...retry,
    delays: retry?.delays ?? [5, 10, 20, 40, 60, 60, 60, 60],
    onRetry: (a, s) => a.ok || reporter.warn(`${describeFleetLockFailure(client.baseUrl, api, a)}; trying again in ${s} s`),
  });
  const state = readRebootState(sysrootPath);
  const before = state['fleet-lock'];
  const now = new Date().toISOString();
  const lock: FleetLockState = { ...before, url: client.baseUrl, group: client.group, id: client.id, held: before?.held ?? false };
  if (answer.ok) {
    delete lock['last-error'];
    if (api === 'pre-reboot') Object.assign(lock, { held: true, 'taken-at': now, 'for-checksum': forChecksum, 'kept-because': undefined });
    else Object.assign(lock, { held: false, 'released-at': now, 'kept-because': undefined });
  } else {
    lock['last-error'] = { api, ...(answer.reachable ? { status: answer.status } : {}), kind: answer.kind, value: answer.value, at: now };
    reporter.warn(describeFleetLockFailure(client.baseUrl, api, answer));
  }
  writeRebootState(sysrootPath, { ...state, 'fleet-lock': lock });
  return answer.ok;
}

/**
 * After `health-check --boot`: release the slot when the deployment that booted is the base it was
 * taken for and passed its checks; keep it (and say why) when another base booted (a fallback).
 * SERVER is the FleetLock server and group configured now, where RebootStrategy=fleet-lock: the
 * release goes there (as Zincati sends steady-state to the server of its configuration, which an
 * admin may have moved since the slot was taken); without it, to the server that granted the slot.
 */
export async function afterBootAssessment(
  sysrootPath: string,
  boot: { passed: boolean; deployment?: Deployment; fellBack: boolean },
  reporter: Reporter,
  retry?: RetryPolicy,
  server?: { url: string; group: string },
): Promise<'released' | 'kept' | 'none'> {
  const state = readRebootState(sysrootPath);
  const lock = state['fleet-lock'];
  if (!lock?.held) return 'none';
  const bootedBase = boot.deployment && openSysroot(sysrootPath).baseChecksum(boot.deployment);
  if (boot.fellBack || (lock['for-checksum'] && bootedBase !== lock['for-checksum'])) {
    const why = `the update ${lock['for-checksum']?.slice(0, 12) ?? ''} did not stay booted (health fallback); the FleetLock slot is kept so that the fleet's rollout stops here`;
    if (lock['kept-because'] !== why) writeRebootState(sysrootPath, { ...state, 'fleet-lock': { ...lock, 'kept-because': why } });
    reporter.warn(why);
    return 'kept';
  }
  if (!boot.passed) return 'kept'; // a try left: the next boot of the same base decides
  const ok = await fleetLockStep(sysrootPath, { baseUrl: server?.url ?? lock.url, id: lock.id, group: server?.group ?? lock.group }, 'steady-state', reporter, retry);
  return ok ? 'released' : 'kept';
}
