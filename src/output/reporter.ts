/**
 * One stream of progress events for a command. Sinks turn it into an ora spinner on a
 * terminal, plain timestamped lines elsewhere (journal, cron, pipes), and DBus signals with
 * --dbus-compat; all of them see the same events, so they never disagree.
 */
import { fstatSync } from 'node:fs';

export type ProgressEvent =
  | { type: 'task-begin'; text: string }
  /** `ms`: the phase's real duration (from its startedAt when it ran in the background). */
  | { type: 'task-end'; text: string; ok: boolean; ms?: number }
  | { type: 'percent'; text: string; percent: number }
  | { type: 'download'; text: string; bytes: number; totalBytes?: number; objects?: number; totalObjects?: number }
  | { type: 'message'; text: string; level: 'info' | 'warn' | 'debug' }
  | { type: 'progress-end' }
  /** Once, when the command is done (Reporter.finish): the phases it ran, for `-v`. */
  | { type: 'summary'; phases: readonly PhaseTiming[]; totalMs: number; startedAt: number };

export type Sink = (e: ProgressEvent) => void;

/** One phase of a command, as the timing table of `-v` shows it. */
export interface PhaseTiming {
  text: string;
  /** When the phase started (Date.now() ms): its task's begin, or the startedAt it was given. */
  startedAt: number;
  /** From its start to its end. */
  ms: number;
  ok: boolean;
  /** 0 for a phase run at the top level, 1 inside another task, … */
  depth: number;
  /** Started before its task was entered (TaskOptions.startedAt): it ran while other phases did. */
  background: boolean;
}

export interface TaskOptions {
  /**
   * When the work of the phase really started (Date.now() ms), for a phase that was started
   * earlier and is only awaited now, e.g. the base checkout that runs while apt resolves:
   *
   *   const checkoutStarted = Date.now();
   *   const checkout = ostree.checkout(...);          // runs in the background
   *   ...                                             // other tasks meanwhile
   *   await reporter.task('Checking out the base', () => checkout, { startedAt: checkoutStarted });
   *
   * The phase line and the `-v` table then show its real duration, not the wait at the end.
   */
  startedAt?: number;
}

export class Reporter {
  private sinks: Sink[] = [];
  private currentTask?: string;
  private depth = 0;
  private finished = false;
  /**
   * When the command started, for the total of the timing table: the process's start for the
   * reporter of a command (main.ts), so that Node's own start-up is counted too.
   */
  private readonly createdAt: number;
  /** Every phase (task) that ended, in the order they ended. */
  readonly phases: PhaseTiming[] = [];

  constructor(opts: { startedAt?: number } = {}) {
    this.createdAt = opts.startedAt ?? Date.now();
  }

  addSink(sink: Sink): () => void {
    this.sinks.push(sink);
    return () => {
      this.sinks = this.sinks.filter((s) => s !== sink);
    };
  }

  emit(e: ProgressEvent): void {
    for (const s of this.sinks) s(e);
  }

  info(text: string): void {
    this.emit({ type: 'message', text, level: 'info' });
  }

  warn(text: string): void {
    this.emit({ type: 'message', text, level: 'warn' });
  }

  debug(text: string): void {
    this.emit({ type: 'message', text, level: 'debug' });
  }

  percent(text: string, percent: number): void {
    this.emit({ type: 'percent', text, percent: Math.max(0, Math.min(100, Math.round(percent))) });
  }

  /** Progress of a download of known size: sinks show bytes, total and rate. */
  download(text: string, bytes: number, totalBytes?: number): void {
    this.emit({ type: 'download', text, bytes, ...(totalBytes !== undefined ? { totalBytes } : {}) });
  }

