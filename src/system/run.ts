/**
 * The one place that starts external programs. Arguments are always an array handed to
 * execve (child_process.spawn, no shell): no user string is ever parsed by a shell.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { CancelledError, ToolError } from '../errors.js';
import { MARKER_VARIABLE, newProcessTreeMarker, signalMarkedProcesses } from './process-tree.js';

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Replace the environment instead of extending process.env. */
  cleanEnv?: boolean;
  input?: string;
  signal?: AbortSignal;
  /** What the step was, for the error message ("ostree commit of the new tree"). */
  what?: string;
  hint?: string;
  /** Called with each line of output while the program runs (progress parsing). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Inherit stdio (for interactive programs such as $EDITOR). */
  interactive?: boolean;
  /** Run in its own process group, so a terminal's Ctrl-C does not reach it (commit steps). */
  detached?: boolean;
  /** Exit codes that are not failures. */
  okCodes?: number[];
  /** Called with the program's pid once it started (a watchdog reads /proc/PID). */
  onSpawn?: (pid: number) => void;
  /**
   * Leave out the sysroot lock's descriptor (see inheritLockFd). For the sandbox: bwrap dies
   * with us (--die-with-parent) and the sandboxed programs have no business holding a host file.
   */
  withoutLock?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Output kept per stream; a program printing more is stopped (a runaway, not a result). */
const MAX_BUFFER = 256 * 1024 * 1024;
/** After SIGTERM (cancel), a child gets this long before SIGKILL. */
const FORCE_KILL_AFTER_MS = 5000;

/**
 * node:child_process, loaded when the first program starts: a command that starts none (status)
 * is spared its ~10 ms of start-up (bench/status.mjs). It is used directly: a process manager
 * library (execa) cost 100 to 250 ms of module loading on every command, more than most of the
 * programs we start take to run.
 */
const childProcess = () => process.getBuiltinModule('node:child_process');

