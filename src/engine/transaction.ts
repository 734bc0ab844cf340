/**
 * The one place that decides "atomic". A transaction:
 *   1. refuses to start unless root;
 *   2. takes the sysroot lock;
 *   3. cleans up work left by a killed run;
 *   4. runs the body with an AbortSignal that SIGINT/SIGTERM (or a DBus Cancel) fires;
 *   5. on any failure or signal, runs the registered undo steps, newest first;
 *   6. releases the lock on every path.
 * The body registers an undo step right after each change it makes to the sysroot, and the
 * last change it makes (the deploy) is the one that commits the transaction.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AptOstreeError, CancelledError, EXIT_SIGINT, EXIT_SIGTERM } from '../errors.js';
import type { Reporter } from '../output/reporter.js';
import { acquireSysrootLock } from './lock.js';

export interface TransactionOptions {
  sysroot: string;
  /** The command line as the user typed it, for the lock owner file and messages. */
  command: string;
  title: string;
  reporter: Reporter;
  lockWaitSeconds?: number;
}

type UndoStep = { what: string; fn: () => Promise<void> | void };

/** Hooks for --dbus-compat: it sees transactions start and end, and can cancel them. */
export const transactionHooks: {
  onStart?: (tx: Transaction) => void;
  onEnd?: (tx: Transaction, error?: unknown) => void;
} = {};

export class Transaction {
  readonly sysroot: string;
  readonly title: string;
  readonly reporter: Reporter;
  private readonly controller = new AbortController();
  private undoSteps: UndoStep[] = [];
  /** Run at the end whatever happens (work directories), after the undo steps. */
  private cleanupSteps: UndoStep[] = [];
  private cancelExit = EXIT_SIGINT;
  /** Set once the change is being made for real (the deploy): signals no longer undo. */
  private committing = false;
  private readonly workRoot: string;
  /** Work directories handed out, and those being removed in the background (discardWorkDir). */
  private readonly workDirs = new Set<string>();
  private readonly removals = new Map<string, Promise<void>>();

