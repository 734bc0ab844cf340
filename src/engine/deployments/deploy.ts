/**
 * Helpers for commands that add, remove or reorder whole deployments (kargs, rollback,
 * cleanup): naming a deployment in words, finding one again after ostree renumbered the list,
 * removing one by identity, and asking ostree itself what it sees (the check that our own
 * file reading and ostree agree after a change).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { countCommitObjects } from '../../ostree/objects.js';
import { join } from 'node:path';
import { AptOstreeError } from '../../errors.js';
import { listDir } from '../../system/fs.js';
import * as ostree from '../../system/ostree.js';
import { removeImmutableFlag } from '../../system/files.js';
import { basesOf, setBaseRefs } from './base-refs.js';
import { prepareLockedStaging } from './finalization.js';
import { armBootCounting } from './arm.js';
import { checkNewDeploymentKargs } from './boot-kargs.js';
import { originFileText, type Origin } from './origin.js';
import { keptRollbacks, supersededDeployments } from './rollback-points.js';
import { Sysroot, type Deployment } from './sysroot.js';
import { removeTree, type Transaction } from '../transaction/transaction.js';
import { pruneRecordPath } from '../state-paths.js';

/** `checksum.serial`, the name ostree gives a deployment (and its directory). */
export function deploymentId(d: Pick<Deployment, 'checksum' | 'serial'>): string {
  return `${d.checksum}.${d.serial}`;
}

/** "3.0 (1a2b3c4d5e6f.0)" — the version when the commit has one, and the short id. */
export function describeDeployment(sysroot: Sysroot, d: Deployment): string {
  const version = sysroot.commit(d.checksum)?.metadata.version;
  const id = `${d.checksum.slice(0, 12)}.${d.serial}`;
  return typeof version === 'string' && version ? `${version} (${id})` : id;
}

/** The summary's line for the deployment a transaction made (install, override, upgrade, …). */
export function newDeploymentLine(r: { staged: boolean; os: string; newChecksum?: string }): string {
  return `${r.staged ? 'Staged' : 'New'} deployment: ${r.os} ${r.newChecksum?.slice(0, 12) ?? ''} (default for the next boot; the previous one is kept for rollback)`;
}

/** Deployments as `ostree admin status` lists them, in its order. */
function parseAdminStatus(text: string): Array<{ os: string; id: string; pinned: boolean; staged: boolean }> {
  const out: Array<{ os: string; id: string; pinned: boolean; staged: boolean }> = [];
  for (const line of text.split('\n')) {
    const m = /^[* ] (\S+) ([0-9a-f]{64}\.\d+)(.*)$/.exec(line);
    if (m) out.push({ os: m[1]!, id: m[2]!, pinned: false, staged: /\(staged\)/.test(m[3] ?? '') });
    else if (/^\s+Pinned: yes/.test(line) && out.length) out.at(-1)!.pinned = true;
  }
  return out;
}

/** What `ostree admin status` says the deployments are, as `checksum.serial` in boot order. */
export async function ostreeDeploymentOrder(sysrootPath: string): Promise<string[]> {
  return parseAdminStatus(await ostree.adminStatus(sysrootPath)).map((d) => d.id);
}

/** Find a deployment again in a freshly loaded sysroot (indexes change, directories do not). */
function findByPath(sysroot: Sysroot, path: string): Deployment | undefined {
  return sysroot.deployments.find((d) => d.path === path);
}

/**
 * Remove one deployment (`ostree admin undeploy`, which rewrites the boot configuration
 * atomically and deletes its directory). Looked up by its directory at the time of the call,
 * in `earlier` (any load of the sysroot) read again.
 */
export async function undeployByPath(earlier: Sysroot, path: string): Promise<void> {
  // Read again at the call: each undeploy renumbers the deployments after it.
  const sysroot = earlier.reload();
  const d = findByPath(sysroot, path);
  if (!d) return; // already gone
  if (d.booted) throw new AptOstreeError(`Refusing to remove the booted deployment ${deploymentId(d)}.`);
  await ostree.adminUndeploy(sysroot.path, d.index);
}

/**
 * After a deploy that must have added exactly one deployment, return it and register undoing
 * it (removing it again) with the transaction, so that a failure in a later step of the
 * transaction leaves the previous default in place.
 */
