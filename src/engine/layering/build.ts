/**
 * Build a layered commit: the base commit plus the requested packages, installed by the real
 * apt and dpkg, committed to the sysroot's repository. The running system is never touched.
 *
 *   resolve   one host apt-get run against the base's dpkg database and the target
 *             deployment's /etc/apt (APT_CONFIG of our own): the plan and the .debs to fetch,
 *             with apt's lists and binary caches kept under the stateroot's /var
 *   download  exactly those .debs, by apt (skipped with --cache-only)
 *   checkout  the base's kept checkout (base-checkout.ts); the first time, `ostree checkout
 *             --require-hardlinks` of the base while resolve and download run
 *   overlay   an overlay mount over the checkout: maintainer scripts may write anywhere,
 *             in place included, and no write reaches the checkout or a repository object
 *   install   apt-get in a bwrap sandbox rooted at the overlay, no network, local .debs only
 *   finish    users → sysusers.d, /var → tmpfiles.d, /opt and /usr/local relocated, all
 *             through the overlay, so that its upper directory holds the whole change
 *   commit    the base's tree with the upper directory on top, reusing every unchanged
 *             directory by checksum, what the change removes taken out of the base's tree
 *             first (commitLayer); the work directory is then deleted in the background
 *             while the caller deploys
 */
import { chmodSync, copyFileSync, existsSync, lchownSync, linkSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, rmdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { lstatOrUndefined } from '../../system/fs.js';
import { basename, join } from 'node:path';
import { AptOstreeError, ToolError } from '../../errors.js';
import { installedPackages, type DpkgPackage as InstalledPackage } from '../../debian/deb822.js';
import { compareVersions } from '../../debian/version.js';
import { aptFetch, aptInstallInSandbox, aptResolve, archiveFileName, PackagesNotFoundError, type AptConfig, type AptPlan, type AptResolution, type PlannedPackage } from '../../system/apt.js';
import { makeInitramfsInSandbox, type InitramfsTool } from '../../system/initramfs.js';
import * as ostree from '../../system/ostree.js';
import { applyUpper, mountOverlay, prepareUpperForCommit, unmount, unmountLazy, upperRemovals } from '../../system/overlay.js';
import { copyPreserving } from '../../system/files.js';
import { readCommit } from '../../ostree/commit.js';
import type { Reporter } from '../../output/reporter.js';
import { resolveBeneath } from '../../layout/files.js';
import { DPKG_DATABASE, DPKG_LINK_TARGET, LAYER_CONF_NAME, relocateOptAndUsrLocal } from '../../layout/rootfs.js';
import { refuseSpecialFiles } from '../../layout/special-files.js';
import { effectiveTmpfiles, followTmpfilesLinks, TMPFILES_SEARCH_DIRS, writeTmpfiles, type TmpfilesFile } from '../../layout/tmpfiles.js';
import { convertVar, createVarFromTmpfiles } from '../../layout/var.js';
import { localName, requestName } from '../deployments/origin.js';
import type { Origin } from '../deployments/origin.js';
import { pkglistMetadata } from '../deployments/packages.js';
import type { DownloadSettings } from '../deployments/settings.js';
import type { Deployment, Sysroot } from '../deployments/sysroot.js';
import type { Transaction } from '../transaction/transaction.js';
import { aptConfigFor, nativeArchitecture } from './apt-setup.js';
import { applyUserChanges, diffUserDb, sysusersFor, USER_DB_FILES, type UserDb } from './users.js';
import { META } from '../../layout/commit-metadata.js';
import { refreshLists, refreshListsWhenStale } from './lists-freshness.js';
import { DEPLOYMENT_ONLY, deployedBase, dropBaseCheckouts, keepBaseCheckout, keptBaseCheckout } from './base-checkout.js';
import { LAYERED_REF_PREFIX } from '../state-paths.js';
import { keepLayerPackages, keptSourceSettings, layerSources, namePackagesFromKept, refusalForUnofferedKept, restoreKeptDebs, type LayerSources } from './kept-packages.js';

/** PackageListsMaxAge's default (config.ts), for callers that read no apt-ostree.conf. */
const DEFAULT_LISTS_MAX_AGE = 86400;

export interface LayerBuildInput {
  tx: Transaction;
  sysroot: Sysroot;
  os: string;
  baseChecksum: string;
  /** The base commit's dpkg status file, when the caller already read it. */
  baseStatus?: string;
  /** The deployment whose /etc (apt sources, users) the new one will merge from. */
  mergeDeployment: Deployment;
  requested: string[];
  /** Paths of stored local .deb files to install. */
  localDebs: string[];
  /** Base packages to remove (override remove). */
  removals?: string[];
  /** `name=version` replacements of base packages, and local .debs replacing them (override replace). */
  replacements?: string[];
  replacementDebs?: string[];
  /** Regenerate the initramfs in the transaction (initramfs --enable), with these extra arguments. */
  initramfs?: { args: string[] };
  cacheOnly?: boolean;
  /** Why the package lists are refreshed whatever their age ('--refresh'), if they are. */
  refreshLists?: string;
  /** PackageListsMaxAge of apt-ostree.conf (lists-freshness.ts); a day without. */
  listsMaxAgeSeconds?: number;
  downloadOnly?: boolean;
  dryRun?: boolean;
  installRecommends?: boolean;
  /** apt-ostree.conf's download settings (apt's defaults without). */
  downloads?: DownloadSettings;
  /**
   * Called with the checked plan before anything is downloaded or built, with the base's
   * packages; it may throw to stop there (upgrade: nothing new for the layer).
   */
  onPlan?: (plan: AptPlan, basePackages: InstalledPackage[]) => void;
  reporter: Reporter;
}

export interface LayerBuildResult {
  /** The new commit, or undefined when nothing was committed (dry run, download only). */
  commit?: string;
  plan: AptPlan;
  /** Packages of the base that the plan upgrades. */
  upgradedBase: PlannedPackage[];
  packages: InstalledPackage[];
}

/** The dpkg status file of a commit in the apt-ostree layout; a clear error when the image has none there. */
export async function readBaseStatus(repo: string, checksum: string): Promise<string> {
  const path = `/${DPKG_DATABASE}/status`;
  let text: string | undefined;
  try {
    text = await ostree.catFileIfExists(repo, checksum, path, { what: 'reading the base image\'s dpkg database' });
  } catch (e) {
    await refuseDatabaseLink(repo, checksum); // ostree said only "Not a directory"
    throw e;
  }
  if (text !== undefined) return text;
  await refuseDatabaseLink(repo, checksum);
  // A plain Debian tree committed as it is keeps it in /var/lib/dpkg: say how to convert it.
  const plain = await ostree.ls(repo, checksum, '/var/lib/dpkg/status');
  throw new AptOstreeError(`The base image ${checksum.slice(0, 12)} has no dpkg database at /${DPKG_DATABASE}, so packages cannot be layered on it.`, {
    hint: plain !== undefined
      ? `It keeps one in /var/lib/dpkg, as a plain Debian tree: convert the tree with \`apt-ostree compose commit\`, which moves it where docs/layout.md says.`
      : `apt-ostree layers packages on images in the layout of docs/layout.md: the dpkg database (status, info/, …) in /${DPKG_DATABASE}.`,
  });
}

/**
 * A symlink at /usr/share/dpkg/database or on the way to it (usr, usr/share, usr/share/dpkg) is
 * refused, naming it: ostree reads no path through a link, and the layer's reads and writes of
 * the database from the host would follow an absolute one out of the tree.
 */
async function refuseDatabaseLink(repo: string, checksum: string): Promise<void> {
  const parts = DPKG_DATABASE.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const path = `/${parts.slice(0, i).join('/')}`;
    const entry = (await ostree.ls(repo, checksum, `/${parts.slice(0, i - 1).join('/')}`))?.find((e) => e.path === path);
    if (!entry || entry.type === 'file') return;
    if (entry.type !== 'symlink') continue;
    throw new AptOstreeError(`The base image ${checksum.slice(0, 12)} has a symlink ${path} → ${entry.target ?? '?'} where its dpkg database must be a directory, so packages cannot be layered on it.`, {
      hint: `docs/layout.md: the dpkg database is a real directory at /${DPKG_DATABASE} (no link on the way), and /var/lib/dpkg a tmpfiles.d link to it; move the database there in the image.`,
    });
  }
}

