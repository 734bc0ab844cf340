/**
 * `admin provision`: from nothing (or an existing sysroot) to a deployed image.
 *
 *   init-fs + os-init      when the sysroot / stateroot do not exist yet
 *   sysroot.bootloader     `none` unless the repository already names one (BLS entries only;
 *                          a provisioning script installs the boot loader around the sysroot)
 *   remote NAME → URL      so that later `upgrade` pulls from the same place
 *   pull NAME:REF          then deploy it with origin refspec NAME:REF and its kernel arguments
 *
 * It all runs in one Transaction: on failure everything made so far is removed again (a sysroot
 * that did not exist before is removed entirely). Re-running with the same commit, remote and
 * kernel arguments changes nothing.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AptOstreeError, InputError } from '../errors.js';
import { KARGS_KEY } from '../image/compose.js';
import { resolveRefFile } from '../ostree/commit.js';
import type { Reporter } from '../output/reporter.js';
import * as ostree from '../system/ostree.js';
import { run } from '../system/run.js';
import { deployAsDefault } from './deployments.js';
import { KeyFile } from './keyfile.js';
import { newOrigin } from './origin.js';
import { Sysroot } from './sysroot.js';
import { removeTree, Transaction } from './transaction.js';

export const DEFAULT_OS = 'debian';
export const DEFAULT_REMOTE = 'origin';
/** Stateroot and remote names: what ostree accepts and what is safe in paths. */
export const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export interface ProvisionOptions {
  sysroot: string;
  os: string;
  remote: string;
  /** The remote's URL (file://, http://, https://). */
  url: string;
  ref: string;
  /** Explicit kernel arguments; undefined: the commit's aptostree.kargs, else none. */
  kargs?: string[];
  gpgVerify?: boolean;
  gpgImport?: string;
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
}

/** Entries directly in `dir` (empty when it does not exist). */
function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function repoConfig(repo: string): KeyFile {
  return KeyFile.parse(readFileSync(join(repo, 'config'), 'utf8'));
}

export async function provision(o: ProvisionOptions): Promise<ProvisionResult> {
  const sysrootExisted = existsSync(o.sysroot);
  const before = new Set(entries(o.sysroot));
  const repo = join(o.sysroot, 'ostree', 'repo');
  // Set once we hold the lock: a run that fails to get it must not clean up another's sysroot.
  let entered = false;
  try {
    return await Transaction.run({ sysroot: o.sysroot, command: o.command, title: 'provision', reporter: o.reporter, lockWaitSeconds: o.lockWaitSeconds, createSysroot: true }, async (tx) => {
      entered = true;
      const changes: string[] = [];
      if (!existsSync(join(repo, 'config'))) {
        await o.reporter.task(`Creating the sysroot ${o.sysroot}`, () => ostree.adminInitFs(o.sysroot));
        // Undo: remove what init-fs made (the lock in ostree/ stays until the transaction ends).
        tx.onUndo('remove the new sysroot', () => {
          for (const n of entries(o.sysroot)) if (!before.has(n) && n !== 'ostree') removeTree(join(o.sysroot, n));
          for (const n of entries(join(o.sysroot, 'ostree'))) if (!n.startsWith('apt-ostree')) removeTree(join(o.sysroot, 'ostree', n));
        });
        changes.push('created the sysroot');
      }
      const stateroot = join(o.sysroot, 'ostree', 'deploy', o.os);
      if (!existsSync(stateroot)) {
        await ostree.adminOsInit(o.sysroot, o.os);
        tx.onUndo(`remove the stateroot ${o.os}`, () => removeTree(stateroot));
        changes.push(`created the stateroot ${o.os}`);
      }
      if (repoConfig(repo).get('sysroot', 'bootloader') === undefined) {
        await ostree.configSet(repo, 'sysroot.bootloader', 'none');
        tx.onUndo('unset sysroot.bootloader', () => run('ostree', [`--repo=${repo}`, 'config', 'unset', 'sysroot.bootloader']).then(() => undefined));
        changes.push('set sysroot.bootloader=none');
      }

      const oldUrl = await ostree.remoteUrl(repo, o.remote);
      if (oldUrl !== o.url || o.gpgImport) {
        await ostree.remoteAdd(repo, o.remote, o.url, { gpgVerify: o.gpgVerify || Boolean(o.gpgImport), force: oldUrl !== undefined });
        tx.onUndo(`restore the remote ${o.remote}`, async () => {
          if (oldUrl === undefined) await run('ostree', [`--repo=${repo}`, 'remote', 'delete', '--if-exists', o.remote]);
          else await ostree.remoteAdd(repo, o.remote, oldUrl, { force: true });
        });
        if (o.gpgImport) {
          await run('ostree', [`--repo=${repo}`, 'remote', 'gpg-import', o.remote, '-k', o.gpgImport], { what: `importing the GPG keys of ${o.gpgImport}` });
        }
        if (oldUrl !== o.url) changes.push(oldUrl === undefined ? `added the remote ${o.remote} (${o.url})` : `changed the remote ${o.remote} from ${oldUrl} to ${o.url}`);
      }

      const refspec = `${o.remote}:${o.ref}`;
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

      const sysroot = Sysroot.load(o.sysroot);
      const info = sysroot.commit(checksum);
      const version = typeof info?.metadata.version === 'string' ? info.metadata.version : undefined;
      const metaKargs = info?.metadata[KARGS_KEY];
      const kargs = o.kargs ?? (Array.isArray(metaKargs) ? metaKargs.map(String) : []);
      const current = sysroot.defaultDeployment(o.os);
      const same = current && current.checksum === checksum && current.origin?.refspec === refspec && sameList(current.kargs, kargs);
      if (same) return { checksum, version, kargs, changes, deployed: false };

      await deployAsDefault(tx, sysroot, o.os, { revision: checksum, origin: newOrigin(refspec), kargs });
      changes.push(`deployed ${version ? `${version} (${checksum.slice(0, 12)})` : checksum.slice(0, 12)}`);
      return { checksum, version, kargs, changes, deployed: true };
    });
  } catch (e) {
    // A sysroot this run created is removed entirely, lock directory included.
    if (!entered) throw e;
    if (!sysrootExisted) rmSync(o.sysroot, { recursive: true, force: true });
    else if (before.size === 0) for (const n of entries(o.sysroot)) removeTree(join(o.sysroot, n));
    else if (!before.has('ostree') && existsSync(join(o.sysroot, 'ostree')) && entries(join(o.sysroot, 'ostree')).every((n) => n.startsWith('apt-ostree'))) {
      removeTree(join(o.sysroot, 'ostree'));
    }
    throw e;
  }
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Check the arguments of provision before anything is touched. */
export function validateProvisionNames(o: { os: string; remote: string; sysroot: string }): void {
  if (!NAME_RE.test(o.os)) throw new InputError(`'${o.os}' is not a valid stateroot name.`, 'Use letters, digits and . _ - (e.g. debian).');
  if (!NAME_RE.test(o.remote)) throw new InputError(`'${o.remote}' is not a valid remote name.`, 'Use letters, digits and . _ - (e.g. origin).');
  if (o.sysroot === '/' && !existsSync('/ostree/repo')) {
    throw new InputError('Refusing to provision / : this system is not an OSTree system.', 'Give the directory of the new sysroot with --sysroot DIR (e.g. a mounted disk image).');
  }
}
