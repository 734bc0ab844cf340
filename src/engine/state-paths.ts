/**
 * Every place apt-ostree keeps state of its own in a sysroot, and every ref it creates in the
 * repository: one list, at the bottom of engine/, so that what apt-ostree leaves on a system
 * (docs/layout.md) can be read in one file. Paths only: each module that reads or writes a
 * file keeps its format.
 */
import { join } from 'node:path';

/** ostree/apt-ostree: apt-ostree's own directory beside ostree's repo and deploy. */
export function stateDir(sysrootPath: string): string {
  return join(sysrootPath, 'ostree', 'apt-ostree');
}

/** Work directories of the running transaction (transaction/transaction.ts); leftovers are removed by the next. */
export function workRootOf(sysrootPath: string): string {
  return join(stateDir(sysrootPath), 'tmp');
}

/** The kept checkouts of bases, layering's sandbox roots (layering/base-checkout.ts), one per base checksum. */
export function baseCheckoutsDir(sysrootPath: string): string {
  return join(stateDir(sysrootPath), 'base-checkouts');
}

/** Where `upgrade --check` and the automatic-update timer record an available update (updates/cached-update.ts). */
export function cachedUpdatePath(sysrootPath: string): string {
  return join(stateDir(sysrootPath), 'cached-update.json');
}

/** The registered update driver (updates/driver.ts). */
export function driverRecordPath(sysrootPath: string): string {
  return join(stateDir(sysrootPath), 'update-driver.json');
}

/** What the health checks found and the fallbacks made (health/record.ts). */
export function healthRecordPath(sysrootPath: string): string {
  return join(stateDir(sysrootPath), 'health.json');
}

/** The transaction history (transaction/history.ts), `apt-ostree history`. */
export function historyPath(sysrootPath: string): string {
  return join(stateDir(sysrootPath), 'history.jsonl');
}

/** The node exporter's textfile of a stateroot (metrics.ts): its /var, the running system's /var. */
export function metricsFilePath(sysrootPath: string, os: string): string {
  return join(staterootDir(sysrootPath, os), 'var', 'lib', 'prometheus', 'node-exporter', 'apt_ostree.prom');
}

/** How many commit objects the repository kept after the last prune (deployments/deploy.ts). */
export function pruneRecordPath(sysrootPath: string): string {
  return join(stateDir(sysrootPath), 'commits-after-prune');
}

export interface LockPaths {
  /** The directory the lock files live in: SYSROOT/ostree. */
  dir: string;
  /** proper-lockfile's directory, kept so that older apt-ostree versions see the lock. */
  lock: string;
  /** The holder's pid and command line, for messages. */
  owner: string;
  /** The file whose flock is the lock; its open file description is inherited by every child. */
  flock: string;
}

/** The sysroot lock (transaction/lock.ts) and its owner file, in ostree/ itself. */
export function lockPaths(sysrootPath: string): LockPaths {
  const dir = join(sysrootPath, 'ostree');
  return { dir, lock: join(dir, 'apt-ostree.lock'), owner: join(dir, 'apt-ostree.lock.owner'), flock: join(dir, 'apt-ostree.flock') };
}

/** A stateroot's directory, ostree/deploy/OS. */
export function staterootDir(sysrootPath: string, os: string): string {
  return join(sysrootPath, 'ostree', 'deploy', os);
}

/** Where apt-ostree keeps apt lists and downloaded .debs for a stateroot (reused across runs). */
export function aptCacheDir(sysrootPath: string, os: string): string {
  return join(staterootDir(sysrootPath, os), 'var', 'cache', 'apt-ostree');
}

/** Where requested local .deb files are kept so later transactions can re-apply them. */
export function localDebDir(sysrootPath: string, os: string): string {
  return join(staterootDir(sysrootPath, os), 'var', 'lib', 'apt-ostree', 'local');
}

/**
 * The .debs of the layers of a stateroot's deployments, with a Packages index of our own, so that
 * a later change re-layers them when no source offers them any more (layering/kept-packages.ts).
 * In /var/lib, not /var/cache: they are not a cache that can go without loss.
 */
export function keptPackagesDir(sysrootPath: string, os: string): string {
  return join(staterootDir(sysrootPath, os), 'var', 'lib', 'apt-ostree', 'kept');
}

/** The layered commit of each stateroot: LAYERED_REF_PREFIX + OS (layering/build.ts). */
export const LAYERED_REF_PREFIX = 'aptostree/layered/';

/** The bases of layered deployments, kept from pruning: BASE_REF_PREFIX/N (deployments/base-refs.ts). */
export const BASE_REF_PREFIX = 'aptostree/base';

/** The commit an apply-live made the running /usr show, kept until the reboot (deployments/live.ts). */
export const LIVE_REF = 'apt-ostree/live-apply';

/** apply-live's record in ostree's per-deployment state under /run (deployments/live-state.ts). */
export function liveStatePath(checksum: string, serial: number): string {
  return join('/run/ostree/deployment-state', `${checksum}.${serial}`, 'apt-ostree-live.json');
}

/** The state of AutomaticUpdatePolicy=apply's reboot: the FleetLock slot, why a reboot waits (updates/reboot-lock.ts). */
export function rebootStatePath(sysrootPath: string): string {
  return join(stateDir(sysrootPath), 'reboot-state.json');
}