  /**
   * Run one phase of the work as a task: begin, end (ok or failed), its duration recorded for
   * the `-v` table. See TaskOptions.startedAt for a phase that ran in the background.
   */
  async task<T>(text: string, fn: () => Promise<T>, opts: TaskOptions = {}): Promise<T> {
    const outer = this.currentTask;
    const depth = this.depth++;
    const begun = Date.now();
    this.currentTask = text;
    this.emit({ type: 'task-begin', text });
    try {
      const result = await fn();
      this.endPhase(text, true, opts.startedAt ?? begun, depth, opts.startedAt !== undefined);
      return result;
    } catch (err) {
      this.endPhase(text, false, opts.startedAt ?? begun, depth, opts.startedAt !== undefined);
      throw err;
    } finally {
      this.currentTask = outer;
      this.depth--;
    }
  }

  /**
   * Report a phase that ran in the background and is already over (its promise settled), from
   * its start to now: a task-begin and a task-end, and a line of the `-v` table.
   */
  phaseDone(text: string, startedAt: number, ok = true): void {
    this.emit({ type: 'task-begin', text });
    this.endPhase(text, ok, startedAt, this.depth, true);
  }

  /**
   * A phase for the `-v` table only, with no progress line: what every command pays and nobody
   * needs to watch (Node's start-up, taking the lock, loading the sysroot).
   */
  recordPhase(text: string, startedAt: number, ok = true): void {
    this.phases.push({ text, startedAt, ms: Math.max(0, Date.now() - startedAt), ok, depth: this.depth, background: false });
  }

  private endPhase(text: string, ok: boolean, startedAt: number, depth: number, background: boolean): void {
    const ms = Math.max(0, Date.now() - startedAt);
    this.phases.push({ text, startedAt, ms, ok, depth, background });
    this.emit({ type: 'task-end', text, ok, ms });
  }

  /** Stop showing progress (a command does so before printing its result); may be called again. */
  end(): void {
    this.emit({ type: 'progress-end' });
  }

  /** The command is done: progress ends, and the sinks get the phase timings (printed with -v). Once. */
  finish(): void {
    this.end();
    if (this.finished) return;
    this.finished = true;
    this.emit({ type: 'summary', phases: [...this.phases], totalMs: Date.now() - this.createdAt, startedAt: this.createdAt });
  }
}

/**
 * The `-v` timing table: every phase in the order they started, its duration, and the total
 * (wall clock from the command's start: phases that overlap are not added up). Phases that ran
 * in the background are marked; nested ones are indented. Given when the command started, a row
 * says how much of the wall clock no phase covers (issue 26: every millisecond in a phase).
 */
export function formatPhaseTable(phases: readonly PhaseTiming[], totalMs: number, startedAt?: number): string {
  const rows = [...phases]
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.startedAt - b.p.startedAt || a.i - b.i)
    .map(({ p }) => [`${'  '.repeat(p.depth)}${p.text}${p.ok ? '' : ' (failed)'}`, formatDuration(p.ms), p.background ? 'in the background' : '']);
  if (startedAt !== undefined) rows.push(['Outside the phases', formatDuration(uncoveredMs(phases, startedAt, totalMs)), '']);
  rows.push(['Total (wall clock)', formatDuration(totalMs), '']);
  const width = Math.max('Phase'.length, ...rows.map((r) => r[0]!.length));
  const timeWidth = Math.max('Time'.length, ...rows.map((r) => r[1]!.length));
  const line = (r: string[]) => `${r[0]!.padEnd(width)}  ${r[1]!.padStart(timeWidth)}${r[2] ? `  ${r[2]}` : ''}`;
  return [line(['Phase', 'Time', '']), ...rows.map(line)].join('\n') + '\n';
}

/** The time from `startedAt` to `startedAt + totalMs` that no phase covers. */
export function uncoveredMs(phases: readonly PhaseTiming[], startedAt: number, totalMs: number): number {
  const end = startedAt + totalMs;
  const spans = phases.map((p) => [Math.max(p.startedAt, startedAt), Math.min(p.startedAt + p.ms, end)] as const).filter(([a, b]) => b > a).sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let reached = startedAt;
  for (const [a, b] of spans) {
    if (b <= reached) continue;
    covered += b - Math.max(a, reached);
    reached = b;
  }
  return Math.max(0, totalMs - covered);
}

