/**
 * The sysroot lock: one apt-ostree transaction at a time per sysroot.
 *
 * The lock is an flock(2) on SYSROOT/ostree/apt-ostree.flock. The kernel drops it when the last
 * descriptor of its open file description closes, and every program the transaction starts
 * inherits that descriptor (system/run.ts), so the lock is held exactly as long as any process
 * of the transaction runs, including a detached `ostree commit` or `ostree admin deploy` that
 * outlives a SIGKILLed apt-ostree. No staleness rule can misfire on a live holder: there is
 * none. Node has no flock(), so flock(1) takes it on the shared descriptor and exits.
 *
 * Beside it, for messages and for older apt-ostree versions: proper-lockfile's directory
 * SYSROOT/ostree/apt-ostree.lock and an owner file naming the holder's pid, command and boot.
 * Whoever holds the flock owns those; any left there by a dead run are simply replaced.
 *
 * acquireFlockLock is the same lock on other files: `compose publish` takes one on its
 * repository (image/publish.ts), with the same waiting, refusal and messages.
 */
import { closeSync, existsSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { AptOstreeError } from '../../errors.js';
import { tryExclusiveFlock } from '../../system/flock.js';
import { inheritLockFd } from '../../system/run.js';
import { lockPaths } from '../state-paths.js';
import { currentBootId, ownerAlive, processesWithOpen, processName, readLockOwner, readOwnerFile, type LockOwner } from './lock-owner.js';

export { lockPaths, readLockOwner, type LockOwner };

/** How long a refused command waits for the holder's owner file to appear, to name the holder. */
const OWNER_GRACE_MS = 1000;

export interface SysrootLock {
  release(): Promise<void>;
}

export interface LockOptions {
  command: string;
  /** undefined: fail at once; a number: wait up to that many seconds; Infinity: wait forever. */
  waitSeconds?: number;
  warn: (text: string) => void;
  signal?: AbortSignal;
}

export async function acquireSysrootLock(sysrootPath: string, opts: LockOptions): Promise<SysrootLock> {
  const paths = lockPaths(sysrootPath);
  return acquireFlockLock({ what: `the sysroot ${sysrootPath}`, lockName: 'the sysroot lock', flock: paths.flock, owner: paths.owner, legacyDir: { dir: paths.dir, lock: paths.lock } }, opts);
}

/** A lock of this kind on something else than a sysroot (compose publish locks its repository). */
export interface FlockLockTarget {
  /** For messages: "the sysroot /x", "the repository /srv/repo". */
  what: string;
  /** For messages: "the sysroot lock". */
  lockName: string;
  /** The file that is flocked (created when missing, never removed). */
  flock: string;
  /** The owner file beside it, naming the holder. */
  owner: string;
  /** proper-lockfile's directory, kept for older apt-ostree versions (the sysroot lock only). */
  legacyDir?: { dir: string; lock: string };
}

/**
 * Take the flock of TARGET: at once, or waiting as opts.waitSeconds says; refused with a
 * message naming the holder. Every program started meanwhile inherits it (system/run.ts).
 */
export async function acquireFlockLock(target: FlockLockTarget, opts: LockOptions): Promise<SysrootLock> {
  // Opened once and never recreated: on a full disk the file is already there.
  const fd = openSync(target.flock, 'a', 0o644);
  const deadline = opts.waitSeconds === undefined ? 0 : Date.now() + opts.waitSeconds * 1000;
  let announcedWait = false;
  const started = Date.now();
  try {
    while (!tryFlock(fd, target.what)) {
      // A holder writes its owner file just after it takes the flock: give the file a moment
      // to appear before naming "another command".
      const owner = readOwnerFile(target.owner);
      if (!(owner && ownerAlive(owner)) && Date.now() - started < OWNER_GRACE_MS) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const holder = describeHolder(target);
      if (Date.now() >= deadline || opts.signal?.aborted) {
        throw new AptOstreeError(`${capitalize(target.what)} is locked by ${holder}.`, {
          hint: 'Wait for it to finish, or run again with --lock-wait to wait for it.',
        });
      }
      if (!announcedWait) {
        opts.warn(`waiting for ${holder} to release ${target.lockName}`);
        announcedWait = true;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  // We hold the flock: no other holder runs, so what the files beside it say is left over.
  const stale = readOwnerFile(target.owner);
  if (stale) opts.warn(`removing a stale lock left by '${stale.command}' (pid ${stale.pid}, which no longer runs)`);
  else if (target.legacyDir && existsSync(target.legacyDir.lock)) opts.warn('removing a stale lock with no owner');
  if (target.legacyDir) rmSync(target.legacyDir.lock, { recursive: true, force: true });
  rmSync(target.owner, { force: true });
  let releaseDir: (() => Promise<void>) | undefined;
  try {
    // The owner file first (written aside, then renamed: never seen half-written), so that a
    // command refused meanwhile can name us.
    const owner: LockOwner = { pid: process.pid, command: opts.command, started: new Date().toISOString(), bootId: currentBootId() };
    writeFileSync(`${target.owner}.new`, JSON.stringify(owner) + '\n');
    renameSync(`${target.owner}.new`, target.owner);
    if (target.legacyDir) {
      releaseDir = await lockfile.lock(target.legacyDir.dir, {
        lockfilePath: target.legacyDir.lock,
        realpath: false,
        stale: 60_000,
        update: 10_000,
        retries: 0,
        onCompromised: () => undefined, // the flock is the lock; this directory is only a sign of it
      });
    }
  } catch {
    // A full disk has no room for a directory or the owner file. They only name the holder;
    // the flock alone keeps others out, and `cleanup` must still run to free space.
  }
  inheritLockFd(fd);
  return {
    release: async () => {
      inheritLockFd(undefined);
      rmSync(target.owner, { force: true });
      try {
        await releaseDir?.();
      } catch {
        /* already gone */
      }
      // Closing our descriptor releases the flock, unless a child still holds it.
      closeSync(fd);
    },
  };
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** One non-blocking attempt at the exclusive flock on `fd`, through flock(1) (fd 3 of the child). */
function tryFlock(fd: number, what: string): boolean {
  const r = tryExclusiveFlock(fd);
  if (r.status === undefined) {
    throw new AptOstreeError(`Could not run flock(1) to lock ${what}.`, { hint: 'Install util-linux (apt-get install util-linux).' });
  }
  if (r.status === 0) return true;
  if (r.status === 1) return false;
  throw new AptOstreeError(`flock(1) failed to lock ${what}: ${r.stderr.trim() || `exit ${r.status}`}.`);
}

/** Who holds the lock, for messages: the owner, or what a killed owner left running. */
function describeHolder(target: FlockLockTarget): string {
  const owner = readOwnerFile(target.owner);
  if (owner && ownerAlive(owner)) return `'${owner.command}' (pid ${owner.pid}, since ${owner.started})`;
  const others = processesWithOpen(target.flock).filter((p) => p !== process.pid);
  const running = others.length ? others.map((p) => `${processName(p)} (pid ${p})`).join(', ') : 'processes it started';
  return owner
    ? `what '${owner.command}' (pid ${owner.pid}, no longer running) started: ${running} must finish first`
    : `another apt-ostree command (${running})`;
}
