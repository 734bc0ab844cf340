/**
 * Compose: a Debian root filesystem → the apt-ostree layout (layout/rootfs.ts) → an OSTree commit.
 *
 *   compose commit ROOTFS   a tree built by any tool, converted on a hardlinked copy (or in
 *                           place with --in-place) and committed
 *   compose tree MANIFEST   resolve the package set (apt in a scratch root), skip when the
 *                           inputhash is the ref's, mmdebstrap, postprocess in bwrap,
 *                           convert, commit
 *
 * Commit metadata (docs/layout.md): version, aptostree.dpkg.pkglist a(sss), aptostree.manifest
 * (JSON), aptostree.inputhash, aptostree.kargs (as), plus the manifest's own string metadata.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AptOstreeError, CancelledError, InputError, ToolError } from '../errors.js';
import { describeSigning, signExistingCommit, type ExistingCommitSigning } from './signing.js';
import { assertRef } from './refs.js';
import { packagesFromStatus, pkglistMetadata, type PackageEntry } from '../engine/deployments/packages.js';
import { readCommit, type CommitInfo } from '../ostree/commit.js';
import { resolveRefFile } from '../ostree/refs.js';
import type { Reporter } from '../output/reporter.js';
import { removeTree } from '../engine/transaction/transaction.js';
import { aptSimulate, aptUpdate, archiveFileName, writeAptConfig, type AptConfig } from '../system/apt.js';
import { runShellInSandbox } from '../system/bwrap.js';
import { CACHE_IN_HOOK, CACHE_OUT_HOOK, FILES_HOOK, mmdebstrap } from '../system/mmdebstrap.js';
import * as ostree from '../system/ostree.js';
import { dpkgArchitecture } from '../system/dpkg.js';
import { copyTreeReflink, hardlinkTree } from '../system/files.js';
import { installAptGuard } from './apt-guard.js';
import { BASE_CONF_NAME, convertRootfs, DPKG_DATABASE, type ConvertResult } from '../layout/rootfs.js';
import { canonicalJson, expandVersion, inputHash, readManifest, resolveManifest, type ResolvedManifest, type ResolvedPackage } from './manifest.js';
import { META } from '../layout/commit-metadata.js';

/** Bumped whenever the layout conversion changes what a commit contains for the same input. */
const LAYOUT_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// repository

/** Use REPO, creating an archive-mode repository (servable over HTTP) when it does not exist. */
async function ensureRepo(repo: string, reporter: Reporter): Promise<void> {
  if (existsSync(join(repo, 'config')) && existsSync(join(repo, 'objects'))) return;
  if (existsSync(repo) && readdirSync(repo).length > 0) {
    throw new InputError(`${repo} is not an OSTree repository (and not empty).`, 'Give the path of an existing repository, or of a new directory to create one in.');
  }
  mkdirSync(repo, { recursive: true });
  await ostree.initRepo(repo, 'archive');
  reporter.info(`Created the archive repository ${repo}`);
}