/** 850 ms, 2.75 s, 1 min 05 s. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * A download's progress: "4.2 MB of 30.1 MB, 3.1 MB/s". The rate is that of the last few
 * seconds (RateMeter); none until there is one.
 */
export function formatDownload(bytes: number, totalBytes: number | undefined, rate: number | undefined): string {
  const of = totalBytes ? ` of ${formatBytes(totalBytes)}` : '';
  return `${formatBytes(bytes)}${of}${rate !== undefined ? `, ${formatBytes(Math.round(rate))}/s` : ''}`;
}

/** Bytes per second over a sliding window of the samples it is given. */
export class RateMeter {
  private samples: Array<{ t: number; bytes: number }> = [];
  constructor(private readonly windowMs = 3000) {}

  /** Add a sample (bytes so far, at time t in ms); returns the rate, or undefined before there is one. */
  sample(bytes: number, t = Date.now()): number | undefined {
    if (this.samples.length && bytes < this.samples.at(-1)!.bytes) this.samples = []; // another download
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[1]!.t >= this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = t - first.t;
    return dt >= 200 ? ((bytes - first.bytes) * 1000) / dt : undefined;
  }

  reset(): void {
    this.samples = [];
  }
}

export interface ConsoleOptions {
  quiet: boolean;
  verbose: boolean;
  /** Spinners only when stderr is a terminal and not quiet. */
  tty: boolean;
  stream?: NodeJS.WriteStream;
}

/**
 * Plain lines: `HH:MM:SS text`, no colour, no cursor movement; for logs and pipes. A download
 * of known size gets a line every 25 %, with bytes and rate; with `verbose`, every phase line
 * says its duration and the command ends with the timing table.
 */
export function plainSink(opts: ConsoleOptions): Sink {
  const out = opts.stream ?? process.stderr;
  const started = new Map<string, number>();
  let lastPercentLine = '';
  let lastDownloadLine = '';
  const rate = new RateMeter();
  // The journal stamps every line itself; elsewhere (cron mail, pipes, CI logs) we do.
  const journal = isJournalStream(out);
  const stamp = () => (journal ? '' : `${new Date().toTimeString().slice(0, 8)} `);
  return (e) => {
    // The reader went away (EPIPE, see main.ts): the command goes on without printing.
    if (out.destroyed) return;
    switch (e.type) {
      case 'task-begin':
        started.set(e.text, Date.now());
        rate.reset();
        out.write(`${stamp()}${e.text}...\n`);
        break;
      case 'task-end': {
        const ms = e.ms ?? Date.now() - (started.get(e.text) ?? Date.now());
        out.write(`${stamp()}${e.text}: ${e.ok ? 'done' : 'failed'}${opts.verbose ? ` (${formatDuration(ms)})` : ''}\n`);
        break;
      }
      case 'percent': {
        // Plain logs get one line per 25% step, not a flood.
        const line = `${e.text} ${Math.floor(e.percent / 25) * 25}%`;
        if (line !== lastPercentLine && (opts.verbose || e.percent % 25 === 0 || e.percent === 100)) {
          lastPercentLine = line;
          out.write(`${stamp()}${e.text}: ${e.percent}%\n`);
        }
        break;
      }
      case 'download': {
        const bps = rate.sample(e.bytes);
        if (!e.totalBytes) {
          if (opts.verbose) out.write(`${stamp()}${e.text}: ${formatBytes(e.bytes)}\n`);
          break;
        }
        // As percentages: a line per 25% step (none at 0).
        const percent = Math.min(100, Math.floor((e.bytes / e.totalBytes) * 100));
        const step = Math.floor(percent / 25) * 25;
        const line = `${e.text} ${step}%`;
        if (step > 0 && line !== lastDownloadLine) {
          lastDownloadLine = line;
          out.write(`${stamp()}${e.text}: ${percent}% (${formatDownload(e.bytes, e.totalBytes, bps)})\n`);
        }
        break;
      }
      case 'message':
        if (e.level === 'debug' && !opts.verbose) break;
        if (e.level === 'info' && opts.quiet) break;
        out.write(`${stamp()}${e.level === 'warn' ? 'warning: ' : ''}${e.text}\n`);
        break;
      case 'progress-end':
        break;
      case 'summary':
        if (opts.verbose && e.phases.length) out.write(formatPhaseTable(e.phases, e.totalMs, e.startedAt));
        break;
    }
  };
}