/**
 * The image's tmpfiles.d files (TMPFILES_SEARCH_DIRS), read from the commit without a checkout;
 * a link to /dev/null masks.
 */
async function commitTmpfilesFiles(repo: string, checksum: string): Promise<TmpfilesFile[]> {
  const listings = await Promise.all(TMPFILES_SEARCH_DIRS.map((dir) => ostree.ls(repo, checksum, `/${dir}`)));
  const files: Array<Promise<TmpfilesFile>> = [];
  for (const [i, dir] of TMPFILES_SEARCH_DIRS.entries()) {
    for (const e of listings[i] ?? []) { // none: the image has no such directory
      if (e.type === 'dir') continue;
      const name = e.path.slice(dir.length + 2);
      if (!e.path.startsWith(`/${dir}/`) || !name.endsWith('.conf') || name.includes('/')) continue;
      if (e.type === 'symlink' && e.target === '/dev/null') files.push(Promise.resolve({ dir, name }));
      else files.push(ostree.catFile(repo, checksum, `/${dir}/${name}`).catch(() => '').then((text) => ({ dir, name, text })));
    }
  }
  return Promise.all(files);
}

/**
 * Layering runs dpkg on /var/lib/dpkg, which the image's tmpfiles.d files must link to its
 * database (docs/layout.md); checked from the commit before any work is done, whatever the
 * names of the files that say it.
 */
