/**
 * Errors the user sees. Every failure that reaches the top level is an AptOstreeError (or is
 * wrapped into one): one sentence saying what went wrong, and a hint saying what to do next.
 * A failure of the machine rather than of apt-ostree (a full disk, a read-only file system, a
 * path that is not a sysroot) is turned into such a sentence by explainError at the top level.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_UNCHANGED = 77;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

export class AptOstreeError extends Error {
  readonly hint?: string;
  readonly exitCode: number;
  /** Extra detail (a tool's stderr, a script's output) shown after the message. */
  readonly detail?: string;

  constructor(message: string, opts: { hint?: string; exitCode?: number; detail?: string; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'AptOstreeError';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? EXIT_ERROR;
    this.detail = opts.detail;
  }
}

/** Bad arguments, manifests or config: found before any work is done. */
export class InputError extends AptOstreeError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
    this.name = 'InputError';
  }
}

/** An external tool (ostree, apt-get, dpkg, bwrap, mmdebstrap) failed. */
export class ToolError extends AptOstreeError {
  readonly tool: string;
  readonly args: readonly string[];
  readonly exitStatus?: number;
  readonly stderr: string;
  readonly stdout: string;
  /** What was being done, e.g. "ostree admin deploy" (the start of the message). */
  readonly what: string;

  constructor(tool: string, args: readonly string[], opts: { exitStatus?: number; stderr: string; stdout?: string; hint?: string; what?: string }) {
    const lastLine = lastMeaningfulLine(opts.stderr) ?? lastMeaningfulLine(opts.stdout ?? '');
    const what = opts.what ?? `${tool} ${args.slice(0, 2).join(' ')}`.trim();
    const status = opts.exitStatus === undefined ? 'could not run' : `failed (exit ${opts.exitStatus})`;
    super(`${what} ${status}${lastLine ? `: ${lastLine}` : ''}`, {
      hint: opts.hint,
      detail: opts.stderr.trim() || opts.stdout?.trim() || undefined,
    });
    this.name = 'ToolError';
    this.tool = tool;
    this.args = args;
    this.exitStatus = opts.exitStatus;
    this.stderr = opts.stderr;
    this.stdout = opts.stdout ?? '';
    this.what = what;
  }
}

/** The transaction was stopped by SIGINT/SIGTERM or a DBus Cancel; everything was undone. */
export class CancelledError extends AptOstreeError {
  constructor(reason = 'cancelled', exitCode = EXIT_SIGINT) {
    super(`Transaction ${reason}; the system was left as it was.`, { exitCode });
    this.name = 'CancelledError';
  }
}

/** "Nothing changed": exits 0, or 77 when the command was given --unchanged-exit-77. */
export class UnchangedError extends AptOstreeError {
  constructor(message: string, unchangedExit77: boolean) {
    super(message, { exitCode: unchangedExit77 ? EXIT_UNCHANGED : EXIT_OK });
    this.name = 'UnchangedError';
  }
}

function lastMeaningfulLine(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.at(-1);
}

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
        if (existing && !isDirectory(existing)) return make(`Cannot create ${target}: ${existing} is not a directory.`, 'Check the path, and run the command again.');
        if (existing && isReadOnly(existing)) return make(`Cannot create ${target}: ${existing} is on a read-only file system.`, READ_ONLY_HINT);
      }
      if (sysroot && path && isUnder(resolve(path), sysroot) && !existsSync(join(sysroot, 'ostree', 'repo'))) {
        const why = !existsSync(sysroot) ? 'it does not exist' : !isDirectory(sysroot) ? 'it is not a directory' : 'it has no ostree/repo';
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

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The longest run of non-space characters shown as it is; longer ones are cut (user input, file contents). */
export const MAX_WORD = 200;
/** The longest message or hint shown. */
export const MAX_TEXT = 1000;

/**
 * Text safe and readable on a terminal, for messages that may echo user input or the bytes of a
 * file: control characters (ESC, BEL, NUL, bidi overrides …) are shown escaped as \xNN or \u{…},
 * unpaired surrogates (what invalid UTF-8 leaves) as U+FFFD; then a quoted '…' span or a word
 * longer than MAX_WORD characters, and the whole text beyond MAX_TEXT, are cut with an ellipsis.
 * Newlines and tabs stay when `multiline`.
 */
export function printable(text: string, opts: { multiline?: boolean; maxWord?: number; maxText?: number } = {}): string {
  const maxWord = opts.maxWord ?? MAX_WORD;
  const maxText = opts.maxText ?? MAX_TEXT;
  const escaped = text
    // A lone surrogate (what invalid UTF-8 can leave) is no character: the replacement character.
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu, (c) => {
      if (opts.multiline && (c === '\n' || c === '\t')) return c;
      const n = c.codePointAt(0)!;
      return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
    });
  // User input is quoted in messages ('…'): a long one is cut inside its quotes; any other long word as it is.
  const words = escaped.replace(/'([^'\n]*)'|\S+/gu, (w, quoted: string | undefined) => (quoted !== undefined ? `'${cutChars(quoted, maxWord)}'` : cutChars(w, maxWord)));
  return cutChars(words, maxText);
}

function cutChars(s: string, max: number): string {
  const chars = [...s];
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : s;
}

/**
 * A tool's output as it can be shown on a terminal: escape sequences (colours, cursor
 * movement) and other control characters removed, carriage returns of progress lines turned into
 * line ends; everything else as the tool wrote it.
 */
export function withoutControls(text: string): string {
  return text
    // CSI … final byte; OSC … BEL or ST; other two-byte escapes.
    .replace(/\u001B\[[0-?]*[ -/]*[@-~]|\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)?|\u001B[@-Z\\-_]|\u009B[0-?]*[ -/]*[@-~]/gu, '')
    .replace(/\r\n/g, '\n')
    .replace(/\r/g, '\n')
    .replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/gu, '');
}
