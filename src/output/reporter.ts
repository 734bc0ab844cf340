/**
 * One stream of progress events for a command. Sinks turn it into an ora spinner on a
 * terminal, plain timestamped lines elsewhere (journal, cron, pipes), and DBus signals with
 * --dbus-compat; all of them see the same events, so they never disagree.
 */
import { fstatSync } from 'node:fs';

export type ProgressEvent =
  | { type: 'task-begin'; text: string }
  | { type: 'task-end'; text: string; ok: boolean }
  | { type: 'percent'; text: string; percent: number }
  | { type: 'download'; text: string; bytes: number; totalBytes?: number; objects?: number; totalObjects?: number }
  | { type: 'message'; text: string; level: 'info' | 'warn' | 'debug' }
  | { type: 'progress-end' };

export type Sink = (e: ProgressEvent) => void;

export class Reporter {
  private sinks: Sink[] = [];
  private currentTask?: string;

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

  /** Run one phase of the work as a task: begin, end (ok or failed). */
  async task<T>(text: string, fn: () => Promise<T>): Promise<T> {
    const outer = this.currentTask;
    this.currentTask = text;
    this.emit({ type: 'task-begin', text });
    try {
      const result = await fn();
      this.emit({ type: 'task-end', text, ok: true });
      return result;
    } catch (err) {
      this.emit({ type: 'task-end', text, ok: false });
      throw err;
    } finally {
      this.currentTask = outer;
    }
  }

  end(): void {
    this.emit({ type: 'progress-end' });
  }
}

export interface ConsoleOptions {
  quiet: boolean;
  verbose: boolean;
  /** Spinners only when stderr is a terminal and not quiet. */
  tty: boolean;
  stream?: NodeJS.WriteStream;
}

/** Plain lines: `HH:MM:SS text`, no colour, no cursor movement; for logs and pipes. */
export function plainSink(opts: ConsoleOptions): Sink {
  const out = opts.stream ?? process.stderr;
  const started = new Map<string, number>();
  let lastPercentLine = '';
  // The journal stamps every line itself; elsewhere (cron mail, pipes, CI logs) we do.
  const journal = isJournalStream(out);
  const stamp = () => (journal ? '' : `${new Date().toTimeString().slice(0, 8)} `);
  return (e) => {
    // The reader went away (EPIPE, see main.ts): the command goes on without printing.
    if (out.destroyed) return;
    switch (e.type) {
      case 'task-begin':
        started.set(e.text, Date.now());
        out.write(`${stamp()}${e.text}...\n`);
        break;
      case 'task-end': {
        const ms = Date.now() - (started.get(e.text) ?? Date.now());
        out.write(`${stamp()}${e.text}: ${e.ok ? 'done' : 'failed'}${opts.verbose ? ` (${ms} ms)` : ''}\n`);
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
      case 'download':
        if (opts.verbose) out.write(`${stamp()}${e.text}: ${formatBytes(e.bytes)}\n`);
        break;
      case 'message':
        if (e.level === 'debug' && !opts.verbose) break;
        if (e.level === 'info' && opts.quiet) break;
        out.write(`${stamp()}${e.level === 'warn' ? 'warning: ' : ''}${e.text}\n`);
        break;
      case 'progress-end':
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
  const spinner = ora({ stream, discardStdin: false });
  const stack: string[] = [];
  return (e) => {
    switch (e.type) {
      case 'task-begin':
        stack.push(e.text);
        spinner.start(e.text);
        break;
      case 'task-end':
        stack.pop();
        if (e.ok) spinner.succeed(e.text);
        else spinner.fail(e.text);
        if (stack.length) spinner.start(stack.at(-1));
        break;
      case 'percent':
        spinner.text = `${e.text} ${e.percent}%`;
        break;
      case 'download':
        spinner.text = `${e.text} ${formatBytes(e.bytes)}${e.totalBytes ? ` / ${formatBytes(e.totalBytes)}` : ''}${
          e.objects !== undefined ? ` (${e.objects}${e.totalObjects ? `/${e.totalObjects}` : ''} objects)` : ''
        }`;
        break;
      case 'message':
        if (e.level === 'debug' && !opts.verbose) break;
        if (spinner.isSpinning) spinner.clear();
        stream.write(`${e.level === 'warn' ? chalk.yellow('warning: ') : ''}${e.text}\n`);
        if (spinner.isSpinning) spinner.render();
        break;
      case 'progress-end':
        spinner.stop();
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
export async function consoleReporter(opts: Omit<ConsoleOptions, 'tty'>): Promise<Reporter> {
  const reporter = new Reporter();
  const tty = Boolean((opts.stream ?? process.stderr).isTTY) && !opts.quiet && !process.env.CI;
  reporter.addSink(tty ? await spinnerSink({ ...opts, tty }) : plainSink({ ...opts, tty }));
  return reporter;
}
