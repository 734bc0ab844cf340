/**
 * A failure of the machine rather than of apt-ostree (a full disk, a read-only file system, a
 * path that is not a sysroot), turned into an AptOstreeError sentence with a hint at the top
 * level of the CLI: it looks at the file system to say which part of the path is at fault.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AptOstreeError, ToolError } from '../errors.js';
import { isDirectory } from '../system/fs.js';

/**
 * What the user should read for a failure that reached the top level: the error itself when it
 * is already one of ours, a sentence naming the path and what to do when the machine failed (a
 * system error such as ENOSPC or EROFS from Node, or a tool that failed for the same reason), or
 * undefined for a programming error (a TypeError and the like): that one is a bug.
 */
export function explainError(err: unknown, ctx: { sysroot?: string } = {}): AptOstreeError | undefined {
  if (err instanceof AptOstreeError) return explainToolFailure(err) ?? err;
  if (!isSystemError(err)) return undefined;
  return explainSystemError(err, ctx);
}

/** A Node system error (fs, net, child_process): `code` like ENOSPC and a failed syscall. */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  if (!(err instanceof Error)) return false;
  const e = err as NodeJS.ErrnoException;
  return typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) && (typeof e.syscall === 'string' || typeof e.errno === 'number');
}

const READ_ONLY_HINT = 'Remount it read-write (mount -o remount,rw MOUNTPOINT) if it should be writable, or give another --sysroot, and run the command again.';
const DISK_FULL_HINT = 'Free space on that file system, for example with `apt-ostree cleanup` (old deployments and cached packages), and run the command again.';

/** Sentences from tools (ostree, dpkg, apt, mkfs) for the machine failures we can name. */
const TOOL_FAILURES: Array<{ re: RegExp; message: (what: string) => string; hint: string }> = [
  // ostree refuses to fill the last min-free-space-percent/-size of a file system.
  { re: /No space left on device|min-free-space-(?:percent|size) '[^']*' would be exceeded/i, message: (what) => `No space left on device while running ${what}.`, hint: DISK_FULL_HINT },
  // apt checks the free space of its archives directory before it downloads.
  { re: /You don't have enough free space in/i, message: (what) => `Not enough free space to download the packages (${what}).`, hint: DISK_FULL_HINT },
  { re: /Disk quota exceeded/i, message: (what) => `Disk quota exceeded while running ${what}.`, hint: 'Free space, or raise the quota, and run the command again.' },
  { re: /Read-only file system/i, message: (what) => `${what} could not write: the file system is read-only.`, hint: READ_ONLY_HINT },
];

/** A tool (or an error wrapping a tool's failure) that failed for lack of space and the like. */
function explainToolFailure(err: AptOstreeError): AptOstreeError | undefined {
  let tool: ToolError | undefined;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof ToolError) {
      tool = e;
      break;
    }
  }
  if (!tool) return undefined;
  const text = `${tool.message}\n${tool.stderr}\n${tool.stdout}`;
  const known = TOOL_FAILURES.find((f) => f.re.test(text));
  if (!known) return undefined;
  return new AptOstreeError(known.message(tool.what), { hint: known.hint, detail: err.detail ?? tool.detail, exitCode: err.exitCode, cause: err });
}

/** What the failed system call was doing, for the sentence: ["writing", "write to"]. */
function doing(syscall: string | undefined): [gerund: string, verb: string] {
  switch (syscall) {
    case 'open':
      return ['opening', 'open'];
    case 'write':
    case 'writev':
    case 'fsync':
    case 'fdatasync':
    case 'ftruncate':
    case 'truncate':
    case 'futime':
    case 'close':
      return ['writing', 'write to'];
    case 'read':
    case 'readlink':
      return ['reading', 'read'];
    case 'mkdir':
    case 'mkdtemp':
    case 'symlink':
    case 'link':
      return ['creating', 'create'];
    case 'rename':
      return ['renaming', 'rename'];
    case 'unlink':
    case 'rmdir':
    case 'rm':
      return ['removing', 'remove'];
    case 'copyfile':
    case 'cp':
      return ['copying', 'copy'];
    case 'scandir':
    case 'opendir':
      return ['listing', 'list'];
    case 'chmod':
    case 'fchmod':
    case 'chown':
    case 'fchown':
    case 'lchown':
    case 'utime':
    case 'lutimes':
      return ['changing', 'change'];
    default:
      return ['accessing', 'reach'];
  }
}

