/**
 * The sysroot model: the deployments of an OSTree sysroot as ostree itself sees them, read
 * from the sysroot's own files (boot loader entries, boot.N symlinks, origin files, commit
 * objects) so that read-only commands start no external program.
 *
 * Boot order: the entries of /boot/loader/entries (read by ostree/boot-entry.ts) sorted by their
 * `version` field, highest first (ostree writes the default with the highest version). Each
 * entry's `ostree=` argument names /ostree/boot.N/OS/BOOTCSUM/I, a symlink to
 * deploy/OS/deploy/CHECKSUM.SERIAL.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { AptOstreeError } from '../../errors.js';
import { readBootEntries } from '../../ostree/boot-entry.js';
import { readCommit, type CommitInfo } from '../../ostree/commit.js';
import { readGVariant, vardictToObject } from '../../ostree/gvariant.js';
import { resolveRefFile } from '../../ostree/refs.js';
import { splitKernelArgs } from './kargs.js';
import { checkOriginAgainstCommit, validateOrigin, type Origin, type OriginDamage } from './origin.js';
import { META } from '../../layout/commit-metadata.js';
import { staterootDir } from '../state-paths.js';
import { isRunningSystem } from './running-system.js';

export interface Deployment {
  /** Position in boot order; 0 is the default for the next boot. */
  index: number;
  osname: string;
  checksum: string;
  serial: number;
  bootcsum?: string;
  /** Kernel arguments of its boot entry, without ostree=. */
  kargs: string[];
  /** The deployment's root directory. */
  path: string;
  originPath: string;
  /** Undefined when the file is missing or damaged (then `originDamage` says why). */
  origin?: Origin;
  originDamage?: DamagedOrigin;
  booted: boolean;
  staged: boolean;
  pinned: boolean;
  /** /usr unlocked by `ostree admin unlock` (apt-ostree usroverlay); 'none' normally. */
  unlocked: 'none' | 'development' | 'transient' | 'hotfix';
  /** Path of the boot loader entry that boots it (undefined for a staged deployment). */
  bootEntry?: string;
}

/**
 * The read-only entry: a snapshot of the sysroot for what reads without the lock (status, the
 * db commands, the configuration, DBus properties, checks before a transaction locks). What
 * changes a sysroot loads it under the lock instead (sysroot-transaction.ts).
 */
export function openSysroot(sysrootPath: string): Sysroot {
  // Without the lock: a transaction may be writing; readers take the boot order as it is now.
  return Sysroot.load(sysrootPath);
}

export interface DamagedOrigin extends OriginDamage {
  /** The refspec to repair it with, when the file or the repository tells it. */
  refspec?: string;
}

export class Sysroot {
  readonly path: string;
  readonly repoPath: string;
  readonly deployments: Deployment[];
  /** True when this sysroot is the running system's (`/` with /run/ostree-booted). */
  readonly isBootedSystem: boolean;
  private commits = new Map<string, CommitInfo>();

  private constructor(path: string, deployments: Deployment[], isBooted: boolean) {
    this.path = path;
    this.repoPath = join(path, 'ostree', 'repo');
    this.deployments = deployments;
    this.isBootedSystem = isBooted;
  }