export function adoptNewDeployment(tx: Transaction, before: Sysroot): { sysroot: Sysroot; added: Deployment } {
  // ostree just wrote a new deployment and boot configuration.
  const after = before.reload();
  const known = new Set(before.deployments.map((d) => d.path));
  const added = after.deployments.find((d) => !known.has(d.path));
  if (!added) {
    throw new AptOstreeError('ostree admin deploy succeeded but no new deployment appeared in the boot configuration.', {
      hint: 'Check `ostree admin status`; this is a bug in apt-ostree or ostree.',
    });
  }
  tx.onUndo(`undeploy the new deployment ${deploymentId(added)}`, () => undeployByPath(after, added.path));
  return { sysroot: after, added };
}

export interface NewDeploymentRequest {
  os: string;
  /** The commit to deploy. */
  revision: string;
  origin: Origin;
  /** The complete kernel argument list, in order (written with --karg-none + --karg-append). */
  kargs: string[];
  /** Keep every existing deployment (default), so that undoing the step is exact. */
  retain?: boolean;
  /**
   * Prune the repository after the deploy, as `ostree admin deploy` does by default (true),
   * never (false: nothing new to prune, as for a kargs change), or only once it has grown
   * ('when-grown': layering, see repositoryGrown).
   */
  prune?: boolean | 'when-grown';
}

export interface NewDeployment {
  sysroot: Sysroot;
  added: Deployment;
  staged: boolean;
  /** The boot tries GRUB gives it (boot counting armed), when it counts here. */
  bootTries?: number;
}

/**
 * Write a new deployment of `revision` with `origin` and exactly `kargs`, as the new default.
 * Deployed with --retain, so the step only adds (its undo, removing the new deployment, gives
 * back exactly the previous list); `dropSuperseded` then removes what a plain
 * `ostree admin deploy` would have dropped, once nothing can fail any more. Staged on the
 * running system (ostree finalizes it at shutdown), written directly on a sysroot directory.
 */
export async function deployNew(tx: Transaction, sysroot: Sysroot, req: NewDeploymentRequest): Promise<NewDeployment> {
  await checkNewDeploymentKargs(sysroot.path, req.kargs, req.os);
  const originFile = join(tx.workDir('new-deployment'), 'origin');
  // serializeOrigin also drops [libostree-transient]: a new deployment starts unpinned.
  // originFileText refuses an origin that would not read back as the same request.
  writeFileSync(originFile, originFileText(req.origin));
  const staged = sysroot.isBootedSystem;
  // --lock-finalization: staged so that it waits for finalize-deployment (see finalization.ts).
  const lockFinalization = tx.lockFinalization && (await prepareLockedStaging(sysroot)).ostreeOption;
  const prune = req.prune === 'when-grown' ? repositoryGrown(sysroot.path) : req.prune !== false;
  // Before the deploy prunes the repository: keep every layered deployment's base, this one's too.
  const restoreBaseRefs = await setBaseRefs(sysroot.repoPath, basesOf(sysroot, [...sysroot.deployments.map((d) => d.checksum), req.revision]));
  tx.onUndo('put back the base refs', restoreBaseRefs);
  tx.enterCommitPhase();
  try {
    await tx.reporter.task(staged ? 'Staging the new deployment' : 'Writing the new deployment', () =>
      ostree.adminDeploy({ sysroot: sysroot.path, os: req.os, revision: req.revision, originFile, kargsNone: true, kargs: req.kargs, retain: !staged && req.retain !== false, stage: staged, lockFinalization, noPrune: !prune }),
    );
    if (prune && !staged) recordPrune(sysroot.path);
  } catch (e) {
    removeUnlistedDeployments(sysroot, req.os, req.revision);
    throw e;
  }
  const { sysroot: after, added } = adoptNewDeployment(tx, sysroot);
  // ostree rebuilds the list from --karg-none/--karg-append: check it wrote exactly ours.
  if (!staged && (added.kargs.length !== req.kargs.length || added.kargs.some((k, i) => k !== req.kargs[i]))) {
    throw new AptOstreeError('The new deployment did not get the intended kernel arguments; it was removed again.', {
      detail: `intended: ${req.kargs.join(' ')}\nwritten:  ${added.kargs.join(' ')}`,
    });
  }
  // GRUB gives the new default its tries to pass its health checks (deployments/arm.ts).
  const bootTries = armBootCounting(tx, after, req.os);
  return { sysroot: after, added, staged, ...(bootTries ? { bootTries } : {}) };
}

/**
 * Every layering transaction leaves its previous layered commit behind, unreferenced, with the
 * few objects only it had. Pruning them walks every commit the repository keeps (a second on a
 * large image), so a layering deploy prunes only once the repository holds PRUNE_AFTER_COMMITS
 * more commit objects than after the last prune. Upgrades (a new base: many objects to free)
 * and `cleanup -b` prune every time; base refs keep every deployment's base through all of it.
 */
