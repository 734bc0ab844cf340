/**
 * The reboot lock's state as the update strategy last set it (FleetLock: auto-update.ts), kept
 * in SYSROOT/ostree/apt-ostree/reboot-lock.json so that the metrics (engine/metrics.ts,
 * `apt_ostree_reboot_lock_state`) can show it without asking the lock server.
 *
 * The strategy calls setRebootLockState whenever the state changes; the metrics file is written
 * again at the end of every command whose transaction ended (cli/main.ts), or at once with
 * writeMetrics (engine/metrics.ts) where no transaction runs. No file: no reboot lock is in use
 * ('none').
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { rebootLockStatePath } from '../state-paths.js';

/**
 *   none                 no lock is used (strategy immediate or periodic), or it was never taken
 *   unlocked             steady-state was sent: this node holds no slot
 *   held                 pre-reboot succeeded: the node holds a slot until its new deployment passes its checks
 *   kept-after-fallback  the new deployment failed its health checks: the slot is kept on purpose
 *   error                the last request failed (server unreachable, or an error `kind`: see detail)
 */
export const REBOOT_LOCK_STATES = ['none', 'unlocked', 'held', 'kept-after-fallback', 'error'] as const;
export type RebootLockStateName = (typeof REBOOT_LOCK_STATES)[number];

export interface RebootLockState {
  state: RebootLockStateName;
  /** ISO 8601: when the state was set. */
  since: string;
  /** What the server said, or why it could not be asked. */
  detail?: string;
}

export function setRebootLockState(sysrootPath: string, state: RebootLockStateName, detail?: string): void {
  const path = rebootLockStatePath(sysrootPath);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const record: RebootLockState = { state, since: new Date().toISOString(), ...(detail ? { detail } : {}) };
  writeFileSync(tmp, JSON.stringify(record) + '\n', { mode: 0o644 });
  renameSync(tmp, path);
}

/** The state last set; 'none' when nothing was, or the file is not one of ours. */
export function readRebootLockState(sysrootPath: string): RebootLockState | undefined {
  try {
    const r = JSON.parse(readFileSync(rebootLockStatePath(sysrootPath), 'utf8')) as Partial<RebootLockState>;
    if (REBOOT_LOCK_STATES.includes(r.state as RebootLockStateName) && typeof r.since === 'string') return r as RebootLockState;
  } catch {
    /* none */
  }
  return undefined;
}
