/**
 * Where the sysroot lock lives, who holds it and whether anyone does. Kept apart from lock.ts
 * so that read-only commands (status) can answer without loading proper-lockfile.
 *
 * The lock itself is an flock(2) on SYSROOT/ostree/apt-ostree.flock (see lock.ts); the kernel
 * lists every flock in /proc/locks, so "is it held" is read there without touching the lock.
 */
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { lockPaths } from '../state-paths.js';

export interface LockOwner {
  pid: number;
  command: string;
  started: string;
  /** The boot the holder ran in (/proc/sys/kernel/random/boot_id). */
  bootId?: string;
}

export function readLockOwner(sysrootPath: string): LockOwner | undefined {
  return readOwnerFile(lockPaths(sysrootPath).owner);
}

/** The owner file at `path` (of the sysroot lock or another flock lock, lock.ts), when it names a holder. */
export function readOwnerFile(path: string): LockOwner | undefined {
  let owner: Partial<LockOwner>;
  try {
    owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
  } catch {
    return undefined;
  }
  // A damaged file names nobody; a pid below 2 would make kill(pid, 0) probe a process group.
  const ok =
    Number.isInteger(owner?.pid) && owner.pid! > 1 && typeof owner.command === 'string' && typeof owner.started === 'string';
  return ok ? (owner as LockOwner) : undefined;
}

/** The id of the running boot: a pid is only meaningful within it. */
export function currentBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** True when the owner file names a process of this boot that still runs. */
export function ownerAlive(owner: LockOwner): boolean {
  if (owner.bootId && owner.bootId !== currentBootId()) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether some process holds an flock on `path`, from /proc/locks (no locking, readable by
 * anyone). Lines look like `1: FLOCK  ADVISORY  WRITE 1234 fe:00:2146643 0 EOF`, with the
 * device as hex major:minor; waiters (`1: -> FLOCK …`) hold nothing.
 */
export function flockHeld(path: string): boolean {
  let st;
  let table: string;
  try {
    st = statSync(path);
    table = readFileSync('/proc/locks', 'utf8');
  } catch {
    return false;
  }
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== 'FLOCK') continue;
    const m = /^([0-9a-f]+):([0-9a-f]+):(\d+)$/.exec(f[5] ?? '');
    if (!m || Number(m[3]) !== st.ino) continue;
    // Some file systems (overlayfs) report another device here than stat does: the inode decides then.
    if (devOf(parseInt(m[1]!, 16), parseInt(m[2]!, 16)) === st.dev || !sameDevKnown(st.dev)) return true;
  }
  return false;
}

/** Whether the sysroot lock is held by a running transaction (or by what a killed one left running). */
export function sysrootLockHeld(sysrootPath: string): boolean {
  return flockHeld(lockPaths(sysrootPath).flock);
}

/** The processes that have the lock file open: the holder and the children it started. */
export function lockHolderPids(sysrootPath: string): number[] {
  return processesWithOpen(lockPaths(sysrootPath).flock);
}

/** The processes that have the file at `path` open. */
export function processesWithOpen(path: string): number[] {
  const pids: number[] = [];
  let target: string;
  let procs: string[];
  try {
    // /proc/PID/fd links name the file by its real path (/ostree is a link on a booted system).
    target = realpathSync(path);
    procs = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  for (const p of procs) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${p}/fd/${fd}`) === target) {
          pids.push(Number(p));
          break;
        }
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return pids;
}

/** The program name of a process, for messages ("ostree (pid 123)"). */
export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'a process';
  }
}

function devOf(major: number, minor: number): number {
  // glibc's makedev for the 32-bit-safe range Node can hold exactly.
  return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12);
}

/** Device numbers of block devices match /proc/locks; anonymous ones (overlayfs, 0:N) may not. */
function sameDevKnown(dev: number): boolean {
  return dev >>> 8 !== 0;
}
