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
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AptOstreeError, CancelledError, EXIT_SIGINT, EXIT_SIGTERM } from '../../errors.js';
import type { Reporter } from '../../output/reporter.js';
import { rootRequired } from '../../output/sudo-line.js';
import { listDir } from '../../system/fs.js';
import { removeTreeWithRm, removeTreeWithRmSync } from '../../system/files.js';
import { stopRunningPrograms } from '../../system/run.js';
import { unmountLazySync } from '../../system/overlay.js';
import { workRootOf } from '../state-paths.js';
import { appendHistory, invokingUser, nextBootDeployment, packageChanges, triggerOf, type HistoryDeployment, type HistoryOutcome } from './history.js';
import { acquireSysrootLock } from './lock.js';
import { flockHeld } from './lock-owner.js';

export interface TransactionOptions {
  sysrootPath: string;
  /** The command line as the user typed it, for the lock owner file and messages. */
  command: string;
  /** Short title of the transaction ("install htop"); defaults to the command. */
  title?: string;
  reporter: Reporter;
  lockWaitSeconds?: number;
  /** Only `admin provision` makes a sysroot; every other transaction refuses a path that is not one. */
  createSysroot?: boolean;
  /**
   * --lock-finalization: the deployment this transaction stages is not finalized at shutdown
   * until `finalize-deployment` (deployments/finalization.ts); refused where nothing is staged.
   */
  lockFinalization?: boolean;
}

/** What a command gives an engine operation that runs as one transaction, besides its own options. */
export interface OperationOptions extends Omit<TransactionOptions, 'createSysroot'> {
  /** The stateroot (--os); undefined: Sysroot.resolveOs chooses. */
  os?: string;
}

type UndoStep = { what: string; fn: () => Promise<void> | void };

/** Hooks for --dbus-compat: it sees transactions start and end, and can cancel them. */
export const transactionHooks: {
  onStart?: (tx: Transaction) => void;
  onEnd?: (tx: Transaction, error?: unknown) => void;
} = {};

export class Transaction {
  readonly sysrootPath: string;
  readonly title: string;
  readonly reporter: Reporter;
  /** See TransactionOptions.lockFinalization. */
  readonly lockFinalization: boolean;
  private readonly controller = new AbortController();
  private undoSteps: UndoStep[] = [];
  /** Run at the end whatever happens (work directories), after the undo steps. */
  private cleanupSteps: UndoStep[] = [];
  private cancelExit = EXIT_SIGINT;
  /** Steps already started that cannot be undone (cleanup's removals), for a truthful report. */
  private readonly irreversibleSteps: string[] = [];
  /** Set once the change is being made for real (the deploy): signals no longer undo. */
  private committing = false;
  private readonly workRoot: string;
  /** Work directories handed out, and those being removed in the background (discardWorkDir). */
  private readonly workDirs = new Set<string>();
  private readonly removals = new Map<string, Promise<void>>();

  private constructor(opts: TransactionOptions) {
    this.sysrootPath = opts.sysrootPath;
    this.title = opts.title ?? opts.command;
    this.reporter = opts.reporter;
    this.lockFinalization = opts.lockFinalization === true;
    this.workRoot = workRootOf(opts.sysrootPath);
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
    if (this.signal.aborted) throw this.cancelledError();
  }

  /**
   * Say that a step that cannot be undone starts now (removing a deployment, pruning). An
   * interruption or failure after it reports what was done instead of "left as it was".
   */
  irreversible(what: string): void {
    this.irreversibleSteps.push(what);
  }

