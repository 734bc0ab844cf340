/**
 * `admin provision`: from nothing (or an existing sysroot) to a deployed image.
 *
 *   init-fs + os-init      when the sysroot / stateroot do not exist yet
 *   sysroot.bootloader     `grub2` unless the repository already names one, with
 *                          boot/grub/grub.cfg → ../loader/grub.cfg: every deployment change
 *                          rewrites the GRUB menu through ostree (docs/layout.md, "Booting");
 *                          sysroot.bootprefix so that an ostree that knows it (2023.2+) writes
 *                          entry paths under /boot, which is a directory of the root file system
 *   root=LABEL=…           added to the kernel arguments when none names the root file system
 *                          (the label admin image gives it)
 *   remote NAME → URL      so that later `upgrade` pulls from the same place
 *   pull NAME:REF          then deploy it with origin refspec NAME:REF and its kernel arguments
 *
 * It all runs in one Transaction: on failure everything made so far is removed again (a sysroot
 * that did not exist before is removed entirely). Re-running with the same commit, remote and
 * kernel arguments changes nothing.
 *
 * On a sysroot that already has a deployment, provisioning never changes which one boots by
 * default unless told: --as-default deploys the image as the new default, --not-as-default
 * after it; without either it refuses. Either way it removes no deployment (ostree admin deploy
 * --retain): the output names those kept, and `apt-ostree cleanup` removes what is not wanted.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AptOstreeError, InputError } from '../../errors.js';
import { withRoot } from '../../layout/boot.js';
import { META } from '../../layout/commit-metadata.js';
import { isValidRemoteName, resolveRefFile } from '../../ostree/refs.js';
import { checkRemoteTrust, configureRemote, refusedPull } from './verification.js';
import type { Reporter } from '../../output/reporter.js';
import { isSymlink, listDir } from '../../system/fs.js';
import * as ostree from '../../system/ostree.js';
import { basesOf, setBaseRefs } from './base-refs.js';
import { adoptNewDeployment, deployNew, describeDeployment } from './deploy.js';
import { checkNewDeploymentKargs } from './boot-kargs.js';
import { checkRefBinding, refusedBinding } from './ref-binding.js';
import { KeyFile } from '../../ostree/keyfile.js';
import { newOrigin, originFileText } from './origin.js';
import { Sysroot, type Deployment } from './sysroot.js';
import { removeTree, Transaction } from '../transaction/transaction.js';

export const DEFAULT_OS = 'debian';
export const DEFAULT_REMOTE = 'origin';
/** Stateroot and remote names: what ostree accepts and what is safe in paths. */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export interface ProvisionOptions {
  sysrootPath: string;
  os: string;
  remote: string;
  /** The remote's URL (file://, http://, https://). */
  url: string;
  ref: string;
  /** Explicit kernel arguments; undefined: the commit's aptostree.kargs, else none. */
  kargs?: string[];
  /** Verify with GPG keys already trusted elsewhere (none imported). */
  gpgVerify?: boolean;
  /** Exported GPG public keys to import for the remote (verification on). */
  gpgImport?: string;
  /** Accept unsigned content from the remote, knowingly (recorded in the remote's config, shown by status). */
  noVerify?: boolean;
  /** Make the image the default even though the sysroot already has a default deployment. */
  asDefault?: boolean;
  /** Deploy the image after the current default, which stays the default. */
  notAsDefault?: boolean;
  command: string;
  reporter: Reporter;
  lockWaitSeconds?: number;
}

export interface ProvisionResult {
  checksum: string;
  version?: string;
  kargs: string[];
  /** What was done, in order (for the summary); empty when nothing changed. */
  changes: string[];
  deployed: boolean;
  /** Whether the new deployment is the default (false with --not-as-default on a sysroot with one). */
  isDefault: boolean;
  /** The deployments that were there before and are still there, described ("12.0 (1a2b3c4d5e6f.0)"). */
  kept: string[];
  /** With --not-as-default: the default deployment, described. */
  defaultIs?: string;
}

function repoConfig(repo: string): KeyFile {
  return KeyFile.parse(readFileSync(join(repo, 'config'), 'utf8'));
}