async function checkDpkgDatabaseLink(repo: string, checksum: string): Promise<void> {
  const items = effectiveTmpfiles(await commitTmpfilesFiles(repo, checksum));
  const leadsTo = followTmpfilesLinks(items, '/var/lib/dpkg');
  if (leadsTo === `/${DPKG_DATABASE}`) return;
  const declared = items.find((i) => i.path === '/var/lib/dpkg');
  const why = leadsTo !== '/var/lib/dpkg'
    ? `it leads to ${leadsTo}`
    : declared ? `/${declared.source} makes it a ${declared.type === 'd' ? 'directory' : `'${declared.type}' entry`}` : 'no tmpfiles.d line declares it';
  throw new AptOstreeError(`The base image ${checksum.slice(0, 12)} does not link /var/lib/dpkg to its dpkg database /${DPKG_DATABASE} (${why}), so packages cannot be layered on it.`, {
    hint: `Its tmpfiles.d files (/usr/lib/tmpfiles.d, /usr/etc/tmpfiles.d) need the line \`L /var/lib/dpkg - - - - ${DPKG_LINK_TARGET}\` (docs/layout.md).`,
  });
}

/** What an origin asks the layer build for (packages, local .debs, overrides, initramfs). */
export function layerInputsOf(
  origin: Origin,
  localDir: string,
  fresh: Array<{ entry: string; path: string }> = [],
): Pick<LayerBuildInput, 'requested' | 'localDebs' | 'removals' | 'replacements' | 'replacementDebs' | 'initramfs'> {
  return {
    requested: origin.requestedPackages,
    localDebs: origin.requestedLocalPackages.map((e) => storedLocalDebPath(localDir, e, fresh)),
    removals: origin.removedBasePackages,
    replacements: origin.replacedPackages,
    replacementDebs: origin.replacedLocalPackages.map((e) => storedLocalDebPath(localDir, e, fresh)),
    initramfs: origin.regenerateInitramfs ? { args: origin.initramfsArgs } : undefined,
  };
}

/**
 * The stored file of a requested-local entry (`SHA256:name_version_arch`), or the file given
 * on the command line in this transaction.
 */
function storedLocalDebPath(dir: string, entry: string, fresh: Array<{ entry: string; path: string }> = []): string {
  const sha = entry.slice(0, entry.indexOf(':'));
  let stored: string | undefined;
  try {
    stored = readdirSync(dir).find((f) => f.startsWith(`${sha}-`));
  } catch {
    stored = undefined;
  }
  if (stored) return join(dir, stored);
  const given = fresh.find((f) => f.entry === entry);
  if (given) return given.path;
  throw new AptOstreeError(`The local package ${localName(entry)} (${sha.slice(0, 12)}) is no longer stored in ${dir}.`, {
    hint: `Install it again from its .deb file, or drop it with: apt-ostree uninstall ${localName(entry)}`,
  });
}

