/**
 * `compose publish`: make an archive repository ready for any static web server. For each ref:
 * commits beyond the newest --keep are pruned, static deltas to its newest commit are made from
 * its --deltas previous commits (and from nothing with --from-scratch), deltas to commits no
 * longer there are deleted, and the summary is written again, signed when asked. Idempotent: what
 * a run did is recorded (refs, deltas, signing keys) beside the summary, and a run that finds
 * nothing to do changes no file.
 */
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';
import { acquireFlockLock } from '../engine/transaction/lock.js';
import { readCommit } from '../ostree/commit.js';
import { KeyFile } from '../ostree/keyfile.js';
import type { Reporter } from '../output/reporter.js';
import * as ostree from '../system/ostree.js';
import { withCancellation } from './compose.js';

export interface PublishOptions {
  repo: string;
  /** Static deltas to each ref's newest commit from this many of its previous commits (0: none). */
  deltas: number;
  /** Keep this many commits per ref (the newest included); undefined: keep all. */
  keep?: number;
  /** Also a delta from nothing to each newest commit (for first pulls). */
  fromScratch?: boolean;
  sign?: ostree.SignOptions;
  reporter: Reporter;
  /** The command line, for the lock's owner file and the messages of a refused publish. */
  command: string;
  /** --lock-wait: undefined fails at once when another publish holds the repository. */
  lockWaitSeconds?: number;
}

export interface PublishResult {
  refs: Array<{ ref: string; commit: string }>;
  deltasMade: string[];
  deltasDeleted: string[];
  /** Commits removed by --keep. */
  pruned: string[];
  summaryWritten: boolean;
  signed: boolean;
  changed: boolean;
}

/** Where a publish records what the summary was made from (served with the rest; nothing secret). */
export const PUBLISH_STATE = 'apt-ostree-publish.json';

/**
 * The repository's publish lock (an flock, engine/transaction/lock.ts) and its owner file, which
 * exists only while a publish runs: one publish at a time, so that one does not prune or delete
 * deltas while another writes deltas to those commits.
 */
export const PUBLISH_LOCK = '.apt-ostree-publish.lock';

export function validatePublish(o: Pick<PublishOptions, 'repo' | 'deltas' | 'keep'>): void {
  if (!Number.isInteger(o.deltas) || o.deltas < 0 || o.deltas > 100) throw new InputError(`--deltas ${o.deltas} is not a number of commits from 0 to 100.`, 'Give how many previous commits of each ref get a delta to its newest, e.g. --deltas 2.');
  if (o.keep !== undefined && (!Number.isInteger(o.keep) || o.keep < 1)) throw new InputError(`--keep ${o.keep} is not a number of commits of at least 1.`, 'Give how many commits of each ref to keep, the newest included, e.g. --keep 5.');
  if (o.keep !== undefined && o.deltas >= o.keep) throw new InputError(`--deltas ${o.deltas} needs more commits than --keep ${o.keep} leaves.`, 'Keep at least one commit more than the number of deltas (--keep N+1).');
  let mode: string | undefined;
  try {
    mode = KeyFile.parse(readFileSync(join(o.repo, 'config'), 'utf8')).get('core', 'mode');
  } catch {
    throw new InputError(`${o.repo} is not an OSTree repository.`, 'Give the repository that compose tree or compose commit wrote (--repo DIR).');
  }
  if (mode !== 'archive' && mode !== 'archive-z2') {
    throw new InputError(`${o.repo} is a ${mode ?? 'bare'} repository, not an archive one, so a web server cannot serve it.`, 'Publish the archive repository that compose writes, or copy the refs into one (ostree pull-local).');
  }
}

/** The commits of a ref present in the repository, newest first. */
function history(repo: string, head: string, max: number): string[] {
  const out: string[] = [];
  let cur: string | undefined = head;
  while (cur && out.length < max) {
    try {
      const c = readCommit(repo, cur);
      out.push(cur);
      cur = c.parent;
    } catch {
      break; // pruned beyond here
    }
  }
  return out;
}