export async function provision(o: ProvisionOptions): Promise<ProvisionResult> {
  const sysrootExisted = existsSync(o.sysrootPath);
  const before = new Set(listDir(o.sysrootPath));
  const repo = join(o.sysrootPath, 'ostree', 'repo');
  // Set once we hold the lock: a run that fails to get it must not clean up another's sysroot.
  let entered = false;
  try {
    return await Transaction.run({ sysrootPath: o.sysrootPath, command: o.command, title: 'provision', reporter: o.reporter, lockWaitSeconds: o.lockWaitSeconds, createSysroot: true }, async (tx) => {
      entered = true;
      const changes: string[] = [];
      const refspec = `${o.remote}:${o.ref}`;
      if (existsSync(join(repo, 'config')) && !o.asDefault && !o.notAsDefault) {
        // Refuse before any change or pull when the default cannot be this image anyway (another ref or stateroot).
        // provision makes the sysroot it may find: loaded only once there is a repository.
        const existing = Sysroot.load(o.sysrootPath);
        const first = existing.deployments[0];
        if (first && (first.osname !== o.os || first.origin?.refspec !== refspec || isLayered(first))) throw wouldReplaceDefault(existing, first, refspec);
      }
      if (!existsSync(join(repo, 'config'))) {
        await o.reporter.task(`Creating the sysroot ${o.sysrootPath}`, () => ostree.adminInitFs(o.sysrootPath));
        // Undo: remove what init-fs made (the lock in ostree/ stays until the transaction ends).
        tx.onUndo('remove the new sysroot', () => {
          for (const n of listDir(o.sysrootPath)) if (!before.has(n) && n !== 'ostree') removeTree(join(o.sysrootPath, n));
          for (const n of listDir(join(o.sysrootPath, 'ostree'))) if (!n.startsWith('apt-ostree')) removeTree(join(o.sysrootPath, 'ostree', n));
        });
        changes.push('created the sysroot');
      }
      const stateroot = join(o.sysrootPath, 'ostree', 'deploy', o.os);
      if (!existsSync(stateroot)) {
        await ostree.adminOsInit(o.sysrootPath, o.os);
        tx.onUndo(`remove the stateroot ${o.os}`, () => removeTree(stateroot));
        changes.push(`created the stateroot ${o.os}`);
      }
      if (repoConfig(repo).get('sysroot', 'bootloader') === undefined) {
        await ostree.configSet(repo, 'sysroot.bootloader', 'grub2');
        tx.onUndo('unset sysroot.bootloader', () => ostree.configUnset(repo, 'sysroot.bootloader'));
        if (repoConfig(repo).get('sysroot', 'bootprefix') === undefined) {
          await ostree.configSet(repo, 'sysroot.bootprefix', 'true');
          tx.onUndo('unset sysroot.bootprefix', () => ostree.configUnset(repo, 'sysroot.bootprefix'));
        }
        changes.push('set sysroot.bootloader=grub2');
      }
      if (repoConfig(repo).get('sysroot', 'bootloader') === 'grub2') changes.push(...installGrubMenuLink(tx, o.sysrootPath));

      changes.push(...(await configureRemote(tx, repo, { remote: o.remote, url: o.url, gpgImport: o.gpgImport, noVerify: o.noVerify })));

      const previous = resolveRefFile(repo, refspec);
      await o.reporter.task(`Pulling ${refspec}`, () =>
        ostree.pull({
          repo,
          remote: o.remote,
          refs: [o.ref],
          signal: tx.signal,
          onLine: (line) => {
            const m = /(\d+)\/(\d+) (?:metadata|parts|fetched)|Receiving (?:objects|delta parts): (\d+)%/.exec(line);
            if (m?.[3]) o.reporter.percent(`Pulling ${refspec}`, Number(m[3]));
            o.reporter.debug(line);
          },
        }).catch((e: unknown) => {
          const verification = refusedBinding(e, { remote: o.remote, ref: o.ref }) ?? refusedPull(e, { repo, remote: o.remote, ref: o.ref });
          if (verification) throw verification;
          if (e instanceof AptOstreeError && /No such branch|not found|404/i.test(`${e.message}\n${e.detail ?? ''}`)) {
            throw new AptOstreeError(`The repository ${o.url} has no ref ${o.ref}.`, { hint: 'Check the ref (`ostree refs --repo=REPO` lists them) or the repository.', detail: e.detail, cause: e });
          }
          throw e;
        }),
      );
      const checksum = resolveRefFile(repo, refspec);
      if (!checksum) throw new AptOstreeError(`Pulling ${refspec} left no ref behind.`);
      if (checksum !== previous) {
        tx.onUndo(`restore the ref ${refspec}`, () => ostree.setRef(repo, refspec, previous ?? null));
      }

      // Under provision's own lock, once init-fs and os-init made the sysroot (and the pull its commit).
      const sysroot = Sysroot.load(o.sysrootPath);
      checkRefBinding(sysroot, checksum, refspec);
      const info = sysroot.commit(checksum);
      const version = typeof info?.metadata.version === 'string' ? info.metadata.version : undefined;
      const metaKargs = info?.metadata[META.kargs];
      const kargs = withRoot(o.kargs ?? (Array.isArray(metaKargs) ? metaKargs.map(String) : []));
      const isThis = (d: Deployment | undefined) => d !== undefined && d.checksum === checksum && d.origin?.refspec === refspec && !isLayered(d) && sameList(d.kargs, kargs);
      const current = sysroot.defaultDeployment(o.os);
      const unchanged = { checksum, version, kargs, changes, deployed: false, kept: [] };
      // Nothing to do when the stateroot's default is this image already (with --as-default: the sysroot's default).
      if (o.asDefault ? isThis(sysroot.deployments[0]) : isThis(current)) return { ...unchanged, isDefault: true };
      if (o.notAsDefault && sysroot.deploymentsOf(o.os).some(isThis)) return { ...unchanged, isDefault: false, defaultIs: current && describeDeployment(sysroot, current) };
      const existingDeployments = sysroot.deployments;
      const oldDefault = existingDeployments[0];
      if (oldDefault && !o.asDefault && !o.notAsDefault) throw wouldReplaceDefault(sysroot, oldDefault, refspec);

      const request = { os: o.os, revision: checksum, origin: newOrigin(refspec), kargs };
      // Both keep every deployment (--retain): nothing is removed behind the user's back.
      const { sysroot: after, staged } = oldDefault && o.notAsDefault
        ? { ...(await deployAfterDefault(tx, sysroot, request)), staged: false }
        : await deployNew(tx, sysroot, { ...request, retain: true });
      const isDefault = !(oldDefault && o.notAsDefault);
      changes.push(`${staged ? 'staged' : 'deployed'} ${version ? `${version} (${checksum.slice(0, 12)})` : checksum.slice(0, 12)}${isDefault ? '' : ' after the default'}`);
      const remaining = new Set(staged ? [] : after.deployments.map((d) => d.path)); // ostree decides at shutdown what a staged one keeps
      const kept = existingDeployments.filter((d) => remaining.has(d.path)).map((d) => `${describeDeployment(sysroot, d)}${d.osname === o.os ? '' : ` of stateroot ${d.osname}`}`);
      return { checksum, version, kargs, changes, deployed: true, isDefault, kept, defaultIs: isDefault ? undefined : describeDeployment(sysroot, oldDefault!) };
    });
  } catch (e) {
    // A sysroot this run created is removed entirely, lock directory included.
    if (!entered) throw e;
    if (!sysrootExisted) rmSync(o.sysrootPath, { recursive: true, force: true });
    else if (before.size === 0) for (const n of listDir(o.sysrootPath)) removeTree(join(o.sysrootPath, n));
    else if (!before.has('ostree') && existsSync(join(o.sysrootPath, 'ostree')) && listDir(join(o.sysrootPath, 'ostree')).every((n) => n.startsWith('apt-ostree'))) {
      removeTree(join(o.sysrootPath, 'ostree'));
    }
    throw e;
  }
}