const PRUNE_AFTER_COMMITS = 10;

export function repositoryGrown(sysrootPath: string): boolean {
  let after: number;
  try {
    after = Number.parseInt(readFileSync(pruneRecordPath(sysrootPath), 'utf8'), 10);
  } catch {
    after = NaN;
  }
  // No record (or a damaged one): prune, which writes it.
  if (!Number.isSafeInteger(after)) return true;
  return countCommitObjects(join(sysrootPath, 'ostree', 'repo')) >= after + PRUNE_AFTER_COMMITS;
}

/** After a prune: remember how many commits the repository kept. */
export function recordPrune(sysrootPath: string): void {
  try {
    writeFileSync(pruneRecordPath(sysrootPath), `${countCommitObjects(join(sysrootPath, 'ostree', 'repo'))}\n`);
  } catch {
    // Without the record, the next layering deploy prunes: correct, only slower.
  }
}

/**
 * A deploy that failed halfway (a full disk while it copied /etc or wrote the origin) leaves the
 * new deployment's directory behind, listed by no boot entry: remove it, or it takes space until
 * the next cleanup. Without `ostree admin cleanup`, which itself needs room to write.
 */
function removeUnlistedDeployments(before: Sysroot, os: string, revision: string): void {
  const dir = join(before.path, 'ostree', 'deploy', os, 'deploy');
  let listed: Set<string>;
  try {
    // After a failed ostree admin deploy: what it listed before it stopped.
    listed = new Set(before.reload().deployments.map((d) => d.path));
  } catch {
    return; // cannot tell what is listed: leave it to `cleanup -b`
  }
  for (const name of listDir(dir)) {
    const path = join(dir, name);
    if (!name.startsWith(`${revision}.`) || name.endsWith('.origin') || listed.has(path)) continue;
    // ostree makes a finished deployment immutable; a half-written one may already be.
    removeImmutableFlag(path);
    removeTree(path);
    rmSync(`${path}.origin`, { force: true });
  }
}

/**
 * After `deployNew`: remove the deployments of `os` that are not to be kept. A plain
 * `ostree admin deploy` keeps the new one, the booted one, the merge deployment — the previous
 * default —, pinned ones and other stateroots'; with [Updates] KeepRollbacks=N the N newest
 * earlier unpinned ones instead of only the previous default (rollback-points.ts). Best effort:
 * the new deployment is in place, so a failure here is only reported. Returns what was removed.
 */
export async function dropSuperseded(tx: Transaction, before: Sysroot, result: NewDeployment, os: string): Promise<Deployment[]> {
  if (result.staged) return []; // ostree applies its own policy when it finalizes
  const merge = (before.booted?.osname === os ? before.booted : undefined) ?? before.defaultDeployment(os);
  const drop = supersededDeployments(result.sysroot, result.added, os, keptRollbacks(before, os), new Set([merge?.path]));
  const removed: Deployment[] = [];
  for (const d of drop) {
    try {
      await undeployByPath(before, d.path);
      removed.push(d);
    } catch (e) {
      tx.reporter.warn(`could not remove the old deployment ${deploymentId(d)}: ${(e as Error).message}`);
    }
  }
  return removed;
}

/**
 * The usual end of a transaction: `revision` with `origin` becomes the new default, keeping
 * the current default's kernel arguments unless others are given. A plain deploy (ostree drops
 * the old rollback in the same atomic swap; with KeepRollbacks above 1 a deploy that keeps all,
 * then dropSuperseded): it is the last step, so nothing after it needs
 * the exact undo that --retain gives kargs, and one boot configuration write is half the cost.
 */
export async function deployAsDefault(
  tx: Transaction,
  sysroot: Sysroot,
  os: string,
  req: { revision: string; origin: Origin; kargs?: string[]; prune?: NewDeploymentRequest['prune'] },
): Promise<NewDeployment> {
  const kargs = req.kargs ?? sysroot.mergeDeployment(os)?.kargs ?? [];
  // [Updates] KeepRollbacks above 1: keep every deployment, then drop what is beyond the count.
  if (keptRollbacks(sysroot, os) > 1 && !sysroot.isBootedSystem) {
    const result = await deployNew(tx, sysroot, { os, revision: req.revision, origin: req.origin, kargs, retain: true, prune: req.prune });
    await dropSuperseded(tx, sysroot, result, os);
    return { ...result, sysroot: result.sysroot.reload() };
  }
  return deployNew(tx, sysroot, { os, revision: req.revision, origin: req.origin, kargs, retain: false, prune: req.prune });
}
