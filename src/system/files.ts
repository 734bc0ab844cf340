/**
 * coreutils (cp, rm, du, truncate) and chattr over files and whole trees: what fs.* does too,
 * but faster on trees of thousands of files, or keeping what fs.cpSync drops (xattrs, hardlinks).
 */
import { run, runSync, type RunOptions } from './run.js';

type StepOptions = Pick<RunOptions, 'signal' | 'what' | 'hint'>;

/**
 * `cp -a --parents --no-dereference -t DEST -- PATH…` in SOURCE: each relative path copied with
 * its modes, owners, times and xattrs, its directories recreated under DEST.
 */
export async function copyPathsWithParents(source: string, paths: readonly string[], dest: string, opts: StepOptions = {}): Promise<void> {
  await run('cp', ['-a', '--parents', '--no-dereference', '-t', dest, '--', ...paths], { cwd: source, ...opts });
}

/** `cp -a --no-target-directory -- FROM TO`: FROM (a file or a whole tree) copied as TO, keeping everything. */
export async function copyPreserving(from: string, to: string, opts: StepOptions = {}): Promise<void> {
  await run('cp', ['-a', '--no-target-directory', '--', from, to], opts);
}

/** `cp -al -- FROM TO`: a copy of the tree whose files are hardlinks to FROM's (same file system). */
export async function hardlinkTree(from: string, to: string, opts: StepOptions = {}): Promise<void> {
  await run('cp', ['-al', '--', from, to], opts);
}

/** `cp -a --reflink=auto -- FROM TO`: a full copy of the tree, sharing extents where the file system can. */
export async function copyTreeReflink(from: string, to: string, opts: StepOptions = {}): Promise<void> {
  await run('cp', ['-a', '--reflink=auto', '--', from, to], opts);
}

/** `rm -rf -- DIR`, never following symlinks; throws when rm fails. */
export async function removeTreeWithRm(dir: string, opts: StepOptions = {}): Promise<void> {
  await run('rm', ['-rf', '--', dir], opts);
}

/** `rm -rf -- DIR`, blocking: did rm remove it (false also when rm could not be started)? */
export function removeTreeWithRmSync(dir: string): boolean {
  return runSync('rm', ['-rf', '--', dir]).status === 0;
}

/** `chattr -i PATH`, best effort: lets PATH (an ostree deployment, made immutable) be removed. */
export function removeImmutableFlag(path: string): void {
  runSync('chattr', ['-i', path]);
}

/** `du -s -B1 -x -- PATH`: the bytes the tree takes on its file system (NaN when du prints no number). */
export async function diskUsageBytes(path: string, opts: StepOptions = {}): Promise<number> {
  const { stdout } = await run('du', ['-s', '-B1', '-x', '--', path], opts);
  return Number(stdout.split(/\s/)[0]);
}

/** `truncate -s SIZE -- PATH`: a sparse file of SIZE bytes. */
export async function createSparseFile(path: string, sizeBytes: number, opts: StepOptions = {}): Promise<void> {
  await run('truncate', ['-s', String(sizeBytes), '--', path], opts);
}
