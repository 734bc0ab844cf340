/**
 * Stage, then switch: how apply-live changes a live directory tree (the /usr overlay, /etc)
 * so that a failure midway leaves it as it was.
 *
 *   1. stage: every new or replacing file is copied from the source tree (the pending
 *      deployment's checkout) into a staging directory inside the target tree, on the same
 *      file system. A full disk or an unreadable file fails here, before the target changed.
 *   2. switch: each staged entry is renamed into place (a directory in one rename); a replaced
 *      file is first hardlinked aside (the backup), then renamed over, so its path is never
 *      missing; a removed entry is renamed aside. An entry added where the target already has
 *      something (a clash) stops the switch. Any failure undoes the renames done so far,
 *      newest first; a successful switch returns the same undo for the caller's transaction.
 *
 * Paths are relative to the tree roots, without a leading slash ('bin/tool').
 */
import { chmodSync, existsSync, lchownSync, linkSync, lstatSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AptOstreeError } from '../../errors.js';
import { copyPathsWithParents, copyPreserving } from '../../system/files.js';

export interface TreeChange {
  /** Entries that are new: the topmost of an added directory only (it moves in one piece). */
  add: string[];
  /** Files (not directories) whose content or metadata changes. */
  replace: string[];
  /** Entries that go, files or whole directories. */
  remove: string[];
  /** Directories whose mode or owner changes. */
  dirMeta: string[];
}

export const STAGING_NAME = '.apt-ostree-live';

/** Paths handed to one cp: far below the kernel's argument limit. */
const CP_BATCH = 500;

/**
 * Copy what `change` adds or replaces from `source` into `staging` (created, must not exist),
 * keeping modes, owners, times, xattrs and the relative layout.
 */
export async function stageTree(source: string, staging: string, change: TreeChange, signal?: AbortSignal): Promise<void> {
  mkdirSync(staging, { mode: 0o700 });
  const paths = [...change.add, ...change.replace];
  for (let i = 0; i < paths.length; i += CP_BATCH) {
    // --parents recreates each path's directories under the staging directory.
    await copyPathsWithParents(source, paths.slice(i, i + CP_BATCH), staging, {
      signal,
      what: `copying the new files into ${staging}`,
      hint: 'Is the transient overlay on /usr full (`df /usr` shows it)? No file of the running /usr was changed, but /usr stays a writable transient overlay until the next boot.',
    });
  }
}

export interface SwitchedTree {
  /** Put back what the switch changed (renames undone, newest first). */
  undo: () => Promise<void>;
}

type Step = () => Promise<void> | void;

/** Rename the staged entries into `target`; see the file comment. `source` gives directory modes and owners. */
export async function switchTree(target: string, source: string, staging: string, change: TreeChange): Promise<SwitchedTree> {
  const undo: Step[] = [];
  const backup = join(staging, '.backup');
  const aside = (rel: string) => {
    const to = join(backup, rel);
    mkdirSync(dirname(to), { recursive: true });
    return to;
  };
  try {
    for (const rel of change.add) {
      const to = join(target, rel);
      if (exists(to)) {
        throw new AptOstreeError(`${to} already exists on the running system but not in the deployment it runs (changed by hand, or with usroverlay); apply-live does not overwrite it.`, {
          hint: 'Move it away, or reboot into the new deployment instead.',
        });
      }
      renameSync(join(staging, rel), to);
      undo.push(() => renameSync(to, join(staging, rel)));
    }
    for (const rel of change.replace) {
      const to = join(target, rel);
      const saved = aside(rel);
      if (exists(to)) {
        linkSync(to, saved);
        renameSync(join(staging, rel), to);
        undo.push(() => renameSync(saved, to));
      } else {
        renameSync(join(staging, rel), to);
        undo.push(() => rmSync(to, { force: true }));
      }
    }
    for (const rel of change.dirMeta) {
      const to = join(target, rel);
      const was = lstatSync(to);
      const want = lstatSync(join(source, rel));
      lchownSync(to, want.uid, want.gid);
      chmodSync(to, want.mode & 0o7777);
      undo.push(() => {
        lchownSync(to, was.uid, was.gid);
        chmodSync(to, was.mode & 0o7777);
      });
    }
    for (const rel of change.remove) {
      const from = join(target, rel);
      if (!exists(from)) continue;
      const saved = aside(rel);
      try {
        renameSync(from, saved);
      } catch (e) {
        // overlayfs without redirect_dir refuses to rename a directory of the lower layer:
        // copy it aside, then remove it.
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
        await copyPreserving(from, saved, { what: `saving ${from} before removing it` });
        rmSync(from, { recursive: true });
        undo.push(() => copyPreserving(saved, from, { what: `restoring ${from}` }));
        continue;
      }
      undo.push(() => renameSync(saved, from));
    }
  } catch (e) {
    await undoSteps(undo);
    throw e;
  }
  return { undo: () => undoSteps(undo) };
}

async function undoSteps(steps: Step[]): Promise<void> {
  while (steps.length) await steps.pop()!();
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Remove a staging directory (what is left in it: the backups of a switch that stays). */
export function removeStaging(staging: string): void {
  if (existsSync(staging)) rmSync(staging, { recursive: true, force: true });
}