  static load(path: string): Sysroot {
    const root = resolve(path);
    try {
      statSync(join(root, 'ostree', 'repo'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EACCES') {
        throw new AptOstreeError(`Cannot read the sysroot ${root}: permission denied.`, { hint: 'Run the command as a user who can read it, or with sudo.' });
      }
      throw new AptOstreeError(`${root} is not an OSTree sysroot (it has no ostree/repo).`, {
        hint: root === '/'
          ? 'apt-ostree manages systems installed with OSTree; give --sysroot DIR to work on another sysroot.'
          : 'Create one with `apt-ostree admin provision --sysroot DIR …`, or check the path.',
      });
    }
    const liveRoot = isRunningSystem(root);
    const deployments = readBootOrder(root);
    if (liveRoot) {
      markBooted(deployments);
      addStaged(root, deployments);
      markUnlocked(deployments);
    }
    const sysroot = new Sysroot(root, deployments, liveRoot);
    for (const d of deployments) sysroot.checkOrigin(d);
    return sysroot;
  }

  /**
   * requireOrigin's check, made before a transaction takes the lock, so that a refused command
   * leaves the sysroot exactly as it was (not even a lock file). The transaction checks again
   * under the lock; anything else wrong here (no sysroot, no deployment) is left for it to report.
   * `keepDefault`: only refuse what ostree cannot load (rollback, rebase: their own repair).
   */
  static refuseDamagedOrigins(path: string, os: string | undefined, opts: { keepDefault?: boolean } = {}): void {
    let sysroot: Sysroot;
    let merge: Deployment | undefined;
    try {
      // Before the lock, read only: the transaction loads its own under the lock.
      sysroot = openSysroot(path);
      merge = sysroot.mergeDeployment(sysroot.resolveOs(os));
    } catch {
      return;
    }
    sysroot.assertOriginsLoadable();
    if (merge && !opts.keepDefault) sysroot.originOf(merge);
  }

  /**
   * The same sysroot read again from disk, after ostree rewrote its deployments or boot order
   * (a deploy, an undeploy) or something else may have (the caller says which).
   */
  reload(): Sysroot {
    return Sysroot.load(this.path);
  }

  /** Compare a readable origin with the deployment's commit; suggest a refspec for a damaged one. */
  private checkOrigin(d: Deployment): void {
    if (d.origin) {
      const problem = checkOriginAgainstCommit(d.origin, this.commit(d.checksum)?.metadata ?? {});
      if (problem) d.originDamage = { problem, unloadable: false, refspec: d.origin.refspec };
    }
    if (!d.originDamage) return;
    d.origin = undefined;
    const named = d.originDamage.refspec;
    d.originDamage.refspec = named && resolveRefFile(this.repoPath, named) ? named : this.refspecOf(this.baseChecksum(d));
  }

  /** The one remote ref that points at a commit, if exactly one does. */
  private refspecOf(checksum: string): string | undefined {
    const remotes = join(this.repoPath, 'refs', 'remotes');
    let files: string[];
    try {
      files = readdirSync(remotes, { recursive: true, encoding: 'utf8' });
    } catch {
      return undefined;
    }
    const found = files.filter((f) => {
      const slash = f.indexOf('/');
      return slash > 0 && resolveRefFile(this.repoPath, `${f.slice(0, slash)}:${f.slice(slash + 1)}`) === checksum;
    });
    return found.length === 1 ? found[0]!.replace('/', ':') : undefined;
  }

  /**
   * The origin of a deployment a command is about to act on, or an error naming the file and
   * the repair. Called before any work, so that a damaged origin is refused, never rewritten.
   */
  requireOrigin(d: Deployment): Origin {
    this.assertOriginsLoadable();
    return this.originOf(d);
  }

  /** The deployment's origin, or the error naming the damaged file (for reading it only). */
  originOf(d: Deployment): Origin {
    if (d.origin) return d.origin;
    throw this.damagedOriginError(d);
  }

  /**
   * ostree refuses to load a sysroot in which any origin file is not a key file: every
   * `ostree admin` command would fail, after our work. Refuse first, naming the file.
   */
  assertOriginsLoadable(): void {
    const d = this.deployments.find((x) => x.originDamage?.unloadable);
    if (d) throw this.damagedOriginError(d);
  }

  private damagedOriginError(d: Deployment): AptOstreeError {
    const damage = d.originDamage ?? { problem: 'it cannot be read', unloadable: false };
    const repair = originRepair(damage);
    return new AptOstreeError(`The origin file ${d.originPath} is damaged: ${damage.problem}. Nothing was changed.`, {
      hint: `${repair[0]!.toUpperCase()}${repair.slice(1)}.`,
    });
  }

  get booted(): Deployment | undefined {
    return this.deployments.find((d) => d.booted);
  }

  osnames(): string[] {
    const dir = join(this.path, 'ostree', 'deploy');
    try {
      return readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
    } catch {
      return [];
    }
  }

  /** The stateroot commands act on: --os, else the booted one, else the default deployment's. */
  resolveOs(os?: string): string {
    if (os) {
      if (!this.osnames().includes(os)) {
        throw new AptOstreeError(`There is no stateroot named '${os}' in ${this.path}.`, {
          hint: `Known stateroots: ${this.osnames().join(', ') || 'none'}.`,
        });
      }
      return os;
    }
    const d = this.booted ?? this.deployments[0];
    if (d) return d.osname;
    const names = this.osnames();
    if (names.length === 1) return names[0]!;
    throw new AptOstreeError(`The sysroot ${this.path} has no deployment; cannot tell which stateroot to use.`, {
      hint: 'Give --os NAME, or provision one first with `apt-ostree admin provision`.',
    });
  }

  deploymentsOf(os: string): Deployment[] {
    return this.deployments.filter((d) => d.osname === os);
  }

  /** The deployment the next boot starts for this stateroot (a staged one counts). */
  defaultDeployment(os: string): Deployment | undefined {
    return this.deploymentsOf(os)[0];
  }

  /** The deployment a rollback would return to: the first after the default that is not booted-and-default. */
  rollbackDeployment(os: string): Deployment | undefined {
    const list = this.deploymentsOf(os).filter((d) => !d.staged);
    const booted = this.booted;
    if (booted && booted.osname === os && list[0] !== booted) return booted;
    return list[1];
  }

  /** The deployment whose state (origin, /etc, kargs) a new deployment starts from. */
  mergeDeployment(os: string): Deployment | undefined {
    return this.defaultDeployment(os) ?? (this.booted?.osname === os ? this.booted : undefined);
  }

  /**
   * The /etc a deployment boots with, as far as it is known now. ostree merges the running /etc
   * into a deployment staged on the running system at shutdown, not when it stages it (its own
   * /etc is the image's defaults until then): for a staged deployment, that is /etc.
   */
  etcOf(d: Deployment): string {
    return d.staged && this.isBootedSystem ? join(this.path, 'etc') : join(d.path, 'etc');
  }

  commit(checksum: string): CommitInfo | undefined {
    let info = this.commits.get(checksum);
    if (!info) {
      try {
        info = readCommit(this.repoPath, checksum);
      } catch {
        return undefined;
      }
      this.commits.set(checksum, info);
    }
    return info;
  }

  /** The commit a layered deployment was built on, or the deployment's own commit. */
  baseChecksum(d: Deployment): string {
    return this.baseOf(d.checksum);
  }

  /** The base image commit a commit was layered on; the commit itself when it is not layered. */
  baseOf(checksum: string): string {
    const base = this.commit(checksum)?.metadata[META.baseChecksum];
    return typeof base === 'string' && base ? base : checksum;
  }

  stateroot(os: string): string {
    return staterootDir(this.path, os);
  }
}

function readBootOrder(root: string): Deployment[] {
  const deployments: Deployment[] = [];
  for (const entry of readBootEntries(root)) {
    // Split as ostree does: a quoted value with spaces (foo="a b") is one argument.
    const options = splitKernelArgs(entry.options);
    const ostreeArg = options.find((o) => o.startsWith('ostree='));
    if (!ostreeArg) continue;
    const bootLink = ostreeArg.slice('ostree='.length);
    const m = /^\/ostree\/boot\.\d+\/([^/]+)\/([0-9a-f]+)\/\d+$/.exec(bootLink);
    let target: string;
    try {
      target = readlinkSync(join(root, bootLink));
    } catch {
      continue;
    }
    const dep = deploymentFromDir(root, resolve(join(root, bootLink, '..'), target));
    if (!dep) continue;
    dep.index = deployments.length;
    dep.bootcsum = m?.[2];
    dep.kargs = options.filter((o) => !o.startsWith('ostree='));
    dep.bootEntry = entry.file;
    deployments.push(dep);
  }
  return deployments;
}

/** Build a deployment record from its directory (deploy/OS/deploy/CHECKSUM.SERIAL). */
function deploymentFromDir(root: string, dir: string): Deployment | undefined {
  const m = /^([0-9a-f]{64})\.(\d+)$/.exec(basename(dir));
  const osname = basename(resolve(dir, '..', '..'));
  if (!m) return undefined;
  const originPath = `${dir}.origin`;
  let origin: Origin | undefined;
  let originDamage: DamagedOrigin | undefined;
  try {
    const read = validateOrigin(readFileSync(originPath));
    origin = read.origin;
    if (read.damage) originDamage = { ...read.damage, refspec: read.origin.refspec };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    originDamage = { problem: code === 'ENOENT' ? 'the file is missing' : `it cannot be read (${(e as Error).message})`, unloadable: false };
  }
  return {
    index: 0,
    osname,
    checksum: m[1]!,
    serial: Number(m[2]),
    kargs: [],
    path: join(root, 'ostree', 'deploy', osname, 'deploy', basename(dir)),
    originPath,
    origin: originDamage ? undefined : origin,
    originDamage,
    booted: false,
    staged: false,
    pinned: origin?.pinned ?? false,
    unlocked: origin?.unlocked === 'hotfix' ? 'hotfix' : 'none',
  };
}

/** ostree keeps the unlock state of the running system's deployments under /run (until reboot). */
function markUnlocked(deployments: Deployment[]): void {
  for (const d of deployments) {
    const state = `/run/ostree/deployment-state/${d.checksum}.${d.serial}`;
    if (existsSync(`${state}/unlocked-development`)) d.unlocked = 'development';
    else if (existsSync(`${state}/unlocked-transient`)) d.unlocked = 'transient';
  }
}

function markBooted(deployments: Deployment[]): void {
  let rootStat;
  try {
    rootStat = statSync('/');
  } catch {
    return;
  }
  for (const d of deployments) {
    try {
      const s = statSync(d.path);
      if (s.dev === rootStat.dev && s.ino === rootStat.ino) d.booted = true;
    } catch {
      /* deployment directory missing: not booted */
    }
  }
}

/**
 * A staged deployment (`ostree admin deploy --stage`) has a directory and an origin but no
 * boot entry until it is finalized at shutdown; ostree lists it first.
 */
function addStaged(root: string, deployments: Deployment[]): void {
  if (!existsSync('/run/ostree/staged-deployment')) return;
  // ostree's record names it (target: name "checksum.serial", osname); a directory left by a
  // staged deployment that an earlier boot did not finalize (--lock-finalization) is not it.
  const target = stagedTarget();
  const known = new Set(deployments.map((d) => d.path));
  const deployRoot = join(root, 'ostree', 'deploy');
  let osnames: string[] = [];
  try {
    osnames = readdirSync(deployRoot);
  } catch {
    return;
  }
  for (const os of osnames) {
    let dirs: string[] = [];
    try {
      dirs = readdirSync(join(deployRoot, os, 'deploy'));
    } catch {
      continue;
    }
    for (const name of dirs) {
      const path = join(deployRoot, os, 'deploy', name);
      if (known.has(path) || name.endsWith('.origin')) continue;
      if (target && (target.name !== name || target.osname !== os)) continue;
      const dep = deploymentFromDir(root, path);
      if (!dep || !existsSync(dep.originPath)) continue;
      dep.staged = true;
      // A staged deployment has no boot entry yet: its kernel arguments are in ostree's record,
      // or (none recorded) those of the deployment it was staged from, the booted one here.
      dep.kargs = target?.kargs?.filter((k) => !k.startsWith('ostree=')) ?? deployments.find((d) => d.booted)?.kargs ?? [];
      deployments.unshift(dep);
    }
  }
  deployments.forEach((d, i) => (d.index = i));
}

/** The deployment /run/ostree/staged-deployment names, if the record can be read. */
function stagedTarget(): { name: string; osname: string; kargs?: string[] } | undefined {
  try {
    const staged = vardictToObject(readGVariant('a{sv}', readFileSync('/run/ostree/staged-deployment')));
    const t = vardictToObject(staged.target ?? null);
    // The kernel arguments it will boot with, when the stager set them (apt-ostree always does);
    // otherwise ostree takes the merge deployment's at finalization.
    const kargs = Array.isArray(staged.kargs) && staged.kargs.every((k) => typeof k === 'string') ? (staged.kargs as string[]) : undefined;
    return typeof t.name === 'string' && typeof t.osname === 'string' ? { name: t.name, osname: t.osname, kargs } : undefined;
  } catch {
    return undefined;
  }
}

/** How to repair a damaged origin, as a clause: status prints it after the problem, the refusal as its hint. */
export function originRepair(damage: DamagedOrigin): string {
  const refspec = damage.refspec ?? 'REMOTE:REF';
  if (damage.unloadable) {
    return `rewrite it by hand with an [origin] group and refspec=${refspec} (ostree cannot load the sysroot until then), then run \`apt-ostree rebase ${refspec}\``;
  }
  return `repair with \`apt-ostree rebase ${refspec}\`, or deploy a known commit with \`ostree admin deploy\``;
}