/** Node's description of an errno: "no such file or directory" from "ENOENT: no such file …, open '/x'". */
function errnoText(e: NodeJS.ErrnoException): string {
  const m = /^[A-Z0-9]+: (.*?)(?:, \w+(?: '.*)?)?$/s.exec(e.message);
  return m?.[1] ?? e.code ?? e.message;
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** The machine's failure as one sentence with the path, and what to do. */
function explainSystemError(e: NodeJS.ErrnoException & { dest?: string }, ctx: { sysroot?: string }): AptOstreeError {
  const code = e.code!;
  // A rename or link fails on its destination when the disk is full or read-only.
  const path = (['ENOSPC', 'EDQUOT', 'EROFS', 'EEXIST'].includes(code) && e.dest ? e.dest : e.path) ?? e.dest;
  const [verb, base] = doing(e.syscall);
  const writing = verb === 'accessing' || verb === 'opening' ? 'writing' : verb;
  const at = path ? ` ${path}` : '';
  const make = (message: string, hint: string) => new AptOstreeError(message, { hint, cause: e });
  const sysroot = ctx.sysroot ? resolve(ctx.sysroot) : undefined;
  switch (code) {
    case 'ENOSPC':
      return make(`No space left on device${path ? ` while ${writing}${at}` : ''}.`, DISK_FULL_HINT);
    case 'EDQUOT':
      return make(`Disk quota exceeded${path ? ` while ${writing}${at}` : ''}.`, 'Free space, or raise the quota, and run the command again.');
    case 'EROFS':
      return make(`${path ? `${path} is` : 'The file to write is'} on a read-only file system.`, READ_ONLY_HINT);
    case 'ENOENT':
    case 'ENOTDIR': {
      if (path && e.syscall === 'mkdir') {
        // mkdir -p reports ENOENT for the deepest directory whatever stopped it: find out what.
        const target = resolve(path);
        const existing = nearestExisting(dirname(target));
        if (existing && !isDirectory(existing, { followLinks: true })) return make(`Cannot create ${target}: ${existing} is not a directory.`, 'Check the path, and run the command again.');
        if (existing && isReadOnly(existing)) return make(`Cannot create ${target}: ${existing} is on a read-only file system.`, READ_ONLY_HINT);
      }
      if (sysroot && path && isUnder(resolve(path), sysroot) && !existsSync(join(sysroot, 'ostree', 'repo'))) {
        const why = !existsSync(sysroot) ? 'it does not exist' : !isDirectory(sysroot, { followLinks: true }) ? 'it is not a directory' : 'it has no ostree/repo';
        return make(`${sysroot} is not an OSTree sysroot (${why}).`, 'Check the --sysroot path, or create a sysroot with `apt-ostree admin provision --sysroot DIR …`.');
      }
      if (code === 'ENOTDIR') return make(`Cannot ${base}${at || ' a file'}: a part of the path is not a directory.`, 'Check the path, and run the command again.');
      return make(`${path ? `${path} does not exist` : 'A file does not exist'} (while ${verb} it).`, 'Check the path; if something removed it while apt-ostree ran, run the command again.');
    }
    case 'EISDIR':
      return make(`${path ? `${path} is` : 'The path is'} a directory, where a file was expected.`, 'Give the path of a file, or move the directory out of the way.');
    case 'EACCES':
    case 'EPERM': {
      const root = typeof process.geteuid === 'function' && process.geteuid() === 0;
      return make(`Permission denied while ${verb}${at || ' a file'}.`, root
        ? 'Check its permissions and attributes (lsattr: ostree makes deployment directories immutable), and run the command again.'
        : 'Run the command with sudo, or as a user who may access it.');
    }
    case 'EMFILE':
    case 'ENFILE':
      return make(`Too many open files${path ? ` while ${verb}${at}` : ''}.`, 'Raise the limit of open files (ulimit -n, or LimitNOFILE= for a service) and run the command again.');
    case 'ENOMEM':
      return make('Out of memory.', 'Free memory (or add swap) and run the command again.');
    case 'EIO':
      return make(`Input/output error while ${verb}${at || ' a file'}.`, 'The disk or its file system may be damaged: check `dmesg` and the file system.');
    case 'EBUSY':
      return make(`${path ?? 'A file'} is busy.`, 'Something else is using it (a mount, a process); stop that and run the command again.');
    case 'ENAMETOOLONG':
      return make(`The path${at} is too long.`, 'Use a shorter path.');
    case 'ELOOP':
      return make(`Too many levels of symbolic links in${at || ' a path'}.`, 'Check the symbolic links along the path.');
    default:
      return make(`Cannot ${base}${at || ' a file'}: ${errnoText(e)} (${code}).`, 'Run the command again with -v for details.');
  }
}

/** The path itself or its nearest ancestor that exists. */
function nearestExisting(path: string): string | undefined {
  for (let p = path; ; p = dirname(p)) {
    if (existsSync(p)) return p;
    if (dirname(p) === p) return undefined;
  }
}

function isReadOnly(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EROFS';
  }
}