export async function buildLayeredCommit(input: LayerBuildInput): Promise<LayerBuildResult> {
  const { tx, sysroot, reporter } = input;
  // Steps between the printed phases are recorded for the -v table (reporter.recordPhase).
  const started = Date.now();
  const work = tx.workDir('layer');
  const repo = sysroot.repoPath;

  // Resolution needs only the base's dpkg status, not a checkout.
  const baseStatus = input.baseStatus ?? (await readBaseStatus(repo, input.baseChecksum));
  await checkDpkgDatabaseLink(repo, input.baseChecksum);
  const basePackages = installedPackages(baseStatus);
  const arch = nativeArchitecture(basePackages);

  // The base's status is kept once per base checksum in the cache (apt-setup.ts), so that apt's
  // binary cache built by the previous transaction on the same base is still valid.
  const apt = await aptConfigFor(sysroot, input.os, input.mergeDeployment, {
    workDir: work,
    status: { baseChecksum: input.baseChecksum, text: baseStatus },
    architecture: arch,
    installRecommends: input.installRecommends,
    downloads: input.downloads,
    settings: keptSourceSettings(sysroot.path, input.os),
  });

  const localArchives = input.localDebs.map((deb) => linkLocalDeb(deb, apt));
  const replacementArchives = (input.replacementDebs ?? []).map((deb) => linkLocalDeb(deb, apt));
  const removals = input.removals ?? [];
  const replacements = input.replacements ?? [];
  const requests = [
    ...input.requested,
    ...localArchives.map((p) => p.path),
    ...replacements,
    ...replacementArchives.map((p) => p.path),
    // apt's "name-" removes a package in the same request.
    ...removals.map((n) => `${n}-`),
  ];
  const overrides = {
    remove: new Set(removals),
    replace: new Set([...replacements.map(requestName), ...replacementArchives.map((p) => p.name)]),
  };

  // The root of the sandbox is the base's kept checkout, or else a deployment of the base
  // (base-checkout.ts): nothing to check out. Without either, the checkout does not depend on
  // the resolution: it runs meanwhile. Not for runs that stop before building (dry run,
  // download only) or may stop once they see the plan (onPlan).
  const kept = keptBaseCheckout(sysroot.path, input.baseChecksum);
  const deployed = kept ? undefined : deployedBase(sysroot.deployments, input.baseChecksum);
  const checkoutStarted = Date.now();
  const earlyCheckout = kept || deployed || input.dryRun || input.downloadOnly || input.onPlan
    ? undefined
    : ostree.checkout(repo, input.baseChecksum, join(work, 'tree'), { hardlink: true }, { signal: tx.signal });
  earlyCheckout?.catch(() => undefined); // its failure is reported where it is awaited
  let plan: AptPlan;
  let upgradedBase: PlannedPackage[];
  let sources: LayerSources;
  try {
    reporter.recordPhase('Reading the base, setting up apt', started);
    let refreshed = await refreshListsWhenStale(apt, {
      force: input.refreshLists, cacheOnly: input.cacheOnly, maxAgeSeconds: input.listsMaxAgeSeconds ?? DEFAULT_LISTS_MAX_AGE, reporter, signal: tx.signal,
    });
    // Lists that were not refreshed may predate a package, or name a version the repository
    // has dropped since: then they are refreshed once and the request resolved again.
    const refreshAgain = async (why: string) => {
      reporter.debug(`package lists: refreshing (${why}), then resolving again`);
      await refreshLists(apt, reporter, tx.signal);
      refreshed = true;
    };
    const newBase = input.baseChecksum !== sysroot.baseChecksum(input.mergeDeployment);
    for (;;) {
      // One apt run: the plan, and the .debs of it that are not in the archives cache yet.
      let resolved: AptResolution;
      try {
        resolved = await reporter.task('Resolving packages', () => aptResolve(apt, requests, { signal: tx.signal }));
        checkPlan(resolved.plan, basePackages, overrides);
      } catch (e) {
        if (!refreshed && !input.cacheOnly && e instanceof PackagesNotFoundError) {
          await refreshAgain(`${e.packages.join(', ')} not in the lists`);
          continue;
        }
        // On a new base, a layered package no source offers any more is named with the ways out.
        throw (newBase && (await refusalForUnofferedKept(apt, sysroot, input.os, input.mergeDeployment, input.baseChecksum, e, tx.signal))) || e;
      }
      plan = resolved.plan;
      input.onPlan?.(plan, basePackages);
      sources = await layerSources(apt, sysroot.path, input.os, plan.install, tx.signal);
      namePackagesFromKept(sources.onlyKept, newBase, reporter);
      upgradedBase = plan.install.filter((p) => p.oldVersion !== undefined);
      if (input.dryRun) return { plan, upgradedBase, packages: basePackages };
      restoreKeptDebs(sysroot.path, input.os, apt.archivesDir, plan.install);

      const { downloads } = resolved;
      if (!input.cacheOnly && downloads.length) {
        const text = `Downloading ${downloads.length} package${downloads.length === 1 ? '' : 's'}`;
        try {
          await reporter.task(text, () => aptFetch(apt, downloads, { signal: tx.signal, onProgress: (p) => reporter.download(text, p.bytes, p.totalBytes) }));
        } catch (e) {
          if (refreshed || !(e instanceof ToolError)) throw e;
          await refreshAgain('a download failed, and the lists may name versions the repository no longer has');
          continue;
        }
      }
      break;
    }
    const stillMissing = plan.install.filter((p) => !existsSync(join(apt.archivesDir, archiveFileName(p))));
    if (stillMissing.length) {
      throw new AptOstreeError(`Not in the package cache: ${stillMissing.map((p) => `${p.name}=${p.version}`).join(', ')}.`, {
        hint: input.cacheOnly ? 'Run again without --cache-only to download them.' : 'The apt repository did not provide them; check its contents.',
      });
    }
    if (input.downloadOnly) return { plan, upgradedBase, packages: basePackages };
  } catch (e) {
    // Nothing may still write into the work directory when the transaction removes it.
    await earlyCheckout?.catch(() => undefined);
    throw e;
  }

  // A checkout that ran beside the resolution shows its real duration, not the wait for it.
  if (deployed) reporter.debug(`the sandbox's root is the base's deployment ${deployed} (its /etc hidden): no checkout`);
  const lower = kept ?? deployed ?? (await reporter.task('Checking out the base', async () => {
    await (earlyCheckout ?? ostree.checkout(repo, input.baseChecksum, join(work, 'tree'), { hardlink: true }, { signal: tx.signal }));
    return keepBaseCheckout(sysroot.path, input.baseChecksum, join(work, 'tree'));
  }, earlyCheckout ? { startedAt: checkoutStarted } : {}));
  const preparing = Date.now();
  const ov = { lower, upper: join(work, 'upper'), work: join(work, 'ovl-work'), merged: join(work, 'merged'), hidden: deployed ? DEPLOYMENT_ONLY : [] };
  await mountOverlay(ov, tx.signal);
  let mounted = true;
  tx.onUndo('unmount the overlay', async () => {
    if (mounted) await unmount(ov.merged).catch(() => unmountLazy(ov.merged));
  });

  const deploymentUsers = readUserDb(input.sysroot.etcOf(input.mergeDeployment));
  const baseUsers = readUserDb(join(lower, 'usr', 'etc'));
  prepareTree(ov.merged, deploymentUsers, (t) => reporter.warn(`tmpfiles.d: ${t}`));
  reporter.recordPhase('Preparing the sandbox (overlay, users, /var)', preparing);
  await reporter.task(`Installing ${plan.install.length} package${plan.install.length === 1 ? '' : 's'}`, () =>
    installInSandbox(ov.merged, apt, plan, tx.signal, reporter),
  );
  if (input.initramfs) {
    await reporter.task('Generating the initramfs', () => regenerateInitramfs(ov.merged, input.initramfs!.args, tx.signal));
  }
  const finishingTree = Date.now();
  const userChanges = diffUserDb(deploymentUsers, readUserDb(join(ov.merged, 'usr', 'etc')));
  writeUserDb(join(ov.merged, 'usr', 'etc'), applyUserChanges(baseUsers, userChanges));
  const sysusers = sysusersFor(userChanges);
  if (sysusers) {
    mkdirSync(join(ov.merged, 'usr', 'lib', 'sysusers.d'), { recursive: true });
    writeFileSync(join(ov.merged, 'usr', 'lib', 'sysusers.d', 'apt-ostree-layer.conf'), sysusers);
  }
  cleanSandboxLeftovers(ov.merged, lower);
  // The layout conversion writes through the overlay too: the upper directory then holds the
  // whole change, with every directory it touches copied up with the base's metadata.
  postprocessLayeredTree(ov.merged, (t) => reporter.warn(t));
  // Only what the layer added can be new: the base's tree is a commit already.
  refuseSpecialFiles(ov.upper, join(ov.merged, DPKG_DATABASE));
  const finalStatus = readFileSync(join(ov.merged, DPKG_DATABASE, 'status'), 'utf8');
  await unmount(ov.merged);
  mounted = false;
  reporter.recordPhase('Finishing the tree (users, layout, checks)', finishingTree);

  const packages = installedPackages(finalStatus);
  const base = sysroot.commit(input.baseChecksum);
  const version = base && typeof base.metadata.version === 'string' ? base.metadata.version : '';
  const layered = [...new Set(input.requested.map(requestName))].filter((n) => packages.some((p) => p.name === n));
  const localNames = localArchives.map((l) => l.name);
  const ref = `${LAYERED_REF_PREFIX}${input.os}`;
  const previousRef = await ostree.revParse(repo, ref);
  const commitOptions: Omit<ostree.CommitOptions, 'tree'> = {
    repo,
    branch: ref,
    parent: 'none',
    subject: `apt-ostree: ${[...layered, ...localNames].join(', ') || 'base'}`,
    metadata: {
      ...(version ? { version } : {}),
      [META.clientLayer]: true,
      [META.baseChecksum]: input.baseChecksum,
      [META.requestedPackages]: input.requested,
      [META.packages]: [...layered, ...localNames],
      [META.removedBasePackages]: removals,
      [META.replacedBasePackages]: plan.install.filter((p) => overrides.replace.has(p.name)).map((p) => `${p.name}=${p.version}`),
      ...(input.initramfs ? { [META.initramfsArgs]: input.initramfs.args } : {}),
      [META.pkglist]: pkglistMetadata(packages),
    },
  };
  const commit = await reporter.task('Committing the new tree', () => commitLayer(tx, { repo, base: input.baseChecksum, upper: ov.upper, lower, work }, commitOptions, reporter));
  tx.onUndo(`restore the ref ${ref}`, () => ostree.setRef(repo, ref, previousRef ?? null));
  await keepLayerPackages(tx, sysroot.path, input.os, apt.archivesDir, plan.install, sources);
  // What the transaction wrote is committed: delete it while the transaction deploys, with the
  // kept checkouts of bases no deployment uses any more.
  tx.discardWorkDir(work);
  dropBaseCheckouts(tx, sysroot.path, [input.baseChecksum, ...sysroot.deployments.map((d) => sysroot.baseOf(d.checksum))]);
  return { commit, plan, upgradedBase, packages };
}

