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
  let owner: Partial<LockOwner>;
  try {
    owner = JSON.parse(readFileSync(lockPaths(sysroot).owner, 'utf8')) as Partial<LockOwner>;
  } catch {
    return undefined;
  }
  // A damaged file names nobody; a pid below 2 would make kill(pid, 0) probe a process group.
  const ok =
    Number.isInteger(owner?.pid) && owner.pid! > 1 && typeof owner.command === 'string' && typeof owner.started === 'string';
  return ok ? (owner as LockOwner) : undefined;
}

