/**
 * The sysroot lock: one apt-ostree transaction at a time per sysroot.
 *
 * proper-lockfile makes SYSROOT/ostree/apt-ostree.lock (an atomic mkdir, its mtime kept fresh
 * while we run); beside it an owner file names the holder's pid and command so that a second
 * command can say who holds it. A lock whose holder pid no longer exists (kill -9, power loss)
 * is stale: it is taken over with a warning.
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { AptOstreeError } from '../errors.js';
import { lockPaths, readLockOwner, type LockOwner } from './lock-owner.js';

export { lockPaths, readLockOwner, type LockOwner };

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

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireSysrootLock(sysroot: string, opts: LockOptions): Promise<SysrootLock> {
  const paths = lockPaths(sysroot);
  mkdirSync(paths.dir, { recursive: true });
  const deadline = opts.waitSeconds === undefined ? 0 : Date.now() + opts.waitSeconds * 1000;
  let announcedWait = false;
  for (;;) {
    try {
      const release = await lockfile.lock(paths.dir, {
        lockfilePath: paths.lock,
        realpath: false,
        stale: 60_000,
        update: 10_000,
        retries: 0,
        onCompromised: (err) => opts.warn(`the sysroot lock was taken away while running: ${err.message}`),
      });
      const owner: LockOwner = { pid: process.pid, command: opts.command, started: new Date().toISOString() };
      writeFileSync(paths.owner, JSON.stringify(owner) + '\n');
      return {
        release: async () => {
          rmSync(paths.owner, { force: true });
          try {
            await release();
          } catch {
            /* already released or compromised */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      const owner = readLockOwner(sysroot);
      if (owner && !pidAlive(owner.pid)) {
        opts.warn(`removing a stale lock left by '${owner.command}' (pid ${owner.pid}, which no longer runs)`);
        rmSync(paths.lock, { recursive: true, force: true });
        rmSync(paths.owner, { force: true });
        continue;
      }
      if (!owner && lockOlderThan(paths.lock, 5_000)) {
        // A lock directory without an owner file that nobody refreshes: its holder died
        // between mkdir and writing the owner file.
        opts.warn('removing a stale lock with no owner');
        rmSync(paths.lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() >= deadline || opts.signal?.aborted) {
        const who = owner ? `'${owner.command}' (pid ${owner.pid}, since ${owner.started})` : 'another apt-ostree command';
        throw new AptOstreeError(`The sysroot ${sysroot} is locked by ${who}.`, {
          hint: 'Wait for it to finish, or run again with --lock-wait to wait for it.',
        });
      }
      if (!announcedWait) {
        opts.warn(`waiting for ${owner ? `'${owner.command}' (pid ${owner.pid})` : 'another apt-ostree command'} to release the sysroot lock`);
        announcedWait = true;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function lockOlderThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}
