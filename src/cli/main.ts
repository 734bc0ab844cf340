/**
 * Entry point. Command lines are parsed from the specs by parseCommandLine (parser.ts, free to load),
 * the one parser of the arguments a command runs with, which also names every bad option or
 * argument itself; help, --version, and a command line without a command go through yargs, which
 * only prints help (and never runs a command). Command modules are loaded only when their command
 * runs. Errors are printed in one place, reportError.
 */
import { existsSync, statSync } from 'node:fs';
import { historyPath } from '../engine/state-paths.js';
import { resolve } from 'node:path';
import { EXIT_ERROR, EXIT_OK, printable, withoutControls } from '../errors.js';
import { explainError } from './explain-error.js';
import { plainSink, Reporter } from '../output/reporter.js';
import { resolveSysrootPath, type CommandContext } from './context.js';
import { lockWaitWithValue, parseCommandLine, type CommandArgs } from './parser.js';
import type { CommandSpec } from './spec.js';

export async function main(args: string[]): Promise<void> {
  const verbose = args.includes('-v') || args.includes('--verbose');
  let code: number;
  let running: CommandSpec | undefined;
  quietOnClosedOutput(() => running !== undefined && (running.mutating === true || running.writesFiles === true));
  try {
    args = lockWaitWithValue(args);
    const parsed = parseCommandLine(args);
    if (parsed) {
      running = parsed.spec;
      code = await runCommand(parsed.spec, parsed.path, parsed.args);
    } else code = await (await import('./yargs.js')).runYargs(args);
  } catch (err) {
    code = reportError(err, verbose, { sysroot: sysrootArg(args) });
  }
  process.exitCode = code;
}

/** Exit status after the reader of our output went away: what a shell shows for death by SIGPIPE. */
export const EXIT_PIPE = 141;

/**
 * Output piped into a program that stops reading (`apt-ostree status --json | head -c 100`):
 * writing fails with EPIPE. As coreutils do, stop quietly, with the status a shell shows for
 * SIGPIPE, instead of dying with a stack trace. A command that changes the system (or writes a
 * disk image: `writesFiles` in its spec) is not interrupted halfway: it goes on without printing
 * to the closed stream (writes to it are dropped) and exits with its own status once done, since
 * its change was made.
 */
function quietOnClosedOutput(changingTheSystem: () => boolean): void {
  let closed = false;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED' && !closed) throw e;
      if (closed) return;
      closed = true;
      if (!changingTheSystem()) process.exit(EXIT_PIPE);
    });
  }
}

/** The --sysroot given on the command line (for error messages that name it), or undefined. */
function sysrootArg(args: string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === '--sysroot') value = args[++i];
    else if (a.startsWith('--sysroot=')) value = a.slice('--sysroot='.length);
  }
  return value ? resolve(value) : undefined;
}

/** Run one command: build its context, load its module, return its exit code. */
export async function runCommand(spec: CommandSpec, path: string, argv: CommandArgs): Promise<number> {
  const quiet = argv.quiet === true;
  const verbose = argv.verbose === true;
  // The process's start: the -v table counts Node's own start-up as a phase.
  const startedAt = Math.round(performance.timeOrigin);
  let reporter: Reporter;
  if (spec.mutating) {
    reporter = await (await import('../output/reporter.js')).consoleReporter({ quiet, verbose, startedAt });
  } else {
    reporter = new Reporter({ startedAt });
    reporter.addSink(plainSink({ quiet, verbose, tty: false }));
  }
  const ctx: CommandContext = {
    command: path,
    args: argv,
    sysroot: resolveSysrootPath(argv.sysroot || '/'),
    os: argv.os,
    quiet,
    verbose,
    reporter,
  };
  let dbus: { close(): Promise<void> } | undefined;
  if (argv.dbusCompat) {
    dbus = await (await import('../dbus/compat.js')).startDbusCompat(ctx);
  }
  // The metrics are written when a transaction ended (it adds to the history); a refused command leaves every file as it was.
  const historyBefore = spec.mutating || spec.name === 'health-check' ? historyStamp(ctx.sysroot) : undefined;
  try {
    const mod = await spec.load!();
    // Only for commands that run phases: a read-only command's -v prints no table.
    if (spec.mutating) reporter.recordPhase('Start-up (Node, the command\'s modules)', startedAt);
    const code = await mod.run(ctx);
    return typeof code === 'number' ? code : EXIT_OK;
  } finally {
    if (historyBefore !== undefined && historyStamp(ctx.sysroot) !== historyBefore) await updateMetrics(ctx);
    // Ends the progress; with -v the sinks print the phase timing table.
    reporter.finish();
    await dbus?.close();
  }
}

/** The history file's size and change time: a new entry (every transaction's end) changes them. */
function historyStamp(sysroot: string): string {
  try {
    const st = statSync(historyPath(sysroot), { bigint: true });
    return `${st.size}:${st.mtimeNs}`;
  } catch {
    return 'none';
  }
}

/**
 * The node exporter's textfile (engine/metrics.ts), after every transaction (a command's, an
 * upgrade --check's, the boot's health check), whatever its outcome: as root, on an OSTree
 * sysroot only. The command's own result stands; a failure here is a warning.
 */
async function updateMetrics(ctx: CommandContext): Promise<void> {
  if (process.geteuid?.() !== 0 || !existsSync(resolve(ctx.sysroot, 'ostree', 'deploy'))) return;
  try {
    (await import('../engine/metrics.js')).writeMetrics(ctx.sysroot);
  } catch (e) {
    ctx.reporter.warn(`could not write the metrics file: ${(e as Error).message}`);
  }
}

/**
 * Print an error that reached the top level and return the exit status. A failure of the
 * machine (disk full, read-only file system, not a sysroot …) is said in a sentence by
 * explainError; only a programming error is called a bug. Message and hint are made printable
 * (they may echo user input or bytes of a file: control characters escaped, long words cut);
 * a tool's output (detail) is shown as the tool wrote it, without terminal control sequences.
 */
export function reportError(err: unknown, verbose: boolean, ctx: { sysroot?: string } = {}): number {
  const out = process.stderr;
  const shown = explainError(err, ctx);
  if (shown) {
    if (shown.exitCode === EXIT_OK || shown.exitCode === 77) {
      // "Nothing changed" is news, not an error.
      process.stdout.write(`${printable(shown.message)}\n`);
      return shown.exitCode;
    }
    out.write(`error: ${printable(shown.message)}\n`);
    if (shown.detail) out.write(indent(tail(withoutControls(shown.detail), verbose ? 200 : 20)) + '\n');
    if (shown.hint) out.write(`${printable(shown.hint, { multiline: true })}\n`);
    if (verbose) {
      const stack = (shown.cause instanceof Error && shown !== err ? shown.cause : shown).stack;
      if (stack) out.write(`${stack}\n`);
    }
    return shown.exitCode;
  }
  const e = err as Error;
  out.write(`error: ${printable(String(e?.message ?? err))}\n`);
  if (verbose && e?.stack) out.write(`${e.stack}\n`);
  else out.write('This is a bug in apt-ostree; run again with -v for details.\n');
  return EXIT_ERROR;
}

function tail(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return (lines.length > n ? ['…', ...lines.slice(-n)] : lines).join('\n');
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}