/** Set in the environment, every layered commit is also made by the full walk and compared (tests). */
const VERIFY_ENV = 'APT_OSTREE_VERIFY_LAYER_COMMIT';

/**
 * Commit the layered tree: the base commit's tree with the upper directory on top
 * (`ostree commit --tree=ref=BASE --tree=dir=UPPER`), unchanged directories reused by checksum,
 * so that the cost follows the change, not the size of the base. What the change removes from
 * the base (deleted paths, a directory made anew, a path that changed between directory and
 * non-directory: override remove, a base package upgraded, a maintainer script) is first taken
 * out of the base's tree by libostree (ostree.commitTreeWithout), which rewrites only the
 * directories on the way to those paths. Without libostree's bindings, the changes are applied
 * to a fresh hardlinked checkout and the whole tree is committed (the full walk:
 * devino-canonical, hardlinked files are not read again). Both give the same tree, byte for
 * byte; with APT_OSTREE_VERIFY_LAYER_COMMIT=1 both are made and compared.
 */
async function commitLayer(
  tx: Transaction,
  dirs: { repo: string; base: string; upper: string; lower: string; work: string },
  opts: Omit<ostree.CommitOptions, 'tree'>,
  reporter: Reporter,
): Promise<string> {
  const removals = await upperRemovals(dirs.upper, dirs.lower);
  const fullWalk = async (o: Omit<ostree.CommitOptions, 'tree'>, upper = dirs.upper) => {
    const tree = join(dirs.work, 'tree');
    await ostree.checkout(dirs.repo, dirs.base, tree, { hardlink: true }, { signal: tx.signal });
    await applyUpper(upper, tree);
    // Every file still hardlinked is an untouched repository object: writes went to the
    // overlay and were moved in as new files.
    return ostree.commit({ ...o, tree, devinoCanonical: true }, { signal: tx.signal });
  };
  let baseTree = dirs.base;
  if (removals.paths.length) {
    const shown = removals.paths.slice(0, 3).map((r) => `${r.path} ${r.why}`).join(', ');
    const more = removals.paths.length > 3 ? ` and ${removals.paths.length - 3} more` : '';
    const without = await ostree.commitTreeWithout(dirs.repo, dirs.base, removals.paths.map((r) => r.path), { signal: tx.signal });
    if (!without) {
      reporter.debug(`committing the whole tree: ${shown}${more}, and libostree's bindings (python3-gi, gir1.2-ostree-1.0) are not installed`);
      return fullWalk(opts);
    }
    reporter.debug(`the base's tree without what the change removes: ${shown}${more}`);
    baseTree = without;
  }
  // The verification's full walk consumes a copy of the upper directory as the overlay left it
  // (whiteouts, overlay attributes and all), made before the change-only commit prepares it.
  let walked: string | undefined;
  if (process.env[VERIFY_ENV] === '1') {
    const copy = join(dirs.work, 'upper-for-full-walk');
    await copyPreserving(dirs.upper, copy, { signal: tx.signal });
    walked = await fullWalk({ ...opts, branch: undefined }, copy);
  }
  await prepareUpperForCommit(dirs.upper, dirs.lower, removals);
  const commit = await ostree.commit({ ...opts, baseTree, tree: dirs.upper }, { signal: tx.signal });
  if (walked) {
    const root = (c: string) => { const i = readCommit(dirs.repo, c); return `${i.rootContents}/${i.rootMetadata}`; };
    const [a, b] = [root(commit), root(walked)];
    if (a !== b) throw new AptOstreeError(`The change-only commit ${commit} and the full-walk commit ${walked} of the same transaction differ (${a} != ${b}).`);
    reporter.debug(`verified: the change-only commit has the tree of the full walk (${a})`);
  }
  return commit;
}

