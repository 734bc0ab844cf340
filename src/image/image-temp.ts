/**
 * The temporaries of `admin image` (and `admin provision --image`): one hidden directory beside
 * the output per run, `.OUTPUT.apt-ostree-image-XXXXXX`, holding the disk being written, GRUB's
 * images and an flock on its `lock` file for as long as the run lives. A run killed with SIGKILL
 * cannot remove its directory (hundreds of MB): the next run in that directory removes every one
 * whose lock nobody holds, and never one whose run still goes on, whatever its output.
 */
import { closeSync, lstatSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AptOstreeError } from '../errors.js';
import { tryExclusiveFlock } from '../system/flock.js';

const TEMP_NAME = /^\..+\.apt-ostree-image-[A-Za-z0-9]{6}$/;
/** A directory without its lock file is one whose run was killed before it took the lock, or one just made. */
const UNLOCKED_GRACE_MS = 60_000;

export interface ImageTemp {
  /** The run's directory, beside the output (the disk is renamed from it onto the output). */
  dir: string;
  /** Remove the directory and release its lock. */
  remove(): void;
}

/** Make this run's directory beside OUTPUT and lock it. */
export function makeImageTemp(output: string): ImageTemp {
  const dir = mkdtempSync(join(dirname(output), `.${basename(output)}.apt-ostree-image-`));
  // Locked under another name, then renamed: a run looking for stale directories meanwhile
  // never finds this lock file unlocked.
  const fd = openSync(join(dir, 'lock.new'), 'a', 0o600);
  if (tryExclusiveFlock(fd).status !== 0) {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
    throw new AptOstreeError(`Could not lock ${dir}, the temporary directory of the image.`, { hint: 'Install util-linux (apt-get install util-linux), which has flock(1).' });
  }
  renameSync(join(dir, 'lock.new'), join(dir, 'lock'));
  return {
    dir,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
      closeSync(fd);
    },
  };
}

/**
 * Remove the directories of earlier runs in OUTPUT's directory whose lock nobody holds (their
 * run was killed), and say so. Returns the names removed.
 */
export function removeStaleImageTemps(output: string, warn: (text: string) => void): string[] {
  const parent = dirname(output);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of names.filter((n) => TEMP_NAME.test(n))) {
    const dir = join(parent, name);
    if (!isStale(dir)) continue;
    warn(`removing ${dir}, the temporary files of an admin image that was killed`);
    rmSync(dir, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function isStale(dir: string): boolean {
  let fd: number;
  try {
    if (!lstatSync(dir).isDirectory()) return false;
    fd = openSync(join(dir, 'lock'), 'r');
  } catch {
    try {
      return Date.now() - lstatSync(dir).mtimeMs > UNLOCKED_GRACE_MS;
    } catch {
      return false;
    }
  }
  try {
    // Ours for a moment when nobody holds it: its run is gone (closing fd releases it again).
    return tryExclusiveFlock(fd).status === 0;
  } finally {
    closeSync(fd);
  }
}
