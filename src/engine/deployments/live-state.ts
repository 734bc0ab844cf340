/**
 * What apply-live did to the running system, recorded where ostree keeps the state of a
 * booted deployment that lasts until the reboot: /run/ostree/deployment-state/CHECKSUM.SERIAL/
 * (ostree's own unlocked-transient stamp is there). As rpm-ostree: `commit` is the commit whose
 * files the running /usr shows (rpm-ostree's LiveCommit, `live-replaced` in status --json),
 * `inprogress` the commit of an apply-live that started and did not finish
 * (InterruptedLiveCommit, `live-inprogress`). The reboot forgets both, with the overlay.
 * The live commit is also kept by a ref (LIVE_REF), so that a later install that replaces the
 * pending deployment does not prune the commit the running /usr still shows.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { liveStatePath } from '../state-paths.js';
import type { Deployment } from './sysroot.js';


export interface LiveState {
  commit?: string;
  inprogress?: string;
}


/** The live state of the booted deployment; undefined when nothing was applied live. */
export function readLiveState(d: Deployment): LiveState | undefined {
  if (!d.booted) return undefined;
  try {
    const raw = JSON.parse(readFileSync(liveStatePath(d.checksum, d.serial), 'utf8')) as Record<string, unknown>;
    const pick = (k: string) => (typeof raw[k] === 'string' && /^[0-9a-f]{64}$/.test(raw[k] as string) ? (raw[k] as string) : undefined);
    const state = { commit: pick('commit'), inprogress: pick('inprogress') };
    return state.commit || state.inprogress ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Record the live state (written aside, then renamed); an empty state removes the file. */
export function writeLiveState(d: Deployment, state: LiveState | undefined): void {
  const file = liveStatePath(d.checksum, d.serial);
  if (!state?.commit && !state?.inprogress) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(state) + '\n');
  renameSync(`${file}.tmp`, file);
}
