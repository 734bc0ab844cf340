/**
 * upgrade, deploy REVISION and rebase REFSPEC: move the base of the default deployment to
 * another commit and rebuild the layer on it (layered packages, local .debs, removals), so
 * that everything the admin asked for is carried over and resolved again against the new base.
 */
import { AptOstreeError, UnchangedError } from '../../errors.js';
import * as ostree from '../../system/ostree.js';
import type { Reporter } from '../../output/reporter.js';
import { clearCachedUpdate, dropStaleCachedUpdate, makeCachedUpdate, writeCachedUpdate } from './cached-update.js';
import { deployAsDefault } from '../deployments/deploy.js';
import { buildLayeredCommit, layerInputsOf } from '../layering/build.js';
import { localDebDir } from '../state-paths.js';
import { hasClientLayer, newOrigin, type Origin } from '../deployments/origin.js';
import { commitPackages, diffPackages, isEmptyDiff, type PackageDiff, type PackageEntry } from '../deployments/packages.js';
import type { Deployment, Sysroot } from '../deployments/sysroot.js';
import { checkRemoteTrust, configureRemote, refusedPull } from '../deployments/verification.js';
import { requestName } from '../deployments/origin.js';
import { checkRefBinding, refusedBinding } from '../deployments/ref-binding.js';
import { metadataStrings } from '../../ostree/commit.js';
import { parseRefspec } from '../../ostree/refs.js';
import { transactionSettings } from '../deployments/settings.js';
import type { OperationOptions } from '../transaction/transaction.js';
import { runOnSysroot } from '../deployments/sysroot-transaction.js';
import type { AptPlan } from '../../system/apt.js';
import type { DpkgPackage } from '../../debian/deb822.js';
import { META } from '../../layout/commit-metadata.js';

export type UpgradeTarget =
  | { kind: 'upgrade' }
  | { kind: 'deploy'; revision: string }
  | { kind: 'rebase'; refspec: string; revision?: string; skipPurge?: boolean; remoteSetup?: { url?: string; gpgImport?: string; noVerify?: boolean } };

export interface UpgradeOptions extends OperationOptions {
  target: UpgradeTarget;
  check?: boolean;
  preview?: boolean;
  cacheOnly?: boolean;
  /** Refresh the package lists of the layer whatever their age (--refresh). */
  refreshLists?: boolean;
  downloadOnly?: boolean;
  allowDowngrade?: boolean;
  /** Refuse an older base even where it is allowed otherwise (rebase, --allow-downgrade). */
  disallowDowngrade?: boolean;
  unchangedExit77?: boolean;
  /**
   * Base commits not to deploy (the automatic update's: those a deployment fell back from, see
   * health/record.ts), each with the sentence that says why; a newer commit is a new candidate.
   */
  refusedBases?: Map<string, string>;
}

export interface UpgradeResult {
  os: string;
  previous: Deployment;
  oldBase: string;
  newBase: string;
  oldVersion?: string;
  newVersion?: string;
  /** Package changes from the current default to the new deployment (or the would-be one). */
  diff?: PackageDiff;
  checkOnly: boolean;
  downloadOnly: boolean;
  staged: boolean;
  newChecksum?: string;
  refspec: string;
  /** What was asked: upgrade, deploy or rebase. */
  target: UpgradeTarget['kind'];
  /** ostree's account of the download ("1 delta parts, 2 loose fetched; 27 KiB transferred in 0 seconds"), when it gave one. */
  transferred?: string;
}