export async function publish(o: PublishOptions): Promise<PublishResult> {
  validatePublish(o);
  const lock = await acquireFlockLock(
    { what: `the repository ${o.repo}`, lockName: 'the repository', flock: join(o.repo, PUBLISH_LOCK), owner: join(o.repo, `${PUBLISH_LOCK}.owner`) },
    { command: o.command, waitSeconds: o.lockWaitSeconds, warn: (t) => o.reporter.warn(t) },
  );
  try {
    return await publishLocked(o);
  } finally {
    await lock.release();
  }
}

async function publishLocked(o: PublishOptions): Promise<PublishResult> {
  return withCancellation(o.reporter, async (signal) => {
    const repo = o.repo;
    const refs: Array<{ ref: string; commit: string }> = [];
    for (const ref of (await ostree.listRefs(repo)).filter((r) => !r.includes(':')).sort()) {
      const commit = await ostree.revParse(repo, ref);
      if (commit) refs.push({ ref, commit });
    }
    if (!refs.length) throw new InputError(`${repo} has no refs to publish.`, 'Commit an image to it first (apt-ostree compose tree or compose commit).');

    // 1. --keep: commits beyond the newest N of a ref go (ostree prune --depth=N-1 --refs-only).
    const pruned: string[] = [];
    if (o.keep !== undefined) {
      for (const { commit } of refs) pruned.push(...history(repo, commit, Number.MAX_SAFE_INTEGER).slice(o.keep));
      if (pruned.length) {
        await o.reporter.task(`Pruning ${pruned.length} commit${pruned.length > 1 ? 's' : ''} older than the newest ${o.keep} of each ref`, () => ostree.prune(repo, { depth: o.keep! - 1 }));
      }
    }

    // 2. Deltas to each newest commit; deltas to commits no longer there go.
    const existing = new Set(await ostree.staticDeltaList(repo));
    const wanted: Array<{ from: string | null; to: string; name: string }> = [];
    for (const { commit } of refs) {
      for (const from of history(repo, commit, o.deltas + 1).slice(1)) wanted.push({ from, to: commit, name: `${from}-${commit}` });
      if (o.fromScratch) wanted.push({ from: null, to: commit, name: commit });
    }
    const deltasMade: string[] = [];
    for (const d of wanted) {
      if (existing.has(d.name)) continue;
      await o.reporter.task(`Making the static delta ${d.from ? `${d.from.slice(0, 12)} → ` : 'from scratch to '}${d.to.slice(0, 12)}`, () => ostree.staticDeltaGenerate(repo, d.from, d.to, { signal }));
      deltasMade.push(d.name);
      existing.add(d.name);
    }
    const deltasDeleted: string[] = [];
    for (const name of [...existing]) {
      const to = name.includes('-') ? name.slice(name.indexOf('-') + 1) : name;
      if (existsSync(join(repo, 'objects', to.slice(0, 2), `${to.slice(2)}.commit`))) continue;
      await ostree.staticDeltaDelete(repo, name);
      existing.delete(name);
      deltasDeleted.push(name);
    }

    // 3. The summary, when what it describes (or who signs it) changed.
    const signers = [...(o.sign?.gpgKeyIds ?? []), ...(o.sign?.ed25519KeyFile ? [`ed25519:${fileDigest(o.sign.ed25519KeyFile)}`] : [])];
    const state = { refs, deltas: [...existing].sort(), signers };
    const fingerprint = createHash('sha256').update(JSON.stringify(state)).digest('hex');
    const statePath = join(repo, PUBLISH_STATE);
    const recorded = readState(statePath);
    const sigOk = !signers.length || existsSync(join(repo, 'summary.sig'));
    const summaryWritten = recorded !== fingerprint || !existsSync(join(repo, 'summary')) || !sigOk;
    if (summaryWritten) {
      await o.reporter.task(`Writing the summary${o.sign ? ', signed' : ''}`, () => ostree.summaryUpdate(repo, o.sign, { signal }));
      writeFileSync(`${statePath}.tmp`, `${JSON.stringify({ fingerprint, ...state }, null, 1)}\n`);
      renameSync(`${statePath}.tmp`, statePath);
    }
    return { refs, deltasMade, deltasDeleted, pruned, summaryWritten, signed: Boolean(o.sign), changed: summaryWritten || deltasMade.length > 0 || pruned.length > 0 || deltasDeleted.length > 0 };
  });
}

function readState(path: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { fingerprint?: string }).fingerprint;
  } catch {
    return undefined;
  }
}

function fileDigest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16);
}