export async function run(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (opts.signal?.aborted) throw new CancelledError();
  const interactive = Boolean(opts.interactive);
  const stdio: StdioOptions = [
    opts.input !== undefined ? 'pipe' : interactive ? 'inherit' : 'ignore',
    interactive ? 'inherit' : 'pipe',
    interactive ? 'inherit' : 'pipe',
    ...(lockFd !== undefined && !opts.withoutLock ? [lockFd] : []),
  ];
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException; stdout: string; stderr: string; canceled: boolean }>((resolve) => {
    let child: ChildProcess;
    try {
      child = childProcess().spawn(tool, [...args], {
        cwd: opts.cwd,
        // Keys set to undefined are left out by spawn: { FOO: undefined } unsets FOO.
        env: opts.cleanEnv ? { ...opts.env } : { ...process.env, ...opts.env },
        stdio,
        detached: opts.detached,
      });
    } catch (e) {
      resolve({ code: null, signal: null, error: e as NodeJS.ErrnoException, stdout: '', stderr: '', canceled: false });
      return;
    }
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const out = collect(child.stdout, opts.onLine && ((l) => opts.onLine!(l, 'stdout')), () => stop('SIGTERM'));
    const err = collect(child.stderr, opts.onLine && ((l) => opts.onLine!(l, 'stderr')), () => stop('SIGTERM'));
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // a program that does not read its input
      child.stdin.end(opts.input);
    }
    let canceled = false;
    let killTimer: NodeJS.Timeout | undefined;
    function stop(sig: NodeJS.Signals): void {
      child.kill(sig);
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
      killTimer.unref();
    }
    const onAbort = () => {
      canceled = true;
      stop('SIGTERM');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // Children die with us (as execa's cleanup did), except detached commit steps.
    if (!opts.detached) liveChildren.set(child, () => stop('SIGTERM'));
    ensureExitHook();
    let spawnError: NodeJS.ErrnoException | undefined;
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      liveChildren.delete(child);
      resolve({ code, signal, error: spawnError, stdout: out.text(), stderr: err.text(), canceled });
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError ??= e;
      // A failed spawn (ENOENT, EACCES) has no pid and never emits 'close'.
      if (child.pid === undefined) finish(null, null);
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
  const { stdout, stderr } = outcome;
  if (outcome.canceled || opts.signal?.aborted) throw new CancelledError();
  const code = outcome.code ?? undefined;
  if (code === undefined || (code !== 0 && !(opts.okCodes ?? []).includes(code))) {
    const notFound = outcome.error?.code === 'ENOENT';
    throw new ToolError(tool, args, {
      exitStatus: code,
      stderr: notFound
        ? `${tool} is not installed`
        : stderr || (outcome.signal ? `killed by ${outcome.signal}` : outcome.error ? outcome.error.message : ''),
      stdout,
      what: opts.what,
      hint: notFound ? `Install it with: apt-get install ${packageFor(tool)}` : opts.hint,
    });
  }
  return { stdout, stderr, exitCode: code };
}

/**
 * The descriptor of the sysroot lock (an flock held by its open file description) while a
 * transaction holds it. Every program started meanwhile inherits it as fd 3, so the lock stays
 * held for as long as any of them runs: a detached `ostree admin deploy` that outlives a
 * SIGKILLed apt-ostree still keeps the next command out until it is done.
 */
let lockFd: number | undefined;

export function inheritLockFd(fd: number | undefined): void {
  lockFd = fd;
}

/**
 * A short program run to its end, blocking (rm, umount, flock): its exit status, or undefined
 * when it could not be started. `fds` are handed to it as fd 3, 4, … (flock locks fd 3).
 */
export function runSync(tool: string, args: readonly string[], opts: { fds?: number[]; withoutLock?: boolean } = {}): { status?: number; stderr: string } {
  const extra = opts.fds ?? (lockFd !== undefined && !opts.withoutLock ? [lockFd] : []);
  const r = childProcess().spawnSync(tool, [...args], { stdio: ['ignore', 'ignore', 'pipe', ...extra] });
  return { status: r.error || r.status === null ? undefined : r.status, stderr: r.stderr?.toString() ?? '' };
}

/** The programs running now (not the detached commit steps), each with how to stop it. */
const liveChildren = new Map<ChildProcess, () => void>();
let exitHooked = false;

/**
 * Stop every program running now (SIGTERM, SIGKILL after the grace time), also those started
 * without an AbortSignal: a transaction told to stop must not wait for a step that never ends
 * (a key file that is a FIFO, a server that holds a request). Their runs fail; programs started
 * afterwards (the undo steps) run as usual. Detached commit steps are left to finish.
 */
export function stopRunningPrograms(): void {
  for (const stop of liveChildren.values()) stop();
}

function ensureExitHook(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const c of liveChildren.keys()) c.kill('SIGTERM');
    for (const g of liveGroups) g('SIGTERM');
  });
}

/** Gather a child's output stream (and hand out its lines); `tooMuch` stops a runaway. */
function collect(stream: NodeJS.ReadableStream | null | undefined, onLine: ((line: string) => void) | undefined, tooMuch: () => void): { text(): string } {
  const chunks: Buffer[] = [];
  let size = 0;
  if (stream) {
    if (onLine) attachLineReader(stream, onLine);
    stream.on('data', (chunk: Buffer) => {
      if (size > MAX_BUFFER) return;
      size += chunk.length;
      if (size > MAX_BUFFER) tooMuch();
      else chunks.push(chunk);
    });
  }
  return { text: () => Buffer.concat(chunks).toString('utf8') };
}

function attachLineReader(stream: NodeJS.ReadableStream | null | undefined, cb: (line: string) => void): void {
  if (!stream) return;
  let buf = '';
  stream.on('data', (chunk: Buffer | string) => {
    buf += chunk.toString();
    let i: number;
    // ostree and apt redraw progress lines with \r; treat it as a line end too.
    while ((i = buf.search(/[\r\n]/)) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) cb(line);
    }
  });
  stream.on('end', () => {
    if (buf.trim()) cb(buf);
  });
}