/** Base packages the plan would remove or downgrade: never silently, only as overrides say. */
function checkPlan(plan: AptPlan, base: InstalledPackage[], overrides: { remove: Set<string>; replace: Set<string> }): void {
  const baseNames = new Set(base.map((p) => p.name));
  const removed = plan.remove.filter((p) => baseNames.has(p.name) && !overrides.remove.has(p.name)).map((p) => p.name);
  if (removed.length) {
    throw new AptOstreeError(`The request would remove packages of the base image: ${removed.join(', ')}.`, {
      hint: `apt-ostree never removes base packages silently; remove them explicitly with \`apt-ostree override remove ${removed.join(' ')}\` if that is what you want.`,
    });
  }
  const downgraded = plan.install.filter((p) => p.oldVersion && compareVersions(p.version, p.oldVersion) < 0 && !overrides.replace.has(p.name));
  if (downgraded.length) {
    throw new AptOstreeError(`The request would downgrade packages of the base image: ${downgraded.map((p) => `${p.name} ${p.oldVersion} -> ${p.version}`).join(', ')}.`, {
      hint: 'Use `apt-ostree override replace` to replace a base package with another version.',
    });
  }
}

/** Hardlink (or copy) a stored local .deb into the archive cache under apt's own file name. */
function linkLocalDeb(path: string, apt: AptConfig): { path: string; name: string } {
  const name = basename(path).replace(/^[0-9a-f]{64}-/, '');
  const dest = join(apt.archivesDir, name);
  if (!existsSync(dest)) {
    try {
      linkSync(path, dest);
    } catch {
      copyFileSync(path, dest);
    }
  }
  return { path: dest, name: name.split('_', 1)[0]! };
}

