/**
 * The cached update: the newest base commit of the origin that `upgrade --check` (by hand or
 * from the automatic-update timer with AutomaticUpdatePolicy=check) found and did not deploy.
 * Recorded as JSON in `cachedUpdatePath(sysroot)`; `status` shows it as `cached-update`
 * (rpm-ostree's name) until a check finds nothing new or an upgrade deploys it.
 */
import { replaceFile } from '../../layout/files.js';
import { readFileSync, rmSync } from 'node:fs';
import type { PackageDiff } from '../deployments/packages.js';
import { cachedUpdatePath } from '../state-paths.js';

// A type, not an interface: status hands it on as a plain JSON object (Record<string, unknown>).
export type CachedUpdate = {
  osname: string;
  /** The refspec the update was found on. */
  origin: string;
  /** The new base commit. */
  checksum: string;
  version: string;
  /** Commit time of the new base, seconds since the epoch. */
  timestamp: number;
  'ref-has-new-commit': true;
  /** The base the default deployment had when the update was found. */
  'base-checksum': string;
  'base-version': string;
  /** When the update was last seen, seconds since the epoch. */
  'checked-at': number;
  /** Package changes of the base from `base-checksum` to `checksum`, when both commits carry package lists. */
  'package-diff'?: PackageDiff & { counts: { upgraded: number; downgraded: number; removed: number; added: number } };
};

export function makeCachedUpdate(u: {
  os: string; refspec: string; oldBase: string; newBase: string; oldVersion?: string; newVersion?: string; timestamp: number; diff?: PackageDiff;
}): CachedUpdate {
  return {
    osname: u.os,
    origin: u.refspec,
    checksum: u.newBase,
    version: u.newVersion ?? '',
    timestamp: u.timestamp,
    'ref-has-new-commit': true,
    'base-checksum': u.oldBase,
    'base-version': u.oldVersion ?? '',
    'checked-at': Math.floor(Date.now() / 1000),
    ...(u.diff
      ? {
          'package-diff': {
            ...u.diff,
            counts: { upgraded: u.diff.upgraded.length, downgraded: u.diff.downgraded.length, removed: u.diff.removed.length, added: u.diff.added.length },
          },
        }
      : {}),
  };
}

/** Replace the record atomically (write a temporary file, rename it over the old one). */
export function writeCachedUpdate(sysrootPath: string, record: CachedUpdate): void {
  replaceFile(cachedUpdatePath(sysrootPath), JSON.stringify(record, null, 2) + '\n');
}

export function readCachedUpdate(sysrootPath: string): CachedUpdate | undefined {
  try {
    return JSON.parse(readFileSync(cachedUpdatePath(sysrootPath), 'utf8')) as CachedUpdate;
  } catch {
    return undefined;
  }
}

export function clearCachedUpdate(sysrootPath: string): void {
  rmSync(cachedUpdatePath(sysrootPath), { force: true });
}

/**
 * After a new deployment of `os` on `refspec` with base `checksum` (committed at `timestamp`):
 * drop the record of that stateroot unless it still names something newer on the same origin
 * (a deploy of an older version keeps the newer update on record). Returns whether it was dropped.
 */
export function dropStaleCachedUpdate(sysrootPath: string, deployed: { os: string; refspec: string; checksum: string; timestamp?: number }): boolean {
  const r = readCachedUpdate(sysrootPath);
  if (!r || r.osname !== deployed.os) return false;
  const stillNewer =
    r.origin === deployed.refspec && r.checksum !== deployed.checksum &&
    deployed.timestamp !== undefined && typeof r.timestamp === 'number' && r.timestamp > deployed.timestamp;
  if (stillNewer) return false;
  clearCachedUpdate(sysrootPath);
  return true;
}