/**
 * GRUB reads boot/grub/grub.cfg; ostree's grub2 backend writes boot/loader.N/grub.cfg and swaps
 * the boot/loader link with each change, so the menu is a link through it (as on Fedora and
 * Debian OSTree systems). Made once; an existing grub.cfg is left alone.
 */
function installGrubMenuLink(tx: Transaction, sysrootPath: string): string[] {
  const grubDir = join(sysrootPath, 'boot', 'grub');
  const cfg = join(grubDir, 'grub.cfg');
  if (existsSync(cfg) || isSymlink(cfg)) return [];
  const madeDir = !existsSync(grubDir);
  mkdirSync(grubDir, { recursive: true });
  symlinkSync('../loader/grub.cfg', cfg);
  tx.onUndo('remove boot/grub/grub.cfg', () => rmSync(madeDir ? grubDir : cfg, { recursive: true, force: true }));
  return ['linked boot/grub/grub.cfg to the menu ostree writes'];
}

/** A deployment with packages layered, removed or replaced: not the plain image. */
function isLayered(d: Deployment): boolean {
  const o = d.origin;
  return o !== undefined && (o.overrideCommit !== undefined || [o.requestedPackages, o.requestedLocalPackages, o.removedBasePackages, o.replacedPackages, o.replacedLocalPackages].some((l) => l.length > 0) || o.regenerateInitramfs);
}