/** The commit a ref points to in REPO, with its metadata, or undefined. */
function refCommit(repo: string, ref: string): CommitInfo | undefined {
  const checksum = resolveRefFile(repo, ref);
  if (!checksum) return undefined;
  try {
    return readCommit(repo, checksum);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// committing a converted tree

export interface CommitTreeInput {
  repo: string;
  ref: string;
  /** A tree in the apt-ostree layout. */
  tree: string;
  version?: string;
  /** Extra string metadata. */
  metadata?: Record<string, string>;
  manifestJson?: string;
  inputhash?: string;
  kargs?: string[];
  subject?: string;
  /** Do not make a commit whose tree is identical to the ref's (ostree --skip-if-unchanged). */
  skipIfUnchanged?: boolean;
  /** The tree is scratch space: ostree deletes the files as it commits them (no separate rm). */
  consume?: boolean;
  /** Sign the commit as it is written; a failure to sign fails the commit and leaves the ref. */
  sign?: ostree.SignOptions;
  signal?: AbortSignal;
}

export interface CommitTreeResult {
  checksum: string;
  /** The ref's commit before, if any. */
  previous?: string;
  /** False when --skip-if-unchanged found the same tree. */
  committed: boolean;
  /** With a signing key and no new commit: what signing did to the existing one. */
  existingSigning?: ExistingCommitSigning;
  packages: PackageEntry[];
}

/** The installed packages of a converted tree, from its dpkg database. */
function treeInstalledPackages(tree: string): PackageEntry[] {
  const file = join(tree, DPKG_DATABASE, 'status');
  return packagesFromStatus(readFileSync(file, 'utf8'), file);
}

export async function commitTree(input: CommitTreeInput): Promise<CommitTreeResult> {
  const packages = treeInstalledPackages(input.tree);
  const previous = resolveRefFile(input.repo, input.ref);
  const metadata: Record<string, ostree.MetaValue> = { ...(input.metadata ?? {}) };
  if (input.version) metadata.version = input.version;
  metadata[META.pkglist] = pkglistMetadata(packages);
  if (input.manifestJson !== undefined) metadata[META.manifest] = input.manifestJson;
  if (input.inputhash) metadata[META.inputHash] = input.inputhash;
  if (input.kargs?.length) metadata[META.kargs] = input.kargs;
  const checksum = await ostree.commit(
    {
      repo: input.repo,
      branch: input.ref,
      tree: input.tree,
      subject: input.subject ?? `apt-ostree compose: ${input.ref}${input.version ? ` ${input.version}` : ''}`,
      metadata,
      consume: input.consume,
      extraArgs: input.skipIfUnchanged ? ['--skip-if-unchanged'] : [],
      sign: input.sign,
      // Published: bound to its ref, so that a client refuses it under another (ref-binding.ts).
      bindToBranch: true,
    },
    { signal: input.signal, what: `ostree commit to ${input.ref}` },
  ).catch((e: unknown) => {
    // ostree signs the commit before it moves the ref: a failed signature leaves the ref as it was.
    if (input.sign && e instanceof ToolError && /gpg|sign|key/i.test(e.stderr)) {
      const line = e.stderr.split('\n').map((l) => l.replace(/^error:\s*/, '').trim()).filter(Boolean).pop();
      throw new AptOstreeError(`Signing the commit of ${input.ref} with ${describeSigning(input.sign)} failed (${line}); ${input.ref} is ${previous ? `still ${previous}` : 'not created'}.`, {
        hint: 'Check the key and its home directory (gpg --homedir DIR --list-secret-keys), then compose again.',
        detail: e.detail,
        cause: e,
      });
    }
    throw e;
  });
  return { checksum, previous, committed: !(input.skipIfUnchanged && checksum === previous), packages };
}

// ---------------------------------------------------------------------------------------------
// a working copy of a user's tree

/**
 * A copy of ROOTFS to convert, beside it (same filesystem): hardlinks where possible (`cp -al`,
 * instant), else a reflink-or-copy. The conversion never writes into an existing file (see
 * layout/rootfs.ts), so the user's tree stays exactly as it was.
 */
async function workingCopy(rootfs: string, signal?: AbortSignal): Promise<string> {
  const dest = join(dirname(rootfs), `.${basename(rootfs)}.apt-ostree-${process.pid}`);
  rmSync(dest, { recursive: true, force: true });
  try {
    await hardlinkTree(rootfs, dest, { signal, what: 'hardlinking a working copy of the tree' });
  } catch (e) {
    if (e instanceof CancelledError) throw e;
    rmSync(dest, { recursive: true, force: true });
    await copyTreeReflink(rootfs, dest, { signal, what: 'copying the tree' });
  }
  return dest;
}

/**
 * SIGINT/SIGTERM during a compose: abort the running step, let the caller clean up its work
 * directories, exit 130/143. (compose changes no sysroot, so it needs no Transaction.)
 */
export async function withCancellation<T>(reporter: Reporter, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let exitCode = 130;
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    exitCode = sig === 'SIGTERM' ? 143 : 130;
    reporter.warn(`${sig} received: stopping and cleaning up`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } catch (e) {
    if (controller.signal.aborted) throw new CancelledError(exitCode === 143 ? 'terminated' : 'cancelled', exitCode);
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function checkRootfs(rootfs: string): string {
  const abs = resolve(rootfs);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new InputError(`The root filesystem ${rootfs} does not exist.`, 'Give the directory that holds the tree (bin, etc, usr, var).');
  }
  if (!st.isDirectory() || !existsSync(join(abs, 'usr'))) {
    throw new InputError(`${rootfs} is not a root filesystem (no usr directory in it).`, 'Give the directory that holds the tree (bin, etc, usr, var).');
  }
  return abs;
}

export interface CommitRootfsOptions {
  rootfs: string;
  repo: string;
  ref: string;
  version?: string;
  metadata: Record<string, string>;
  kernel: boolean;
  kargs: string[];
  inPlace: boolean;
  sign?: ostree.SignOptions;
  reporter: Reporter;
}

/** `compose commit`: convert a root filesystem built elsewhere and commit it. */
export async function composeCommit(o: CommitRootfsOptions): Promise<CommitTreeResult & { convert: ConvertResult }> {
  const rootfs = checkRootfs(o.rootfs);
  assertRef(o.ref);
  return withCancellation(o.reporter, async (signal) => {
    await ensureRepo(o.repo, o.reporter);
    let tree = rootfs;
    if (!o.inPlace) tree = await o.reporter.task('Making a working copy of the tree', () => workingCopy(rootfs, signal));
    try {
      const convert = await o.reporter.task('Converting to the OSTree layout', async () => convertImage(tree, Boolean(o.kernel), o.reporter));
      if (convert.kernel?.placeholder) o.reporter.info('The tree has no kernel: added a placeholder so that it can be deployed (not booted); use --kernel to require one.');
      const result = await o.reporter.task(`Committing to ${o.ref}`, () =>
        commitTree({ repo: o.repo, ref: o.ref, tree, version: o.version, metadata: o.metadata, kargs: o.kargs, skipIfUnchanged: true, sign: o.sign, signal }),
      );
      if (!result.committed && o.sign) result.existingSigning = await signExistingCommit(o.repo, result.checksum, o.sign);
      return { ...result, convert };
    } finally {
      if (tree !== rootfs) rmSync(tree, { recursive: true, force: true });
    }
  });
}

/** sha256 of text, hex. */
/**
 * The conversion every image gets: the apt-ostree layout, and the guard that stops plain
 * apt/dpkg from writing to the read-only /usr of a booted system (src/image/apt-guard.ts).
 */
function convertImage(tree: string, kernelRequired: boolean, reporter: Reporter): ConvertResult {
  const result = convertRootfs(tree, {
    tmpfilesName: BASE_CONF_NAME,
    sysusersName: BASE_CONF_NAME,
    kernel: kernelRequired ? 'required' : 'placeholder',
    warn: (t) => reporter.warn(t),
  });
  installAptGuard(tree);
  return result;
}

export function writeCommitId(file: string | undefined, checksum: string): void {
  if (!file) return;
  try {
    writeFileSync(file, `${checksum}\n`);
  } catch (e) {
    throw new AptOstreeError(`Cannot write the commit id to ${file}: ${(e as Error).message}.`);
  }
}

// ---------------------------------------------------------------------------------------------
// compose tree

export interface ComposeTreeOptions {
  manifestPath: string;
  repo: string;
  cacheDir?: string;
  dryRun: boolean;
  sign?: ostree.SignOptions;
  reporter: Reporter;
}

export interface ComposeTreeResult {
  ref: string;
  inputhash: string;
  version: string;
  packages: ResolvedPackage[];
  /** Set when the ref's commit already has this inputhash. */
  unchangedCommit?: string;
  /** With a signing key and an unchanged commit: what signing did to it. */
  existingSigning?: ExistingCommitSigning;
  /** The new commit (not for dry runs or unchanged inputs). */
  checksum?: string;
  /** .debs fetched from the network, and taken from the cache. */
  downloaded?: number;
  cached?: number;
}

/** The apt patterns that select what a variant installs, as mmdebstrap computes it (see its run_download/run_install). */
export function variantRequests(variant: string, suite: string, architecture: string): string[] {
  const narrow = (p: string) => `?narrow(?or(?archive(^${suite}$),?codename(^${suite}$)),?architecture(${architecture}),${p})`;
  const essential = narrow('?essential');
  switch (variant) {
    case 'custom':
      return [];
    case 'essential':
      return [essential];
    case 'apt':
      return [essential, 'apt'];
    case 'required':
    case 'minbase':
      return [essential, narrow('?and(?priority(required),?not(?essential))'), 'apt'];
    case 'buildd':
      return [essential, narrow('?and(?priority(required),?not(?essential))'), 'apt', 'build-essential'];
    case 'important':
    case 'debootstrap':
      return [essential, narrow('?and(?or(?priority(required),?priority(important)),?not(?essential))'), 'apt'];
    case 'standard':
      return [essential, narrow('?and(?or(~prequired,~pimportant,~pstandard),?not(?essential))'), 'apt'];
    default:
      throw new InputError(`Unknown variant ${variant}.`);
  }
}

async function hostArchitecture(): Promise<string> {
  return dpkgArchitecture();
}

/** A scratch apt configuration for a manifest: its sources, the host's trusted keys, an empty dpkg status. */
async function scratchApt(m: ResolvedManifest, cacheDir: string, work: string): Promise<AptConfig> {
  const etcApt = join(work, 'etc-apt');
  mkdirSync(join(etcApt, 'apt.conf.d'), { recursive: true });
  mkdirSync(join(etcApt, 'preferences.d'), { recursive: true });
  mkdirSync(join(etcApt, 'sources.list.d'), { recursive: true });
  writeFileSync(join(etcApt, 'sources.list'), `${m.sources.join('\n')}\n`);
  // The same keys mmdebstrap trusts: the build host's.
  if (existsSync('/etc/apt/trusted.gpg.d')) symlinkSync('/etc/apt/trusted.gpg.d', join(etcApt, 'trusted.gpg.d'));
  if (existsSync('/etc/apt/trusted.gpg')) symlinkSync('/etc/apt/trusted.gpg', join(etcApt, 'trusted.gpg'));
  const status = join(work, 'status');
  writeFileSync(status, '');
  for (const d of ['lists/partial', 'archives/partial', 'state']) mkdirSync(join(cacheDir, d), { recursive: true });
  mkdirSync(join(work, 'apt', 'log'), { recursive: true });
  return writeAptConfig({
    etcApt,
    statusFile: status,
    cacheDir,
    workDir: join(work, 'apt'),
    architecture: m.architecture,
    installRecommends: m['include-recommends'],
    // The manifest's, not an image's: passed on as they are.
    settings: m['apt-options'].map((o) => (o.trim().endsWith(';') ? o : `${o};`)),
  });
}

/** dracut's configuration for images with a kernel (the manifest's own `files` can override it). */
export const DRACUT_CONF_PATH = '/etc/dracut.conf.d/10-apt-ostree.conf';
const DRACUT_CONF = [
  '# Written by apt-ostree compose (kernel: true). The image is built in a chroot, so its',
  '# initramfs must hold what any machine needs, not what the build host has.',
  'hostonly="no"',
  '',
].join('\n');

/**
 * The files written into the tree before the packages are installed: the manifest's `files`,
 * and for `kernel: true` dracut's configuration for a generic initramfs.
 */
export function earlyFiles(m: Pick<ResolvedManifest, 'files' | 'kernel'>): Record<string, string> {
  return { ...(m.kernel ? { [DRACUT_CONF_PATH]: DRACUT_CONF } : {}), ...(m.files ?? {}) };
}

function debsIn(dir: string): Set<string> {
  try {
    return new Set(readdirSync(dir).filter((n) => n.endsWith('.deb')));
  } catch {
    return new Set();
  }
}

export async function composeTree(o: ComposeTreeOptions): Promise<ComposeTreeResult> {
  const manifest = readManifest(o.manifestPath);
  const repoState = existsSync(o.repo) && readdirSync(o.repo).length > 0 && !existsSync(join(o.repo, 'config'));
  if (repoState) throw new InputError(`${o.repo} is not an OSTree repository (and not empty).`, 'Give the path of an existing repository, or of a new directory to create one in.');
  const m = resolveManifest(manifest, manifest.architecture ?? (await hostArchitecture()));
  const previous = existsSync(join(o.repo, 'config')) ? refCommit(o.repo, m.ref) : undefined;
  const requests = [...variantRequests(m.variant, m.suite, m.architecture), ...m.packages];
  if (!requests.length) throw new InputError(`The manifest ${o.manifestPath} selects no packages (variant ${m.variant} and no packages).`, 'Add packages, or use the variant minbase.');

  const unlockCache = o.cacheDir ? await lockCacheDir(resolve(o.cacheDir), o.reporter) : undefined;
  try {
    return await composeTreeLocked(o, m, previous, requests);
  } finally {
    await unlockCache?.();
  }
}

/**
 * One compose at a time per cache directory (apt's lists and the .deb cache are shared):
 * a second one waits for the first.
 */
async function lockCacheDir(dir: string, reporter: Reporter): Promise<() => Promise<void>> {
  mkdirSync(dir, { recursive: true });
  const { default: lockfile } = await import('proper-lockfile');
  const opts = { lockfilePath: join(dir, '.apt-ostree.lock'), realpath: false, stale: 60_000, update: 10_000 };
  try {
    return await lockfile.lock(dir, { ...opts, retries: 0 });
  } catch {
    reporter.info(`waiting for another compose that uses the cache directory ${dir}`);
    return lockfile.lock(dir, { ...opts, retries: { retries: 100_000, minTimeout: 1000, maxTimeout: 1000 } });
  }
}

async function composeTreeLocked(o: ComposeTreeOptions, m: ResolvedManifest, previous: CommitInfo | undefined, requests: string[]): Promise<ComposeTreeResult> {
  return withCancellation(o.reporter, async (signal) => {
    // Scratch space on the cache's file system (hardlinks between cache and tree), else beside the repo.
    const workParent = o.cacheDir ? resolve(o.cacheDir) : dirname(resolve(o.repo));
    mkdirSync(workParent, { recursive: true });
    const work = mkdtempSync(join(workParent, '.apt-ostree-compose-'));
    try {
      const cacheDir = o.cacheDir ? resolve(o.cacheDir) : join(work, 'cache');
      const apt = await scratchApt(m, cacheDir, join(work, 'scratch'));
      const plan = await o.reporter.task('Resolving packages', async () => {
        await aptUpdate(apt, { signal, hint: 'Check the manifest\'s mirror/sources and suite, and the network.' });
        return aptSimulate(apt, requests, { signal });
      });
      const packages = plan.install.map((p) => ({ name: p.name, version: p.version, architecture: p.architecture })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const inputhash = inputHash(m, packages, LAYOUT_VERSION);
      const prevVersion = previous && typeof previous.metadata.version === 'string' ? previous.metadata.version : undefined;
      const version = expandVersion(m.version, prevVersion);
      const result: ComposeTreeResult = { ref: m.ref, inputhash, version, packages };
      if (previous && previous.metadata[META.inputHash] === inputhash) {
        result.unchangedCommit = previous.checksum;
        if (o.sign && !o.dryRun) result.existingSigning = await signExistingCommit(o.repo, previous.checksum, o.sign);
        return result;
      }
      if (o.dryRun) return result;

      await ensureRepo(o.repo, o.reporter);
      const tree = join(work, 'rootfs');
      const debsDir = join(cacheDir, 'archives');
      const before = debsIn(debsDir);
      const early = earlyFiles(m);
      const filesDir = join(work, 'files');
      for (const [path, content] of Object.entries(early)) {
        mkdirSync(dirname(join(filesDir, path)), { recursive: true, mode: 0o755 });
        writeFileSync(join(filesDir, path), content, { mode: 0o644 });
      }
      await o.reporter.task(`Bootstrapping ${packages.length} packages with mmdebstrap`, () =>
        mmdebstrap(
          {
            suite: m.suite,
            target: tree,
            sources: m.sources,
            variant: m.variant,
            architecture: m.architecture,
            include: m.packages,
            aptOptions: m['apt-options'],
            includeRecommends: m['include-recommends'],
            // The lists are the ones resolution just fetched: the tree gets exactly that package set.
            // (mmdebstrap's /dev device nodes are removed by the conversion: no --skip avoids them in directory mode.)
            skip: ['update', 'essential/unlink'],
            setupHooks: [CACHE_IN_HOOK],
            essentialHooks: Object.keys(early).length ? [FILES_HOOK] : [],
            customizeHooks: [CACHE_OUT_HOOK],
            env: { APT_OSTREE_DEBS: debsDir, APT_OSTREE_LISTS: apt.listsDir, APT_OSTREE_FILES: filesDir },
          },
          { signal, onLine: (line) => o.reporter.debug(line) },
        ),
      );
      const after = debsIn(debsDir);
      const used = new Set(packages.map((p) => archiveFileName(p)));
      result.downloaded = [...after].filter((n) => !before.has(n)).length;
      result.cached = [...used].filter((n) => before.has(n)).length;
      // mmdebstrap copies the build host's name and resolver configuration in.
      for (const f of ['etc/hostname', 'etc/resolv.conf']) rmSync(join(tree, f), { force: true });

      for (const [i, cmd] of m.postprocess.entries()) {
        await o.reporter.task(`Running postprocess command ${i + 1} of ${m.postprocess.length}`, async () => {
          try {
            await runShellInSandbox({ root: tree }, cmd, { signal, onLine: (l) => o.reporter.debug(l) });
          } catch (e) {
            if (e instanceof CancelledError) throw e;
            throw new AptOstreeError(`Postprocess command ${i + 1} of the manifest failed: ${cmd.split('\n')[0]}`, {
              detail: (e as AptOstreeError).detail,
              hint: 'The command runs with /bin/sh inside the new tree (no network); its output is shown above.',
            });
          }
        });
      }
      const convert = await o.reporter.task('Converting to the OSTree layout', async () => convertImage(tree, Boolean(m.kernel), o.reporter));
      if (convert.kernel?.placeholder) o.reporter.debug('no kernel in the image: added the placeholder kernel (kernel: false)');
      const committed = await o.reporter.task(`Committing ${m.ref}`, () =>
        commitTree({
          repo: o.repo,
          ref: m.ref,
          tree,
          version,
          metadata: m.metadata,
          manifestJson: canonicalJson(m),
          inputhash,
          kargs: m.kargs,
          consume: true,
          sign: o.sign,
          signal,
        }),
      );
      result.checksum = committed.checksum;
      return result;
    } finally {
      removeTree(work);
    }
  });
}
