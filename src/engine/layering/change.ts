/**
 * Transactions that change what a deployment asks for on top of its base (layered packages,
 * local .debs, base package overrides, initramfs regeneration): new origin → layered commit
 * rebuilt on the same base → new default deployment. install, uninstall, override, reset and
 * initramfs are all this one transaction with a different change to the origin.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AptOstreeError, UnchangedError } from '../../errors.js';
import { installedPackages, type DpkgPackage } from '../../debian/deb822.js';
import { readDebInfo, type DebInfo } from '../../system/dpkg.js';
import { deployAsDefault } from '../deployments/deploy.js';
import { buildLayeredCommit, layerInputsOf, readBaseStatus, type LayerBuildResult } from './build.js';
import { localDebDir } from '../state-paths.js';
import { sha256File } from '../../hash.js';
import { hasClientLayer, serializeOrigin, type Origin } from '../deployments/origin.js';
import { commitPackages, diffPackages, packagesFromStatus, type PackageDiff, type PackageEntry } from '../deployments/packages.js';
import type { Deployment } from '../deployments/sysroot.js';
import { runOnSysroot } from '../deployments/sysroot-transaction.js';
import { transactionSettings } from '../deployments/settings.js';
import type { OperationOptions } from '../transaction/transaction.js';

/** A local .deb given on the command line, with the origin entry that refers to it. */
export interface LocalDeb {
  path: string;
  info: DebInfo;
  sha256: string;
  /** `SHA256:name_version_arch`, as stored in the origin. */
  entry: string;
}

export interface OriginChangeContext {
  /** Installed packages of the base commit. */
  base: DpkgPackage[];
  locals: LocalDeb[];
}

/** Compute the new origin from the current one; throw an AptOstreeError for a request that cannot be. */
export type OriginChange = (origin: Origin, ctx: OriginChangeContext) => Origin;

export interface DeploymentChangeOptions extends OperationOptions {
  change: OriginChange;
  /** Local .deb files given on the command line (read and checked before the lock). */
  localDebs?: string[];
  dryRun?: boolean;
  cacheOnly?: boolean;
  /** Refresh the package lists whatever their age (--refresh). */
  refreshLists?: boolean;
  downloadOnly?: boolean;
  unchangedExit77?: boolean;
  installRecommends?: boolean;
}

export interface DeploymentChangeResult {
  os: string;
  dryRun: boolean;
  downloadOnly: boolean;
  staged: boolean;
  previous: Deployment;
  origin: Origin;
  build?: LayerBuildResult;
  /** What changes from the current default deployment to the new one. */
  diff?: PackageDiff;
  newChecksum?: string;
}

export async function changeDeployment(opts: DeploymentChangeOptions): Promise<DeploymentChangeResult> {
  const locals = await Promise.all((opts.localDebs ?? []).map(readLocalDeb));
  return runOnSysroot(opts, 'all', async ({ tx, sysroot, os }) => {
    const merge = sysroot.mergeDeployment(os);
    if (!merge) {
      throw new AptOstreeError(`The stateroot '${os}' has no deployment with an origin to change.`, { hint: 'Provision it first with `apt-ostree admin provision`.' });
    }
    const reading = Date.now();
    // A damaged origin is refused here, before any work: never rebuilt from what could be read.
    const current = sysroot.requireOrigin(merge);
    const baseChecksum = sysroot.baseChecksum(merge);
    const baseStatus = await readBaseStatus(sysroot.repoPath, baseChecksum);
    const origin = opts.change(current, { base: installedPackages(baseStatus), locals });
    const settings = await transactionSettings(sysroot, os, opts.reporter);
    if (settings.lockLayering) {
      const added = addedRequests(current, origin);
      if (added.length) {
        throw new AptOstreeError(`Package layering is locked on this system (LockLayering=true in ${settings.file}); cannot layer ${added.join(', ')}.`, {
          hint: 'Ask the administrator of the image, or set LockLayering=false in that file.',
        });
      }
    }
    if (serializeOrigin(origin) === serializeOrigin(current)) {
      throw new UnchangedError('No change: the deployment already is as asked.', Boolean(opts.unchangedExit77));
    }
    const result: DeploymentChangeResult = { os, dryRun: Boolean(opts.dryRun), downloadOnly: Boolean(opts.downloadOnly), staged: false, previous: merge, origin };

    // Local packages are stored in the stateroot by content hash, so that later transactions
    // (upgrades) can install them again.
    const localDir = localDebDir(sysroot.path, os);
    if (!opts.dryRun && !opts.downloadOnly) {
      mkdirSync(localDir, { recursive: true });
      for (const l of locals) {
        const dest = join(localDir, `${l.sha256}-${l.info.name}_${l.info.version}_${l.info.architecture}.deb`);
        if (existsSync(dest)) continue;
        copyFileSync(l.path, dest);
        tx.onUndo(`remove ${dest}`, () => rmSync(dest, { force: true }));
      }
    }

    opts.reporter.recordPhase('Reading the origin, the base\'s packages and settings', reading);
    let revision = baseChecksum;
    let after: PackageEntry[] = packagesFromStatus(baseStatus);
    if (hasClientLayer(origin)) {
      const build = await buildLayeredCommit({
        tx, sysroot, os, baseChecksum, baseStatus, mergeDeployment: merge,
        ...layerInputsOf(origin, localDir, locals),
        dryRun: opts.dryRun, cacheOnly: opts.cacheOnly, downloadOnly: opts.downloadOnly,
        refreshLists: opts.refreshLists ? '--refresh' : undefined, listsMaxAgeSeconds: settings.listsMaxAgeSeconds,
        installRecommends: opts.installRecommends ?? settings.installRecommends, downloads: settings.downloads, reporter: opts.reporter,
      });
      result.build = build;
      if (!build.commit) return result;
      revision = build.commit;
      after = build.packages.map((p) => ({ name: p.name, version: p.version, arch: p.architecture }));
    } else if (opts.dryRun || opts.downloadOnly) {
      return result;
    }
    const comparing = Date.now();
    const before = await commitPackages(sysroot, merge.checksum, { treeRoot: merge.path });
    result.diff = diffPackages(before.packages, after);
    opts.reporter.recordPhase('Comparing the packages with the current deployment', comparing);
    const { staged } = await deployAsDefault(tx, sysroot, os, { revision, origin, prune: 'when-grown' });
    result.staged = staged;
    result.newChecksum = revision;
    return result;
  });
}

/**
 * What `next` layers that `current` did not, as the messages name it: a package request as it
 * was typed (`libc6:i386`, `htop=1:3.2`: its colons are an architecture or an epoch), a local
 * package as `name_version_arch` (its entry without the SHA256).
 */
export function addedRequests(current: Origin, next: Origin): string[] {
  const had = new Set([...current.requestedPackages, ...current.requestedLocalPackages]);
  return [
    ...next.requestedPackages.filter((r) => !had.has(r)),
    ...next.requestedLocalPackages.filter((r) => !had.has(r)).map((entry) => entry.slice(entry.indexOf(':') + 1)),
  ];
}

async function readLocalDeb(path: string): Promise<LocalDeb> {
  const info = await readDebInfo(path);
  const sha256 = sha256File(path);
  return { path, info, sha256, entry: `${sha256}:${info.name}_${info.version}_${info.architecture}` };
}