export async function upgradeDeployment(opts: UpgradeOptions): Promise<UpgradeResult> {
  // A rebase is the repair of a damaged origin (see originForRebase).
  return runOnSysroot(opts, opts.target.kind === 'rebase' ? 'unloadable' : 'all', async ({ tx, sysroot, os }) => {
    const merge = sysroot.mergeDeployment(os);
    if (!merge) {
      throw new AptOstreeError(`The stateroot '${os}' has no deployment to upgrade.`, { hint: 'Provision it first with `apt-ostree admin provision`.' });
    }
    const t = opts.target;
    const origin = t.kind === 'rebase' ? originForRebase(sysroot, merge, opts.reporter) : sysroot.requireOrigin(merge);
    if (t.kind === 'upgrade' && origin.overrideCommit) {
      if (opts.check) clearCachedUpdate(sysroot.path);
      throw new UnchangedError(
        `No upgrade available: the deployment is pinned to commit ${origin.overrideCommit} (by \`apt-ostree deploy\`). Use \`apt-ostree deploy\` or \`apt-ostree rebase\` to move it.`,
        Boolean(opts.unchangedExit77),
      );
    }
    const refspec = t.kind === 'rebase' ? normalizeRefspec(t.refspec, origin.refspec) : origin.refspec;
    const parsed = parseRefspec(refspec);
    if (!parsed) {
      throw new AptOstreeError(`'${refspec}' is not an OSTree refspec.`, { hint: 'Give REMOTE:REF, such as origin:debian/12/x86_64/base (`ostree remote refs REMOTE` lists them).' });
    }
    const { remote, ref } = parsed;
    const revision = t.kind === 'deploy' ? t.revision : t.kind === 'rebase' ? t.revision : undefined;
    const oldBase = sysroot.baseChecksum(merge);
    const repo = sysroot.repoPath;
    const settings = await transactionSettings(sysroot, os, opts.reporter);
    const timeoutSeconds = settings.downloads.timeoutSeconds;

    // 0. A rebase to a new remote (--url) or with new keys (--gpg-import) sets the remote up first.
    if (t.kind === 'rebase' && t.remoteSetup && remote) {
      const url = t.remoteSetup.url ?? (await ostree.remoteUrl(repo, remote));
      if (!url) throw new AptOstreeError(`There is no remote ${remote} to import the keys for.`, { hint: `Give its URL too: --url URL --gpg-import FILE.` });
      if (t.remoteSetup.url !== undefined) checkRemoteTrust(repo, { remote, url, gpgImport: t.remoteSetup.gpgImport, noVerify: t.remoteSetup.noVerify });
      for (const c of await configureRemote(tx, repo, { remote, url, gpgImport: t.remoteSetup.gpgImport, noVerify: t.remoteSetup.noVerify })) opts.reporter.info(c);
    } else if (t.kind === 'rebase' && remote && !opts.cacheOnly && (await ostree.remoteUrl(repo, remote)) === undefined) {
      throw new AptOstreeError(`There is no remote ${remote} in ${sysroot.path}.`, { hint: `Give its URL and its publisher's key: apt-ostree rebase ${refspec} --url URL --gpg-import FILE.` });
    }

    // 1. Fetch the target commit (ostree's last line says how much it downloaded, and how).
    let transferred: string | undefined;
    const onLine = (line: string) => {
      if (/transferred in/.test(line)) transferred = line.trim().replace(/;\s*[^;]*content written$/, '');
      else opts.reporter.debug(line);
    };
    const previousRef = await ostree.revParse(repo, refspec);
    if (remote && !opts.cacheOnly) {
      await opts.reporter.task(`Fetching ${refspec}`, () =>
        ostree.pull({ repo, remote, refs: [ref], depth: revision ? -1 : 0, commitOnly: Boolean(opts.check) || Boolean(revision), timeoutSeconds, signal: tx.signal, onLine }).catch(refuse(repo, remote, ref)),
      );
      tx.onUndo(`restore ${refspec}`, () => (previousRef ? ostree.setRef(repo, refspec, previousRef) : ostree.setRef(repo, refspec, null)));
    }
    const newBase = revision ? await findRevision(sysroot, refspec, revision) : await ostree.revParse(repo, refspec);
    if (!newBase) throw new AptOstreeError(`The ref ${refspec} is not in the repository.`, { hint: remote ? 'Run again without --cache-only to fetch it.' : `Check the ref name (ostree refs --repo=${repo}).` });
    if (remote && revision && !opts.check && !opts.cacheOnly) {
      await opts.reporter.task(`Fetching ${newBase.slice(0, 12)}`, () => ostree.pull({ repo, remote, refs: [newBase], timeoutSeconds, signal: tx.signal, onLine }).catch(refuse(repo, remote, ref, newBase)));
    }
    // A commit fetched by checksum is not checked against its ref by ostree (see ref-binding.ts).
    checkRefBinding(sysroot, newBase, refspec);
    const oldCommit = sysroot.commit(oldBase);
    const newCommit = sysroot.commit(newBase);
    const result: UpgradeResult = {
      os, previous: merge, oldBase, newBase, refspec,
      oldVersion: typeof oldCommit?.metadata.version === 'string' ? oldCommit.metadata.version : undefined,
      newVersion: typeof newCommit?.metadata.version === 'string' ? newCommit.metadata.version : undefined,
      checkOnly: Boolean(opts.check), downloadOnly: Boolean(opts.downloadOnly), staged: false, target: t.kind,
      ...(transferred ? { transferred } : {}),
    };

    // 2. Not a commit that failed its health checks here (automatic updates), nor one from the past unless asked.
    const refusal = newBase !== oldBase ? opts.refusedBases?.get(newBase) : undefined;
    if (refusal) throw new UnchangedError(refusal, Boolean(opts.unchangedExit77));
    const downgradeAllowed = !opts.disallowDowngrade && (opts.allowDowngrade || t.kind === 'rebase');
    if (newBase !== oldBase && oldCommit && newCommit && newCommit.timestamp < oldCommit.timestamp && !downgradeAllowed) {
      throw new AptOstreeError(`${newBase.slice(0, 12)} (${result.newVersion ?? 'no version'}) is older than the current base ${oldBase.slice(0, 12)} (${result.oldVersion ?? 'no version'}).`, {
        hint: opts.disallowDowngrade ? 'Leave out --disallow-downgrade to deploy it anyway.' : 'Use --allow-downgrade to deploy it anyway.',
      });
    }

    const newOrigin: Origin = { ...origin, refspec, overrideCommit: t.kind === 'deploy' ? newBase : t.kind === 'rebase' && t.revision ? newBase : undefined };
    const current = (await commitPackages(sysroot, merge.checksum, { treeRoot: merge.path })).packages;

    if (opts.check) {
      // `upgrade --check` keeps the cached update that `status` shows (see cached-update.ts).
      const records = t.kind === 'upgrade';
      if (newBase === oldBase) {
        if (records) clearCachedUpdate(sysroot.path);
        throw new UnchangedError('No upgrade available.', Boolean(opts.unchangedExit77));
      }
      let baseDiff: PackageDiff | undefined;
      if (opts.preview || records) {
        // The base's own package changes, from the package lists in the commits' metadata.
        const [from, to] = await Promise.all([commitPackages(sysroot, oldBase), commitPackages(sysroot, newBase)].map((p) => p.catch(() => undefined)));
        if (from && to) baseDiff = diffPackages(from.packages, to.packages);
      }
      if (opts.preview) result.diff = baseDiff;
      if (records) writeCachedUpdate(sysroot.path, makeCachedUpdate({ ...result, os, timestamp: newCommit?.timestamp ?? 0, diff: baseDiff }));
      return result;
    }

    // 3. Rebuild the layer on the new base (or take the base as it is).
    const layered = hasClientLayer(newOrigin);
    let deployRev = newBase;
    let after: PackageEntry[];
    if (layered) {
      const input = {
        tx, sysroot, os, baseChecksum: newBase, mergeDeployment: merge,
        ...layerInputsOf(newOrigin, localDebDir(sysroot.path, os)),
        cacheOnly: opts.cacheOnly, reporter: opts.reporter,
        // upgrade asks what is newer, in the apt repositories too; deploy and rebase ask for a
        // given base, and take the lists as they are unless they are stale.
        refreshLists: t.kind === 'upgrade' ? 'upgrade looks for newer packages' : opts.refreshLists ? '--refresh' : undefined,
        listsMaxAgeSeconds: settings.listsMaxAgeSeconds,
        installRecommends: settings.installRecommends,
        downloads: settings.downloads,
      };
      // Same base: is there anything new in the apt repositories for the layer? Decided from
      // the build's own resolution, before anything is downloaded or built.
      const onPlan = newBase === oldBase && t.kind === 'upgrade'
        ? (plan: AptPlan, base: DpkgPackage[]) => {
            const predicted = applyPlan(base.map((p) => ({ name: p.name, version: p.version, arch: p.architecture })), plan);
            if (isEmptyDiff(diffPackages(current, predicted))) throw new UnchangedError('No upgrade available.', Boolean(opts.unchangedExit77));
          }
        : undefined;
      const build = await buildLayeredCommit({ ...input, onPlan, downloadOnly: opts.downloadOnly });
      if (!build.commit) return result;
      deployRev = build.commit;
      after = build.packages.map((p) => ({ name: p.name, version: p.version, arch: p.architecture }));
    } else {
      if (newBase === oldBase && t.kind !== 'rebase') throw new UnchangedError('No upgrade available.', Boolean(opts.unchangedExit77));
      if (opts.downloadOnly) {
        if (remote && revision) await ostree.pull({ repo, remote, refs: [newBase], timeoutSeconds, signal: tx.signal }).catch(refuse(repo, remote, ref, newBase));
        return result;
      }
      after = (await commitPackages(sysroot, newBase)).packages;
    }
    result.diff = diffPackages(current, after);
    const deployed = await deployAsDefault(tx, sysroot, os, { revision: deployRev, origin: newOrigin });
    result.staged = deployed.staged;
    result.newChecksum = deployRev;

    // 4. A cached update this deployment caught up with is no longer news.
    dropStaleCachedUpdate(sysroot.path, { os, refspec, checksum: newBase, timestamp: newCommit?.timestamp });

    // 5. A rebase drops the old ref unless asked to keep it (and no deployment still uses it).
    if (t.kind === 'rebase' && !t.skipPurge && origin.refspec && origin.refspec !== refspec) {
      const stillUsed = deployed.sysroot.deployments.some((d) => d.origin?.refspec === origin.refspec);
      if (!stillUsed) await ostree.setRef(repo, origin.refspec, null).catch(() => undefined);
    }
    return result;
  });
}

