/**
 * Freeing space (`cleanup`): the pending deployment (on the running system), the rollback
 * deployment(s), unused refs/objects and downloaded packages, the apt lists.
 * `ostree admin pin`-ned deployments are never removed.
 *
 * Removal cannot be undone, so the transaction is built so that no step can leave a broken
 * state: every deployment removal is one `ostree admin undeploy` (an atomic boot
 * configuration switch), the default and the booted deployment are never candidates, and
 * pruning only removes what nothing references.
 */
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { aptCacheDir, LAYERED_REF_PREFIX } from './state-paths.js';
import type { OperationOptions } from './transaction/transaction.js';
import { runOnSysroot } from './deployments/sysroot-transaction.js';
import { resolveRefFile } from '../ostree/refs.js';
import * as ostree from '../system/ostree.js';
import { basesOf, setBaseRefs } from './deployments/base-refs.js';
import { deploymentId, describeDeployment, recordPrune, undeployByPath } from './deployments/deploy.js';
import { disarmBootCounting } from './deployments/arm.js';
import type { Deployment } from './deployments/sysroot.js';
import { readLiveState } from './deployments/live-state.js';
import { AptOstreeError } from '../errors.js';
import { dropBaseCheckouts } from './layering/base-checkout.js';
import { dropUnusedKept, keptInUse } from './layering/kept-packages.js';

export interface CleanupOptions extends OperationOptions {
  /** The pending deployment(s): what the next boot would start instead of the running one. */
  pending?: boolean;
  /** The rollback deployment(s). */
  rollback?: boolean;
  /** Unused refs and objects, and the downloaded packages. */
  base?: boolean;
  /** The cached package lists. */
  repomd?: boolean;
}

/** The deployments of one kind (pending, rollback) there were, and the pinned ones kept. */
export interface CleanupCandidates {
  found: number;
  /** Descriptions ("3.0 (1a2b3c4d5e6f.0)") of the pinned deployments kept. */
  pinned: string[];
}

export interface CleanupResult {
  /** With pending: also whether a deployment of the stateroot is booted (else nothing can be pending). */
  pending?: CleanupCandidates & { booted: boolean };
  rollback?: CleanupCandidates;
  listsRemoved: boolean;
  /** The deployments removed, highest index first. */
  removed: Array<{ description: string; id: string }>;
  removedRefs: string[];
  /** What the repository freed; measured only when objects could go (base, or a deployment removed). */
  repositoryFreed?: { bytes: number; objects: number };
  /** The kept packages of layers (layering/kept-packages.ts) removed as no deployment uses them (base). */
  keptRemoved?: string[];
  /** Bytes of package cache freed (base, repomd). */
  cacheFreed?: number;
}

interface Usage {
  bytes: number;
  files: number;
}

