/** File-system helpers shared by the engine and compose. */
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';

/** The names directly in `dir`; none when it does not exist or cannot be read. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** What is at `path` itself (a symlink is not followed); undefined when nothing is there or it cannot be read. */
export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** True for a directory; a symlink to one counts only with `followLinks`. */
export function isDirectory(path: string, opts: { followLinks?: boolean } = {}): boolean {
  try {
    return (opts.followLinks ? statSync(path) : lstatSync(path)).isDirectory();
  } catch {
    return false;
  }
}

/** True for a symlink, whatever it points to (a dangling one too). */
export function isSymlink(path: string): boolean {
  return lstatOrUndefined(path)?.isSymbolicLink() ?? false;
}