function readUserDb(etc: string): UserDb {
  const db = {} as UserDb;
  for (const f of USER_DB_FILES) {
    try {
      db[f] = readFileSync(join(etc, f), 'utf8');
    } catch {
      db[f] = '';
    }
  }
  return db;
}

function writeUserDb(etc: string, db: UserDb): void {
  for (const f of USER_DB_FILES) {
    if (db[f] === '' && !existsSync(join(etc, f))) continue;
    const mode = f === 'shadow' || f === 'gshadow' ? 0o640 : 0o644;
    const keep = existsSync(join(etc, f)) ? statSync(join(etc, f)) : undefined;
    writeFileSync(join(etc, f), db[f], { mode: keep ? keep.mode & 0o7777 : mode });
  }
}

/** Paths the transaction creates in the tree only for the install run. */
const POLICY_RC_D = 'usr/sbin/policy-rc.d';

function prepareTree(root: string, deploymentUsers: UserDb, warn: (text: string) => void): void {
  // Written from the host below: a link on the way would lead out of the tree.
  for (const d of ['usr/sbin', 'usr/etc']) requireRealDirectory(root, d, 'where layering writes files');
  // Scripts must not start services in a tree that is not running (invoke-rc.d honours this).
  // Removed first: writing would follow a link the image may have there.
  rmSync(join(root, POLICY_RC_D), { force: true });
  writeFileSync(join(root, POLICY_RC_D), '#!/bin/sh\n# apt-ostree: no service starts while building a deployment\nexit 101\n', { mode: 0o755 });
  // New users must not collide with users the admin added to this deployment.
  writeUserDb(join(root, 'usr', 'etc'), deploymentUsers);
  // /var as the image has it at boot (dpkg database link, debconf, /opt links), from all of its
  // tmpfiles.d files, so that dpkg and maintainer scripts find what they expect.
  createVarFromTmpfiles(root, warn);
  const status = resolveBeneath(root, '/var/lib/dpkg/status');
  if (!status || !existsSync(status)) {
    // checkDpkgDatabaseLink passed on the commit; only a link elsewhere in the image can do this.
    throw new AptOstreeError(`The base image has no dpkg database at /var/lib/dpkg once its tmpfiles.d lines are applied, so packages cannot be layered on it.`, {
      hint: `docs/layout.md: /var/lib/dpkg must be a tmpfiles.d link to /${DPKG_DATABASE}, with no other link on the way.`,
    });
  }
  // What apt needs, made inside the tree even where the image's links lead elsewhere; the
  // sandbox's mount points must be real directories (bwrap would follow a link out of the tree).
  for (const d of ['var/log/apt', 'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial', 'var/cache/debconf', 'var/tmp', 'etc']) {
    const missing = !existsSync(resolveBeneath(root, d) ?? join(root, d));
    const made = resolveBeneath(root, d, { create: true });
    // /var/tmp is 1777 wherever it is made: where the image's tmpfiles.d lines do not declare
    // it, the layer's do, with the mode it has here (a 0755 one would narrow it at boot).
    if (made && missing && d === 'var/tmp') chmodSync(made, 0o1777);
  }
  for (const d of SANDBOX_BINDS) requireRealDirectory(root, d, 'where the sandbox mounts a directory');
}

/** Where installInSandbox bind-mounts host directories in the tree. */
const SANDBOX_BINDS = ['etc', 'var/cache/apt/archives'];

function requireRealDirectory(root: string, d: string, what: string): void {
  // Equal paths: no link on the way, the last component included.
  if (resolveBeneath(root, d) === join(root, d) && statSync(join(root, d), { throwIfNoEntry: false })?.isDirectory()) return;
  throw new AptOstreeError(`The base image has no directory /${d} (or a symlink on the way to it), ${what}, so packages cannot be layered on it.`, {
    hint: `/${d} must be a directory in the image (docs/layout.md), or be created as one by its tmpfiles.d lines.`,
  });
}

/**
 * Remove what prepareTree and the sandbox left that must not be committed; what the base has
 * at those paths (a policy-rc.d of its own, the .pwd.lock of every debootstrap or mmdebstrap
 * root) stays as the base has it, so that the change removes nothing of the base.
 */
function cleanSandboxLeftovers(root: string, base: string): void {
  restoreFromBase(root, base, POLICY_RC_D);
  // Made (empty) by the shadow tools' lckpwdf; one the base has was only opened.
  if (!lstatOrUndefined(join(base, 'usr', 'etc', '.pwd.lock'))) rmSync(join(root, 'usr', 'etc', '.pwd.lock'), { force: true });
  // apt's own state of the install run; the layout conversion drops the other build state.
  for (const d of ['var/log/apt', 'var/cache/apt', 'var/lib/apt/lists', 'var/lib/apt/extended_states']) rmSync(join(root, d), { recursive: true, force: true });
  // The mount point of the sandbox's /etc bind.
  rmdirSync(join(root, 'etc'));
}