export async function cleanupDeployments(opts: CleanupOptions): Promise<CleanupResult> {
  // ostree cannot load a sysroot with an unreadable origin: say so before taking the lock.
  return runOnSysroot(opts, 'unloadable', async ({ tx, sysroot, os }) => {
    const result: CleanupResult = { listsRemoved: false, removed: [], removedRefs: [] };
    const objectsDir = join(sysroot.repoPath, 'objects');

    const doomed: Deployment[] = [];
    const choose = (list: Deployment[]): CleanupCandidates => {
      const pinned: string[] = [];
      for (const d of list) {
        if (d.pinned) pinned.push(describeDeployment(sysroot, d));
        else doomed.push(d);
      }
      return { found: list.length, pinned };
    };
    const mine = sysroot.deploymentsOf(os);
    const booted = sysroot.booted?.osname === os ? sysroot.booted : undefined;
    if (opts.pending && booted && readLiveState(booted)) {
      throw new AptOstreeError('The running system has live changes from the pending deployment (apply-live); dropping it would boot a system without them.', {
        hint: 'Reboot first (the pending deployment boots, without the overlay), then remove what you do not want.',
      });
    }
    if (opts.pending) {
      // Pending: what the next boot would start instead of the running deployment.
      const pending = booted ? mine.filter((d) => d.index < booted.index) : [];
      result.pending = { ...choose(pending), booted: Boolean(booted) };
    }
    if (opts.rollback) {
      const anchor = booted ?? mine[0];
      result.rollback = choose(anchor ? mine.filter((d) => d.index > anchor.index) : []);
    }
    // Cached packages and lists go first: they are plain files, and on a full disk ostree
    // needs a little room to write before it can remove anything.
    let cacheFreed = 0;
    if (opts.base) {
      tx.throwIfCancelled();
      tx.irreversible('the removal of the cached packages');
      const archives = join(aptCacheDir(sysroot.path, os), 'archives');
      cacheFreed += removeMatching(archives, (n) => n.endsWith('.deb'));
      cacheFreed += removeMatching(join(archives, 'partial'), () => true);
      // The kept checkouts of bases (layering's sandbox roots) are made again when needed.
      dropBaseCheckouts(tx, sysroot.path);
    }
    if (opts.repomd) {
      tx.throwIfCancelled();
      tx.irreversible('the removal of the cached package lists');
      const cacheDir = aptCacheDir(sysroot.path, os);
      const lists = join(cacheDir, 'lists');
      cacheFreed += diskUsage(lists).bytes;
      rmSync(lists, { recursive: true, force: true });
      cacheFreed += removeMatching(cacheDir, (n) => n.endsWith('.bin'));
      result.listsRemoved = true;
    }

    if (doomed.length || opts.base) {
      // Before anything prunes: keep the bases of the layered deployments that stay, and no
      // others. Undone by setting them for the deployments there are by then: a removal that
      // already happened cannot be undone, and a ref to a base its prune deleted would break
      // fsck and every later prune.
      const staying = sysroot.deployments.filter((d) => !doomed.includes(d)).map((d) => d.checksum);
      await setBaseRefs(sysroot.repoPath, basesOf(sysroot, staying));
      tx.onUndo('put back the base refs', async () => {
        // The deployments there are by now: some removals may have happened.
        const now = sysroot.reload();
        await setBaseRefs(now.repoPath, basesOf(now, now.deployments.map((d) => d.checksum)));
      });
    }
    // What the repository frees is measured only when objects can go: walking every object
    // takes a while on a real system, and -m alone never touches the repository.
    const repoBefore = doomed.length || opts.base ? diskUsage(objectsDir) : undefined;
    // Highest index first, so that removing one does not renumber the next.
    for (const d of doomed.sort((a, b) => b.index - a.index)) {
      tx.throwIfCancelled();
      const label = describeDeployment(sysroot, d);
      // One atomic boot configuration switch: done or not done, never half.
      await tx.reporter.task(`Removing deployment ${label}`, () => undeployByPath(sysroot, d.path));
      tx.irreversible(`the removal of deployment ${label}`);
      result.removed.push({ description: label, id: deploymentId(d) });
    }
    // With the pending deployment gone the booted one boots next: nothing is on trial.
    if (result.pending && doomed.some((d) => booted && d.index < booted.index)) disarmBootCounting(tx, sysroot.path);

    if (opts.base) {
      tx.throwIfCancelled();
      tx.irreversible('the removal of unused refs and objects');
      // Leftovers of interrupted deploys (deployment directories, old boot versions). ostree
      // writes a little before it removes anything: on a full disk, prune first, then again.
      const leftovers = () => tx.reporter.task('Removing unreferenced deployment leftovers', () => ostree.adminCleanup(sysroot.path));
      const cleanedFirst = await leftovers().then(
        () => true,
        (e: Error) => {
          tx.reporter.warn(`ostree admin cleanup failed; trying again after the prune: ${e.message}`);
          return false;
        },
      );
      // The deployments ostree kept after the undeploys above.
      const live = sysroot.reload();
      const used = new Set(live.deployments.map((d) => d.checksum));
      const prefix = LAYERED_REF_PREFIX.replace(/\/$/, '');
      for (const name of await ostree.listRefs(sysroot.repoPath, prefix)) {
        const ref = `${prefix}/${name}`;
        const target = resolveRefFile(sysroot.repoPath, ref);
        if (target && used.has(target)) continue;
        await ostree.setRef(sysroot.repoPath, ref, null);
        result.removedRefs.push(ref);
      }
      // The kept .debs of layers no deployment left has (after the archives cache: a file linked
      // from both frees its space only now).
      const kept = dropUnusedKept(sysroot.path, os, await keptInUse(live, os));
      cacheFreed += kept.bytes;
      result.keptRemoved = kept.files;
      await tx.reporter.task('Pruning unused objects', () => ostree.prune(sysroot.repoPath, { refsOnly: true }));
      recordPrune(sysroot.path);
      if (!cleanedFirst) {
        await leftovers().catch((e: Error) =>
          tx.reporter.warn(`ostree admin cleanup failed again, so leftovers of interrupted deploys stay until there is room for it: ${e.message}`),
        );
      }
    }

    if (repoBefore) {
      const repoAfter = diskUsage(objectsDir);
      result.repositoryFreed = { bytes: Math.max(0, repoBefore.bytes - repoAfter.bytes), objects: Math.max(0, repoBefore.files - repoAfter.files) };
    }
    if (opts.base || opts.repomd) result.cacheFreed = cacheFreed;
    return result;
  });
}

/** `du`-style usage of a tree: allocated bytes (each inode once) and the number of files. */
function diskUsage(dir: string): Usage {
  const seen = new Set<string>();
  let bytes = 0;
  let files = 0;
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      const st = lstatSync(p);
      files++;
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      bytes += st.blocks * 512;
    }
  };
  walk(dir);
  return { bytes, files };
}

/** Remove the plain files of `dir` whose names match; returns the bytes freed. */
function removeMatching(dir: string, match: (name: string) => boolean): number {
  if (!existsSync(dir)) return 0;
  let freed = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isFile() || !match(e.name)) continue;
    const p = join(dir, e.name);
    freed += lstatSync(p).blocks * 512;
    rmSync(p, { force: true });
  }
  return freed;
}