const PACKAGE_OF_TOOL: Record<string, string> = {
  ostree: 'ostree',
  bwrap: 'bubblewrap',
  mmdebstrap: 'mmdebstrap',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'apt-config': 'apt',
  dpkg: 'dpkg',
  'dpkg-deb': 'dpkg',
  'dpkg-query': 'dpkg',
  'mkfs.ext4': 'e2fsprogs',
  gpg: 'gpg',
};

function packageFor(tool: string): string {
  return PACKAGE_OF_TOOL[tool.split('/').pop() ?? tool] ?? tool;
}

export interface DeadlineResult {
  /** Exit status; undefined when killed by a signal or not started. */
  exitCode?: number;
  signal?: NodeJS.Signals;
  /** It ran past its deadline and was stopped (SIGTERM to its process group, SIGKILL after the grace time). */
  timedOut: boolean;
  /** Why it could not be started (ENOENT, EACCES), if so. */
  startError?: string;
  /** stdout and stderr together, in the order they arrived; at most `maxOutput` bytes, the end kept. */
  output: string;
  truncated: boolean;
  milliseconds: number;
}

/**
 * Run a program that may misbehave (an admin's health check) to its end or to a deadline, never
 * throwing for its failure: its own process group and a marker in its environment, so that what
 * it started is stopped with it, also what left the group (process-tree.ts); no stdin; its output kept whatever happens (the end of it, which says why it failed).
 */
export async function runWithDeadline(
  tool: string,
  args: readonly string[],
  opts: { timeoutMs: number; env?: Record<string, string | undefined>; cwd?: string; maxOutput?: number; graceMs?: number },
): Promise<DeadlineResult> {
  const max = opts.maxOutput ?? 32 * 1024;
  const started = Date.now();
  const marker = newProcessTreeMarker();
  let chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  const keep = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > 2 * max) {
      const all = Buffer.concat(chunks);
      chunks = [all.subarray(all.length - max)];
      size = max;
      truncated = true;
    }
  };
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = childProcess().spawn(tool, [...args], {
        cwd: opts.cwd ?? '/', env: { ...process.env, ...opts.env, [MARKER_VARIABLE]: marker }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
      });
    } catch (e) {
      resolve({ timedOut: false, startError: (e as Error).message, output: '', truncated: false, milliseconds: 0 });
      return;
    }
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let timedOut = false;
    // Its process group, and what left the group but carries its marker (process-tree.ts).
    const group = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        /* the group is gone */
      }
      signalMarkedProcesses(marker, sig);
    };
    liveGroups.add(group);
    ensureExitHook();
    const deadline = setTimeout(() => {
      timedOut = true;
      group('SIGTERM');
      setTimeout(() => group('SIGKILL'), opts.graceMs ?? FORCE_KILL_AFTER_MS).unref();
    }, opts.timeoutMs);
    let startError: string | undefined;
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      liveGroups.delete(group);
      // Whatever it left running goes with it, and its pipes are closed on our side: a
      // descendant that still held them would keep this process (and the boot unit) alive.
      group('SIGKILL');
      child.stdout?.destroy();
      child.stderr?.destroy();
      let all = Buffer.concat(chunks);
      if (all.length > max) {
        all = all.subarray(all.length - max);
        truncated = true;
      }
      resolve({
        exitCode: code ?? undefined, signal: signal ?? undefined, timedOut, startError,
        output: all.toString('utf8'), truncated, milliseconds: Date.now() - started,
      });
    };
    child.on('error', (e) => {
      startError ??= e.message;
      if (child.pid === undefined) finish(null, null);
    });
    // 'exit', not 'close': a descendant that escaped the group may hold the pipes open.
    child.on('exit', (code, signal) => setTimeout(() => finish(code, signal), 50));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

const liveGroups = new Set<(sig: NodeJS.Signals) => void>();
