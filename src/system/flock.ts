/** flock(1), for the sysroot lock (engine/transaction/lock.ts): it locks a descriptor we hand it. */
import { runSync } from './run.js';

/**
 * One non-blocking attempt at an exclusive flock on FD (`flock --exclusive --nonblock 3`, FD
 * handed to it as its fd 3): exit status 0 locked, 1 held elsewhere; undefined when flock
 * could not be started.
 */
export function tryExclusiveFlock(fd: number): { status?: number; stderr: string } {
  return runSync('flock', ['--exclusive', '--nonblock', '3'], { fds: [fd] });
}
