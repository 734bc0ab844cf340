/**
 * Where the sysroot lock lives and who holds it. Kept apart from lock.ts so that read-only
 * commands (status) can name the holder without loading proper-lockfile.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LockOwner {
  pid: number;
  command: string;
  started: string;
}

export function lockPaths(sysroot: string): { dir: string; lock: string; owner: string } {
  const dir = join(sysroot, 'ostree');
  return { dir, lock: join(dir, 'apt-ostree.lock'), owner: join(dir, 'apt-ostree.lock.owner') };
}

export function readLockOwner(sysroot: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(lockPaths(sysroot).owner, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

