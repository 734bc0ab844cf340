/**
 * Whether a layering transaction refreshes the stateroot's package lists (`apt-get update`)
 * before resolving: not on every run, as plain `apt-get install` does not either, but when
 *   - the caller asks for it whatever their age (--refresh; `upgrade`, whose question is what
 *     is newer),
 *   - there are no lists yet,
 *   - the deployment's apt sources or keys differ from those of the last refresh (a new
 *     sources.list.d file must not wait a day), or
 *   - the last refresh is older than PackageListsMaxAge of apt-ostree.conf (a day by default,
 *     as apt's APT::Periodic::Update-Package-Lists "1").
 * The time and the sources of the last successful refresh are kept in a stamp file beside the
 * lists. --cache-only never refreshes.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aptUpdate, type AptConfig } from '../../system/apt.js';
import type { Reporter } from '../../output/reporter.js';

/** Why the lists are refreshed, or undefined when those of the last refresh are used. */
export interface ListsDecision {
  refresh: boolean;
  /** For `-v`: what was decided and why, in a few words. */
  reason: string;
}

interface ListsStamp {
  /** When the last successful refresh ended (ms since the epoch). */
  refreshedAt: number;
  /** sourcesDigest of the apt configuration it ran with. */
  sources: string;
}

const STAMP_NAME = 'lists-refreshed.json';

function stampPath(apt: AptConfig): string {
  return join(apt.dirs.cacheDir, STAMP_NAME);
}

/**
 * A digest of what decides which lists apt fetches and whether it trusts them: sources.list and
 * sources.list.d (the files apt reads there), trusted.gpg, trusted.gpg.d and keyrings, each file
 * by name and content. Other files of /etc/apt (preferences, apt.conf.d) do not change the lists.
 */
export function sourcesDigest(etcApt: string): string {
  const hash = createHash('sha256');
  const add = (rel: string) => {
    let data: Buffer;
    try {
      data = readFileSync(join(etcApt, rel));
    } catch {
      return; // absent, or a directory
    }
    hash.update(`${rel}\0${data.length}\0`).update(data);
  };
  add('sources.list');
  add('trusted.gpg');
  for (const dir of ['sources.list.d', 'trusted.gpg.d', 'keyrings']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(etcApt, dir)).sort();
    } catch {
      continue;
    }
    for (const n of names) add(join(dir, n));
  }
  return hash.digest('hex');
}

function readStamp(apt: AptConfig): ListsStamp | undefined {
  try {
    const s = JSON.parse(readFileSync(stampPath(apt), 'utf8')) as Partial<ListsStamp>;
    return typeof s.refreshedAt === 'number' && typeof s.sources === 'string' ? { refreshedAt: s.refreshedAt, sources: s.sources } : undefined;
  } catch {
    return undefined;
  }
}

function hasLists(apt: AptConfig): boolean {
  try {
    return readdirSync(apt.listsDir).some((f) => f.endsWith('_Packages') || f.includes('_Packages.'));
  } catch {
    return false;
  }
}

function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

/**
 * Decide whether to refresh the lists of `apt` (see the top of the file). `force` says why they
 * are refreshed whatever their age; `maxAgeSeconds` 0 refreshes on every transaction.
 */
export function decideListsRefresh(apt: AptConfig, opts: { force?: string; cacheOnly?: boolean; maxAgeSeconds: number; now?: number }): ListsDecision {
  if (opts.cacheOnly) return { refresh: false, reason: 'package lists: not refreshed (--cache-only)' };
  if (opts.force) return { refresh: true, reason: `package lists: refreshing (${opts.force})` };
  if (!hasLists(apt)) return { refresh: true, reason: 'package lists: refreshing (none downloaded yet)' };
  const stamp = readStamp(apt);
  if (!stamp) return { refresh: true, reason: 'package lists: refreshing (no record of the last refresh)' };
  if (stamp.sources !== sourcesDigest(apt.dirs.etcApt)) {
    return { refresh: true, reason: 'package lists: refreshing (the deployment\'s apt sources or keys changed since the last refresh)' };
  }
  const age = (opts.now ?? Date.now()) - stamp.refreshedAt;
  const max = `PackageListsMaxAge=${opts.maxAgeSeconds} s`;
  if (age < 0 || age >= opts.maxAgeSeconds * 1000) {
    return { refresh: true, reason: `package lists: refreshing (last refreshed ${age < 0 ? 'in the future' : `${formatAge(age)} ago`}, ${max})` };
  }
  return { refresh: false, reason: `package lists: using those refreshed ${formatAge(age)} ago (${max}; --refresh forces one)` };
}

/** Record a successful refresh of `apt`'s lists, with the sources it ran with. */
export function recordListsRefresh(apt: AptConfig, sources: string, now = Date.now()): void {
  const file = stampPath(apt);
  writeFileSync(`${file}.tmp`, JSON.stringify({ refreshedAt: now, sources } satisfies ListsStamp) + '\n');
  renameSync(`${file}.tmp`, file);
}

/**
 * `apt-get update` of `apt`'s lists, recorded when it succeeds (a failed one is tried again by
 * the next transaction). The sources are read before the update: a change made meanwhile is
 * seen by the next one.
 */
export async function refreshLists(apt: AptConfig, reporter: Reporter, signal?: AbortSignal): Promise<void> {
  const sources = sourcesDigest(apt.dirs.etcApt);
  await reporter.task('Updating package lists', () => aptUpdate(apt, { signal }));
  recordListsRefresh(apt, sources);
}

/** decideListsRefresh, said with `-v`, then refreshLists when it says so; whether it refreshed. */
export async function refreshListsWhenStale(
  apt: AptConfig,
  opts: { force?: string; cacheOnly?: boolean; maxAgeSeconds: number; reporter: Reporter; signal?: AbortSignal },
): Promise<boolean> {
  const decision = decideListsRefresh(apt, opts);
  opts.reporter.debug(decision.reason);
  if (decision.refresh) await refreshLists(apt, opts.reporter, opts.signal);
  return decision.refresh;
}