  private cancelledError(): CancelledError {
    const reason = this.cancelExit === EXIT_SIGTERM ? 'terminated' : 'cancelled';
    const e = new CancelledError(reason, this.cancelExit);
    if (this.irreversibleSteps.length) e.message = `Transaction ${reason} after ${this.irreversibleSteps.join(', ')} had started; that cannot be undone, and nothing after it was done.`;
    return e;
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
    const lockStarted = Date.now();
    requireRoot(opts.command);
    if (opts.createSysroot) mkdirSync(join(opts.sysrootPath, 'ostree'), { recursive: true });
    else requireSysroot(opts.sysrootPath);
    const tx = new Transaction(opts);
    const lock = await acquireSysrootLock(opts.sysrootPath, {
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
      // Also the steps that do not watch the cancel signal: their runs fail, and the undo follows.
      // Not once a step that cannot be undone started (cleanup's undeploy): it runs to its end,
      // as the message about it says.
      if (!tx.irreversibleSteps.length) stopRunningPrograms();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    const started = new Date();
    const from = nextBootDeployment(opts.sysrootPath);
    try {
      cleanupStaleWork(tx.workRoot, opts.reporter);
      removeStagingLeftovers(join(opts.sysrootPath, 'ostree', 'repo'));
      opts.reporter.recordPhase(opts.lockWaitSeconds !== undefined ? 'Taking the sysroot lock (waiting included)' : 'Taking the sysroot lock', lockStarted);
      transactionHooks.onStart?.(tx);
      const result = await body(tx);
      if (!tx.committing) tx.throwIfCancelled();
      const finishing = Date.now();
      await tx.finish();
      recordHistory(opts, started, from, 'succeeded');
      opts.reporter.recordPhase('Finishing the transaction', finishing);
      transactionHooks.onEnd?.(tx);
      return result;
    } catch (err) {
      await tx.rollback();
      // A signal's CancelledError from a child (run.ts) does not know which signal it was, nor
      // what was done before: rebuild it.
      const final = tx.signal.aborted ? tx.cancelledError() : err;
      if (!tx.signal.aborted && tx.irreversibleSteps.length) {
        opts.reporter.warn(`${tx.irreversibleSteps.join(', ')} had started before this failure and cannot be undone; the steps after it were not done.`);
      }
      recordHistory(opts, started, from, final instanceof CancelledError ? 'cancelled' : 'failed', final);
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

/** Add the transaction to the history (history.ts), under the lock; a failure to write it is only reported. */
function recordHistory(opts: TransactionOptions, started: Date, from: HistoryDeployment | undefined, outcome: HistoryOutcome, error?: unknown): void {
  try {
    const to = nextBootDeployment(opts.sysrootPath);
    const packages = from && to ? packageChanges(opts.sysrootPath, from.checksum, to.checksum) : undefined;
    appendHistory(opts.sysrootPath, {
      start: started.toISOString(),
      'duration-seconds': Math.round((Date.now() - started.getTime()) / 100) / 10,
      command: opts.command,
      title: opts.title ?? opts.command,
      user: invokingUser(),
      trigger: triggerOf(opts.command),
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      ...(packages ? { packages } : {}),
      outcome,
      ...(error !== undefined ? { error: error instanceof Error ? error.message : String(error) } : {}),
    });
  } catch (e) {
    opts.reporter.warn(`could not add the transaction to the history: ${(e as Error).message}`);
  }
}

export function requireRoot(command: string): void {
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) {
    const { message, hint } = rootRequired(command);
    throw new AptOstreeError(message, { hint });
  }
}

/** Refuse a path that is not an OSTree sysroot before anything is created in it. */
function requireSysroot(sysrootPath: string): void {
  if (existsSync(join(sysrootPath, 'ostree', 'repo', 'config')) && existsSync(join(sysrootPath, 'ostree', 'deploy'))) return;
  throw new AptOstreeError(`${sysrootPath} is not an OSTree sysroot (it has no ostree/repo and ostree/deploy).`, {
    hint: sysrootPath === '/' ? 'This machine was not booted from an OSTree deployment; give --sysroot DIR to work on a sysroot directory.' : 'Check the --sysroot path, or create a sysroot with `apt-ostree admin provision`.',
  });
}

/**
 * Remove work directories of runs that were killed. We hold the lock, and every process of a
 * transaction holds it while it runs, so no other run is using any of them: whatever is there
 * and not ours is left over (a pid in the name may have been reused since, even after a reboot).
 */
function cleanupStaleWork(workRoot: string, reporter: Reporter): void {
  for (const name of listDir(workRoot)) {
    if (name.startsWith(`${process.pid}-`)) continue;
    reporter.warn(`removing work left by an interrupted run: ${join(workRoot, name)}`);
    removeTree(join(workRoot, name));
  }
}

/**
 * An ostree commit or pull killed halfway leaves its staging directory in repo/tmp
 * (staging-BOOTID-XXXXXX, beside a -lock file that ostree flocks while it uses it). Remove
 * those nobody holds.
 */
function removeStagingLeftovers(repo: string): void {
  const tmp = join(repo, 'tmp');
  for (const name of listDir(tmp)) {
    if (!name.startsWith('staging-') || name.endsWith('-lock')) continue;
    const lock = join(tmp, `${name}-lock`);
    if (flockHeld(lock)) continue;
    try {
      if (!statSync(join(tmp, name)).isDirectory()) continue;
    } catch {
      continue;
    }
    removeTree(join(tmp, name));
    rmSync(lock, { force: true });
  }
}

/**
 * Remove a work tree. Unmounts anything still mounted below it first (a killed run may leave
 * an overlay mount), and never follows symlinks.
 */
export function removeTree(dir: string): void {
  unmountBelow(dir);
  // rm(1) removes a checkout of thousands of files about twice as fast as fs.rmSync.
  if (!removeTreeWithRmSync(dir)) rmSync(dir, { recursive: true, force: true });
}

/** removeTree without blocking the event loop: rm(1) runs while the transaction goes on. */
function removeTreeInBackground(dir: string): Promise<void> {
  unmountBelow(dir);
  const removal = removeTreeWithRm(dir, { what: `removing ${dir}` }).then(
    () => undefined,
    () => rmSync(dir, { recursive: true, force: true }),
  );
  // Awaited (and a failure reported) by the cleanup step at the end of the transaction.
  removal.catch(() => undefined);
  return removal;
}

function unmountBelow(dir: string): void {
  let mounts: string[];
  try {
    // /proc/self/mounts names mount points by their real path: compare with the real path of
    // dir, or an overlay under a sysroot reached through a symlink would never be found.
    const real = realpathSync(dir);
    mounts = readMountPoints().filter((m) => m === real || m.startsWith(`${real}/`));
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
  unmountLazySync(path);
}