/** Put `rel` of `root` back as `base` has it (a file or a link), or remove it where the base has none. */
function restoreFromBase(root: string, base: string, rel: string): void {
  const dest = join(root, rel);
  const st = lstatOrUndefined(join(base, rel));
  rmSync(dest, { force: true });
  if (st?.isSymbolicLink()) symlinkSync(readlinkSync(join(base, rel)), dest);
  else if (st?.isFile()) copyFileSync(join(base, rel), dest);
  else return;
  lchownSync(dest, st.uid, st.gid);
  if (st.isFile()) chmodSync(dest, st.mode & 0o7777);
}

async function installInSandbox(root: string, apt: AptConfig, plan: AptPlan, signal: AbortSignal, reporter: Reporter): Promise<void> {
  const debs = plan.install.map((p) => `/var/cache/apt/archives/${archiveFileName(p)}`);
  // Removals of the plan (override remove) are purged: nothing of them stays in the image.
  const purge = plan.remove.map((p) => p.name);
  const output: string[] = [];
  let done = 0;
  const total = plan.install.length * 2;
  try {
    await aptInstallInSandbox(
      {
        root,
        binds: [
          // The image keeps /etc in /usr/etc; /var/lib/dpkg is its tmpfiles.d link to the database.
          { src: join(root, 'usr', 'etc'), dest: '/etc' },
          { src: apt.archivesDir, dest: '/var/cache/apt/archives' },
        ],
        env: { APT_OSTREE_TRANSACTION: '1' },
      },
      { debs, purge },
      {
        signal,
        what: 'installing the packages (apt-get/dpkg in the sandbox)',
        onLine: (line) => {
          output.push(line);
          if (/^(Unpacking|Setting up) /.test(line)) reporter.percent(line.startsWith('Unpacking') ? 'Unpacking' : 'Configuring', (++done / total) * 100);
          reporter.debug(line);
        },
      },
    );
  } catch (e) {
    if ((e as Error).name === 'CancelledError') throw e;
    const failed = /(?:subprocess installed (\S+) script|dpkg: error processing package (\S+))/.exec(output.join('\n'));
    throw new AptOstreeError(
      failed ? `A maintainer script failed while installing the packages (${failed[0]}).` : 'Installing the packages failed.',
      { detail: output.slice(-40).join('\n'), hint: 'Nothing was changed. The output of apt and dpkg is shown above.', cause: e },
    );
  }
}

/**
 * The layout conversion of what the packages added (docs/layout.md): /opt and /usr/local
 * content moved under /usr/lib with links, /var turned into tmpfiles.d lines of the layer
 * (paths the base already declares are left to the base).
 */
function postprocessLayeredTree(tree: string, warn: (text: string) => void): void {
  const relocated = relocateOptAndUsrLocal(tree);
  const v = convertVar(tree, warn);
  writeTmpfiles(tree, LAYER_CONF_NAME, [...relocated, ...v.entries], '# Written by apt-ostree: /var content of the layered packages (see docs/layout.md).');
}

/**
 * Regenerate the initramfs of every kernel in the tree, inside the sandbox, with the tool the
 * image has: dracut, or initramfs-tools' mkinitramfs. Written where the layout keeps it,
 * /usr/lib/modules/KVER/initramfs.img.
 */
async function regenerateInitramfs(root: string, args: string[], signal: AbortSignal): Promise<void> {
  const modules = join(root, 'usr', 'lib', 'modules');
  const kernels = existsSync(modules) ? readdirSync(modules).filter((k) => existsSync(join(modules, k, 'vmlinuz'))) : [];
  if (!kernels.length) {
    throw new AptOstreeError('The image has no kernel (/usr/lib/modules/KVER/vmlinuz), so there is no initramfs to regenerate.', {
      hint: 'Disable it with `apt-ostree initramfs --disable`, or use a bootable image.',
    });
  }
  const has = (p: string) => existsSync(join(root, p));
  for (const kver of kernels) {
    const out = `/usr/lib/modules/${kver}/initramfs.img`;
    let tool: InitramfsTool;
    if (has('usr/bin/dracut') || has('usr/sbin/dracut')) tool = 'dracut';
    else if (has('usr/sbin/mkinitramfs')) tool = 'mkinitramfs';
    else {
      throw new AptOstreeError('The image has neither dracut nor initramfs-tools, so the initramfs cannot be regenerated.', {
        hint: 'Layer one of them (apt-ostree install dracut), or disable regeneration with `apt-ostree initramfs --disable`.',
      });
    }
    await makeInitramfsInSandbox(
      { root, binds: [{ src: join(root, 'usr', 'etc'), dest: '/etc' }], env: { APT_OSTREE_TRANSACTION: '1' } },
      tool,
      { kver, args, output: out },
      { signal },
    );
  }
}