/**
 * Whether a stream is connected to the systemd journal: systemd sets JOURNAL_STREAM to the
 * device and inode of the service's stdout/stderr socket (systemd.exec(5)).
 */
export function isJournalStream(stream: NodeJS.WritableStream): boolean {
  const expected = process.env.JOURNAL_STREAM;
  const fd = (stream as { fd?: unknown }).fd;
  if (!expected || typeof fd !== 'number') return false;
  try {
    const st = fstatSync(fd);
    return expected === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

/** An ora spinner on a terminal; ora is loaded only here, so commands without progress never pay for it. */
export async function spinnerSink(opts: ConsoleOptions): Promise<Sink> {
  // NO_COLOR (no-color.org): chalk reads only FORCE_COLOR, once, when it is first loaded.
  if (process.env.NO_COLOR) process.env.FORCE_COLOR = '0';
  const { default: ora } = await import('ora');
  const { default: chalk } = await import('chalk');
  const stream = opts.stream ?? process.stderr;
  // The caller decided the stream is interactive (consoleReporter); ora must not decide again on its own.
  const spinner = ora({ stream, discardStdin: false, isEnabled: true });
  const stack: string[] = [];
  const rate = new RateMeter();
  return (e) => {
    switch (e.type) {
      case 'task-begin':
        stack.push(e.text);
        rate.reset();
        spinner.start(e.text);
        break;
      case 'task-end': {
        stack.pop();
        const text = opts.verbose && e.ms !== undefined ? `${e.text} (${formatDuration(e.ms)})` : e.text;
        if (e.ok) spinner.succeed(text);
        else spinner.fail(text);
        if (stack.length) spinner.start(stack.at(-1));
        break;
      }
      case 'percent':
        spinner.text = `${e.text} ${e.percent}%`;
        break;
      case 'download': {
        // "Downloading 12 packages: 4.2 MB of 30.1 MB, 3.1 MB/s"
        const bps = rate.sample(e.bytes);
        spinner.text = `${e.text}: ${formatDownload(e.bytes, e.totalBytes, bps)}${
          e.objects !== undefined ? ` (${e.objects}${e.totalObjects ? `/${e.totalObjects}` : ''} objects)` : ''
        }`;
        break;
      }
      case 'message':
        if (e.level === 'debug' && !opts.verbose) break;
        if (spinner.isSpinning) spinner.clear();
        stream.write(`${e.level === 'warn' ? chalk.yellow('warning: ') : ''}${e.text}\n`);
        if (spinner.isSpinning) spinner.render();
        break;
      case 'progress-end':
        spinner.stop();
        break;
      case 'summary':
        if (opts.verbose && e.phases.length) stream.write(formatPhaseTable(e.phases, e.totalMs, e.startedAt));
        break;
    }
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** The reporter every command gets: spinner on a terminal, plain lines otherwise. */
export async function consoleReporter(opts: Omit<ConsoleOptions, 'tty'> & { startedAt?: number }): Promise<Reporter> {
  const reporter = new Reporter({ startedAt: opts.startedAt });
  // The rule ora and most tools follow: a terminal, not TERM=dumb, not under CI (any value of CI).
  const stream = opts.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY) && process.env.TERM !== 'dumb' && !('CI' in process.env) && !opts.quiet;
  reporter.addSink(tty ? await spinnerSink({ ...opts, tty }) : plainSink({ ...opts, tty }));
  return reporter;
}