/**
 * The origin a rebase starts from. On a damaged origin file the rebase is the repair: nothing
 * is taken from that file (not even its refspec), only what the deployment's commit records of
 * its layer (requested packages, removals, initramfs), so that no layered request is lost.
 */
function originForRebase(sysroot: Sysroot, merge: Deployment, reporter: Reporter): Origin {
  sysroot.assertOriginsLoadable();
  if (merge.origin) return merge.origin;
  const commit = sysroot.commit(merge.checksum);
  const recorded = (key: string) => (commit ? metadataStrings(commit, key) : []);
  const initramfs = commit?.metadata[META.initramfsArgs];
  const origin: Origin = {
    ...newOrigin(''),
    requestedPackages: recorded(META.requestedPackages),
    removedBasePackages: recorded(META.removedBasePackages),
    regenerateInitramfs: initramfs !== undefined,
    initramfsArgs: initramfs !== undefined ? recorded(META.initramfsArgs) : [],
  };
  const requestedNames = new Set(origin.requestedPackages.map(requestName));
  const lost = [...recorded(META.packages).filter((n) => !requestedNames.has(n)), ...recorded(META.replacedBasePackages)];
  const kept = [...origin.requestedPackages, ...origin.removedBasePackages.map((n) => `(removed) ${n}`), ...(origin.regenerateInitramfs ? ['(initramfs regeneration)'] : [])];
  reporter.warn(
    `The origin file ${merge.originPath} is damaged (${merge.originDamage?.problem ?? 'unreadable'}); the new deployment gets a new one` +
      (kept.length ? `, with the layered requests its commit records: ${kept.join(', ')}.` : '.') +
      (lost.length ? ` Not recorded well enough to carry over (install them again if needed): ${lost.join(' ')}.` : ''),
  );
  return origin;
}