/** Provisioning would change which deployment boots by default: refused without --as-default. */
function wouldReplaceDefault(sysroot: Sysroot, current: Deployment, refspec: string): AptOstreeError {
  const layered = current.origin && isLayered(current) ? ' with layered changes' : '';
  const origin = current.origin?.refspec ? ` from ${current.origin.refspec}` : '';
  return new AptOstreeError(
    `${sysroot.path} already boots ${describeDeployment(sysroot, current)}${origin}${layered} (stateroot ${current.osname}) by default; admin provision does not replace an existing default unless asked.`,
    {
      hint: `Give --as-default to deploy ${refspec} as the new default, or --not-as-default to add it after the default; no deployment is removed either way.${
        current.origin?.refspec === refspec ? ' To update the default to a new commit of its ref, keeping its packages, run `apt-ostree upgrade`.' : ''
      }`,
    },
  );
}

/**
 * Deploy after the default (ostree admin deploy --not-as-default --retain): the default stays
 * and no deployment is removed. Written directly, never staged (staging is for a new default).
 */
async function deployAfterDefault(tx: Transaction, sysroot: Sysroot, req: { os: string; revision: string; origin: ReturnType<typeof newOrigin>; kargs: string[] }): Promise<{ sysroot: Sysroot; added: Deployment }> {
  await checkNewDeploymentKargs(sysroot.path, req.kargs, req.os);
  const originFile = join(tx.workDir('new-deployment'), 'origin');
  writeFileSync(originFile, originFileText(req.origin));
  // Before the deploy prunes the repository: keep every layered deployment's base.
  const restoreBaseRefs = await setBaseRefs(sysroot.repoPath, basesOf(sysroot, [...sysroot.deployments.map((d) => d.checksum), req.revision]));
  tx.onUndo('put back the base refs', restoreBaseRefs);
  tx.enterCommitPhase();
  await tx.reporter.task('Writing the new deployment', () =>
    ostree.adminDeploy({ sysroot: sysroot.path, os: req.os, revision: req.revision, originFile, kargsNone: true, kargs: req.kargs, retain: true, notAsDefault: true }),
  );
  return adoptNewDeployment(tx, sysroot);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Verification is on unless refused knowingly (see checkRemoteTrust); checked before anything is touched. */
export function checkProvisionTrust(o: Pick<ProvisionOptions, 'sysrootPath' | 'remote' | 'url' | 'gpgImport' | 'gpgVerify' | 'noVerify'>): void {
  checkRemoteTrust(join(o.sysrootPath, 'ostree', 'repo'), o);
}

/** Check the arguments of provision before anything is touched. */
export function validateProvisionNames(o: { os: string; remote: string; sysrootPath: string }): void {
  if (!NAME_RE.test(o.os)) throw new InputError(`'${o.os}' is not a valid stateroot name.`, 'Use letters, digits and . _ - (e.g. debian).');
  if (!isValidRemoteName(o.remote)) throw new InputError(`'${o.remote}' is not a valid remote name.`, 'Use letters, digits and . _ - (e.g. origin).');
  if (o.sysrootPath === '/' && !existsSync('/ostree/repo')) {
    throw new InputError('Refusing to provision / : this system is not an OSTree system.', 'Give the directory of the new sysroot with --sysroot DIR (e.g. a mounted disk image).');
  }
}