  private constructor(opts: TransactionOptions) {
    this.sysroot = opts.sysroot;
    this.title = opts.title;
    this.reporter = opts.reporter;
    this.workRoot = workRootOf(opts.sysroot);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Cancel the running transaction (signal handler, DBus Cancel); it unwinds cleanly. */
  cancel(exitCode = EXIT_SIGINT): void {
    this.cancelExit = exitCode;
    this.controller.abort();
  }

  /**
   * From here on the transaction completes: the final step (ostree admin deploy) swaps the
   * boot configuration atomically, and stopping it halfway would help nobody.
   */
  enterCommitPhase(): void {
    this.throwIfCancelled();
    this.committing = true;
  }

  get isCommitting(): boolean {
    return this.committing;
  }

  throwIfCancelled(): void {
    if (this.signal.aborted) throw new CancelledError(this.cancelExit === EXIT_SIGTERM ? 'terminated' : 'cancelled', this.cancelExit);
  }

  /** Register how to undo a change just made. Steps run newest first on failure. */
  onUndo(what: string, fn: () => Promise<void> | void): void {
    this.undoSteps.push({ what, fn });
  }

  /** A fresh work directory on the sysroot's filesystem (so hardlinks and renames work). */
  workDir(name: string): string {
    // A second directory of the same name gets its own: the first may still be being removed.
    let dir = join(this.workRoot, `${process.pid}-${name}`);
    for (let i = 2; this.workDirs.has(dir); i++) dir = join(this.workRoot, `${process.pid}-${name}-${i}`);
    this.workDirs.add(dir);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    this.cleanupSteps.push({ what: `remove ${dir}`, fn: () => this.removals.get(dir) ?? removeTree(dir) });
    return dir;
  }

  /**
   * Start removing a work directory whose content is no longer needed, in the background (a
   * checkout of thousands of files takes a while to delete; the next steps need not wait).
   * The end of the transaction, success or failure, waits for it.
   */
  discardWorkDir(dir: string): void {
    if (!this.removals.has(dir)) this.removals.set(dir, removeTreeInBackground(dir));
  }

  static async run<T>(opts: TransactionOptions, body: (tx: Transaction) => Promise<T>): Promise<T> {
    requireRoot(opts.command);
    const tx = new Transaction(opts);
    const lock = await acquireSysrootLock(opts.sysroot, {
      command: opts.command,
      waitSeconds: opts.lockWaitSeconds,
      warn: (t) => opts.reporter.warn(t),
    });
    const onSignal = (sig: NodeJS.Signals) => {
      if (tx.committing) {
        opts.reporter.warn(`${sig} received while writing the new deployment; finishing it first`);
        return;
      }
      if (tx.signal.aborted) {
        opts.reporter.warn('still undoing the transaction; please wait');
        return;
      }
      opts.reporter.warn(`${sig} received: stopping and undoing the transaction`);
      tx.cancel(sig === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    try {
      cleanupStaleWork(tx.workRoot, opts.reporter);
      transactionHooks.onStart?.(tx);
      const result = await body(tx);
      if (!tx.committing) tx.throwIfCancelled();
      await tx.finish();
      transactionHooks.onEnd?.(tx);
      return result;
    } catch (err) {
      await tx.rollback();
      // A signal's CancelledError from a child (run.ts) does not know which signal it was: rebuild it.
      const final = tx.signal.aborted && (!(err instanceof CancelledError) || err.exitCode !== tx.cancelExit)
        ? new CancelledError(tx.cancelExit === EXIT_SIGTERM ? 'terminated' : 'cancelled', tx.cancelExit)
        : err;
      transactionHooks.onEnd?.(tx, final);
      throw final;
    } finally {
      await lock.release();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
    }
  }

  /** Success: undo steps are forgotten, work directories removed. */
  private async finish(): Promise<void> {
    this.undoSteps = [];
    await this.runSteps(this.cleanupSteps);
    this.cleanupSteps = [];
  }

  private async rollback(): Promise<void> {
    await this.runSteps(this.undoSteps);
    this.undoSteps = [];
    await this.runSteps(this.cleanupSteps);
    this.cleanupSteps = [];
  }

  private async runSteps(list: UndoStep[]): Promise<void> {
    for (const s of [...list].reverse()) {
      try {
        await s.fn();
      } catch (e) {
        this.reporter.warn(`while undoing (${s.what}): ${(e as Error).message}`);
      }
    }
  }
}

export function requireRoot(command: string): void {
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) {
    throw new AptOstreeError(`apt-ostree ${command} changes the system and must run as root.`, {
      hint: `Run it with sudo: sudo apt-ostree ${command}`,
    });
  }
}

export function workRootOf(sysroot: string): string {
  return join(sysroot, 'ostree', 'apt-ostree', 'tmp');
}

/** Remove work directories of runs that were killed (their pid no longer exists). */
function cleanupStaleWork(workRoot: string, reporter: Reporter): void {
  let names: string[];
  try {
    names = readdirSync(workRoot);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.split('-')[0]);
    if (pid === process.pid) continue;
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 0);
        continue; // still running (cannot be: we hold the lock), leave it
      } catch {
        /* dead */
      }
    }
    reporter.warn(`removing work left by an interrupted run: ${join(workRoot, name)}`);
    removeTree(join(workRoot, name));
  }
}

/**
 * Remove a work tree. Unmounts anything still mounted below it first (a killed run may leave
 * an overlay mount), and never follows symlinks.
 */
export function removeTree(dir: string): void {
  unmountBelow(dir);
  // rm(1) removes a checkout of thousands of files about twice as fast as fs.rmSync.
  const r = spawnSync('rm', ['-rf', '--', dir], { stdio: 'ignore' });
  if (r.status !== 0) rmSync(dir, { recursive: true, force: true });
}

/** removeTree without blocking the event loop: rm(1) runs while the transaction goes on. */
function removeTreeInBackground(dir: string): Promise<void> {
  unmountBelow(dir);
  const removal = new Promise<void>((resolve, reject) => {
    let done = false;
    const end = (ok: boolean) => {
      if (done) return;
      done = true;
      try {
        if (!ok) rmSync(dir, { recursive: true, force: true });
        resolve();
      } catch (e) {
        reject(e as Error);
      }
    };
    const rm = spawn('rm', ['-rf', '--', dir], { stdio: 'ignore' });
    rm.on('error', () => end(false));
    rm.on('close', (code) => end(code === 0));
  });
  // Awaited (and a failure reported) by the cleanup step at the end of the transaction.
  removal.catch(() => undefined);
  return removal;
}

function unmountBelow(dir: string): void {
  let mounts: string[];
  try {
    mounts = readMountPoints().filter((m) => m === dir || m.startsWith(`${dir}/`));
  } catch {
    return;
  }
  // Deepest first.
  for (const m of mounts.sort((a, b) => b.length - a.length)) {
    try {
      umount(m);
    } catch {
      /* best effort */
    }
  }
}

function readMountPoints(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m): m is string => Boolean(m))
    .map((m) => m.replace(/\\040/g, ' '));
}

function umount(path: string): void {
  spawnSync('umount', ['-l', path], { stdio: 'ignore' });
}