/** A pull's failure, said as a refusal when ostree's verification stopped it (see verification.ts). */
function refuse(repo: string, remote: string, ref: string, commit?: string): (e: unknown) => never {
  return (e) => {
    throw refusedBinding(e, { remote, ref }) ?? refusedPull(e, { repo, remote, ref, commit }) ?? e;
  };
}

/** `ref` alone keeps the current remote; `remote:ref` switches both; `remote:` keeps the ref. */
function normalizeRefspec(given: string, current: string): string {
  const cur = parseRefspec(current) ?? { ref: current };
  if (given.endsWith(':')) return `${given}${cur.ref}`;
  if (given.includes(':')) return given;
  return cur.remote ? `${cur.remote}:${given}` : given;
}

/**
 * A revision, as rpm-ostree takes it: `revision=CHECKSUM` (a checksum or unique prefix),
 * `version=VERSION` (a version on the ref's history), or either without its prefix (a checksum
 * when it reads as one).
 */
async function findRevision(sysroot: Sysroot, refspec: string, revision: string): Promise<string> {
  const byChecksum = revision.startsWith('revision=');
  const given = byChecksum ? revision.slice('revision='.length) : revision;
  if (!revision.startsWith('version=')) {
    if (/^[0-9a-f]{64}$/.test(given)) return given;
    if (/^[0-9a-f]{6,63}$/.test(given)) {
      const full = await ostree.revParse(sysroot.repoPath, given);
      if (full) return full;
    }
    if (byChecksum) {
      throw new AptOstreeError(`No commit ${given} in the repository of ${sysroot.path}.`, {
        hint: /^[0-9a-f]+$/.test(given) ? 'Give the whole checksum, so that it can be fetched from the remote.' : 'revision= takes a commit checksum; give a version as version=VERSION.',
      });
    }
  }
  const wanted = revision.startsWith('version=') ? revision.slice('version='.length) : revision;
  let cur = await ostree.revParse(sysroot.repoPath, refspec);
  for (let depth = 0; cur && depth < 1000; depth++) {
    const c = sysroot.commit(cur);
    if (!c) break;
    if (c.metadata.version === wanted) return cur;
    cur = c.parent;
  }
  throw new AptOstreeError(`No commit with version or checksum '${revision}' on ${refspec}.`, {
    hint: 'Give a checksum or a version from the history of the ref (`ostree log`).',
  });
}

/** What a package list becomes after apt's plan. */
function applyPlan(base: PackageEntry[], plan: AptPlan): PackageEntry[] {
  const map = new Map(base.map((p) => [`${p.name}:${p.arch}`, p]));
  for (const r of plan.remove) for (const k of [...map.keys()]) if (k.startsWith(`${r.name}:`)) map.delete(k);
  for (const i of plan.install) {
    for (const k of [...map.keys()]) if (k.startsWith(`${i.name}:`) && (i.architecture === 'all' || k.endsWith(`:${i.architecture}`) || k.endsWith(':all'))) map.delete(k);
    map.set(`${i.name}:${i.architecture}`, { name: i.name, version: i.version, arch: i.architecture });
  }
  return [...map.values()];
}
