// The reporter: real durations of phases (background ones included), the -v timing table, and
// downloads shown with bytes and rate on a terminal (ora on a stream that says it is one) and
// every 25 % in plain logs.
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { consoleReporter, formatDuration, formatPhaseTable, uncoveredMs, plainSink, RateMeter, Reporter, spinnerSink, type ProgressEvent } from '../../../src/output/reporter.js';

/** A stream collecting what is written to it; `tty` makes ora draw on it. */
function capture(tty = false): { stream: NodeJS.WriteStream; text(): string } {
  const s = new PassThrough();
  let out = '';
  s.on('data', (c: Buffer) => (out += c.toString()));
  Object.assign(s, { isTTY: tty, columns: 200, rows: 50, cursorTo: () => true, moveCursor: () => true, clearLine: () => true });
  return { stream: s as unknown as NodeJS.WriteStream, text: () => out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '') };
}

function recorder(r: Reporter): ProgressEvent[] {
  const events: ProgressEvent[] = [];
  r.addSink((e) => events.push(e));
  return events;
}

describe('Reporter phases', () => {
  it('records how long each task took, nested ones by depth, failed ones as failed', async () => {
    const r = new Reporter();
    const events = recorder(r);
    await r.task('outer', async () => {
      await r.task('inner', () => sleep(30));
    });
    await expect(r.task('broken', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(r.phases.map((p) => [p.text, p.depth, p.ok, p.background])).toEqual([
      ['inner', 1, true, false],
      ['outer', 0, true, false],
      ['broken', 0, false, false],
    ]);
    expect(r.phases[0]!.ms).toBeGreaterThanOrEqual(25);
    expect(r.phases[1]!.ms).toBeGreaterThanOrEqual(r.phases[0]!.ms);
    // The sinks get the duration with the end.
    expect(events.filter((e) => e.type === 'task-end').map((e) => (e as { ms?: number }).ms)).toEqual(r.phases.map((p) => p.ms));
  });

  it('gives a phase that ran in the background its real duration, not the wait (startedAt, phaseDone)', async () => {
    const r = new Reporter();
    const startedAt = Date.now();
    const checkout = sleep(120);
    await r.task('Resolving packages', () => sleep(80));
    await r.task('Checking out the base', () => checkout, { startedAt });
    const [resolve, wait] = r.phases;
    expect(wait!.background).toBe(true);
    expect(wait!.ms).toBeGreaterThanOrEqual(110); // from its start, not the ~40 ms of waiting
    expect(wait!.startedAt).toBe(startedAt);
    expect(resolve!.background).toBe(false);
    const done = Date.now() - 500;
    r.phaseDone('Cleaning up', done);
    expect(r.phases.at(-1)).toMatchObject({ text: 'Cleaning up', startedAt: done, ok: true, background: true });
    expect(r.phases.at(-1)!.ms).toBeGreaterThanOrEqual(500);
  });

  it('ends progress as often as asked, and sends the summary once (finish)', async () => {
    const r = new Reporter();
    const events = recorder(r);
    await r.task('a', async () => undefined);
    r.end();
    r.finish();
    r.finish();
    expect(events.map((e) => e.type)).toEqual(['task-begin', 'task-end', 'progress-end', 'progress-end', 'summary', 'progress-end']);
    const summary = events.find((e) => e.type === 'summary') as Extract<ProgressEvent, { type: 'summary' }>;
    expect(summary.phases.map((p) => p.text)).toEqual(['a']);
    expect(summary.totalMs).toBeGreaterThanOrEqual(0);
  });
});

describe('the -v timing table', () => {
  it('lists the phases in the order they started, marks background ones, indents nested ones, and gives the wall-clock total', () => {
    const table = formatPhaseTable(
      [
        { text: 'Updating package lists', startedAt: 1000, ms: 412, ok: true, depth: 0, background: false },
        { text: 'Checking out the base', startedAt: 1005, ms: 2750, ok: true, depth: 0, background: true },
        { text: 'Resolving packages', startedAt: 1412, ms: 380, ok: true, depth: 0, background: false },
        { text: 'Verifying', startedAt: 1500, ms: 12, ok: false, depth: 1, background: false },
      ],
      6200,
    );
    expect(table).toBe(
      [
        'Phase                     Time',
        'Updating package lists  412 ms',
        'Checking out the base   2.75 s  in the background',
        'Resolving packages      380 ms',
        '  Verifying (failed)     12 ms',
        'Total (wall clock)      6.20 s',
        '',
      ].join('\n'),
    );
  });

  it('says how much of the wall clock no phase covers, overlaps counted once', () => {
    const phases = [
      { text: 'Start-up', startedAt: 1000, ms: 100, ok: true, depth: 0, background: false },
      { text: 'Checking out the base', startedAt: 1150, ms: 500, ok: true, depth: 0, background: true },
      { text: 'Resolving packages', startedAt: 1200, ms: 200, ok: true, depth: 0, background: false },
      { text: 'Nested', startedAt: 1210, ms: 50, ok: true, depth: 1, background: false },
      { text: 'Deploying', startedAt: 1700, ms: 250, ok: true, depth: 0, background: false },
    ];
    // Covered: 1000–1100, 1150–1650, 1700–1950 of 1000–2000: 150 ms are not.
    expect(uncoveredMs(phases, 1000, 1000)).toBe(150);
    expect(uncoveredMs([], 1000, 80)).toBe(80);
    expect(formatPhaseTable(phases, 1000, 1000).split('\n').slice(-3)).toEqual(['Outside the phases     150 ms', 'Total (wall clock)     1.00 s', '']);
  });

  it('formats durations for people', () => {
    expect([0, 999, 1000, 2754, 59_994, 65_000, 600_000].map(formatDuration)).toEqual(['0 ms', '999 ms', '1.00 s', '2.75 s', '59.99 s', '1 min 05 s', '10 min 00 s']);
  });

  it('is printed by the plain sink at the end of a command with verbose, and not without', async () => {
    for (const verbose of [true, false]) {
      const out = capture();
      const r = new Reporter();
      r.addSink(plainSink({ quiet: false, verbose, tty: false, stream: out.stream }));
      await r.task('Resolving packages', () => sleep(5));
      r.finish();
      const text = out.text();
      expect(text).toMatch(/Resolving packages\.\.\.\n/);
      if (verbose) {
        expect(text).toMatch(/Resolving packages: done \(\d+ ms\)\n/);
        expect(text).toMatch(/Phase +Time\nResolving packages +\d+ ms\nOutside the phases +\d+ ms\nTotal \(wall clock\) +\d+ ms\n$/);
      } else {
        expect(text).toMatch(/Resolving packages: done\n$/);
        expect(text).not.toMatch(/Phase/);
      }
    }
  });
});

describe('download progress', () => {
  it('measures the rate over the last seconds, and starts again when the bytes go back', () => {
    const m = new RateMeter(3000);
    expect(m.sample(0, 0)).toBeUndefined();
    expect(m.sample(1000, 100)).toBeUndefined(); // too soon to say
    expect(m.sample(2_000_000, 1000)).toBe(2_000_000);
    expect(m.sample(8_000_000, 4000)).toBeCloseTo(2_000_000, -3);
    // Faster now: the old samples leave the window.
    expect(m.sample(38_000_000, 7000)).toBeCloseTo(10_000_000, -3);
    expect(m.sample(0, 7100)).toBeUndefined();
  });

  it('gets a line every 25 % in plain logs, with bytes, total and rate', async () => {
    const out = capture();
    const r = new Reporter();
    r.addSink(plainSink({ quiet: false, verbose: false, tty: false, stream: out.stream }));
    const total = 30 * 1024 * 1024;
    await r.task('Downloading 12 packages', async () => {
      for (let i = 0; i <= 20; i++) {
        r.download('Downloading 12 packages', Math.round((total * i) / 20), total);
        await sleep(20);
      }
    });
    const lines = out.text().split('\n').filter((l) => l.includes('%'));
    expect(lines.map((l) => / (\d+)% /.exec(l)?.[1])).toEqual(['25', '50', '75', '100']);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d Downloading 12 packages: 50% \(15 MB of 30 MB, [\d.]+ MB\/s\)$/);
  });

  it('shows bytes, total and rate on a terminal: "Downloading 12 packages: 4.2 MB of 30 MB, 3.1 MB/s"', async () => {
    const out = capture(true);
    const r = new Reporter();
    r.addSink(await spinnerSink({ quiet: false, verbose: false, tty: true, stream: out.stream }));
    const total = 30 * 1024 * 1024;
    await r.task('Downloading 12 packages', async () => {
      for (let i = 0; i <= 10; i++) {
        r.download('Downloading 12 packages', Math.round((total * i) / 70), total);
        await sleep(60);
      }
    });
    r.finish();
    expect(out.text()).toMatch(/Downloading 12 packages: [\d.]+ MB of 30 MB, [\d.]+ MB\/s/);
    expect(out.text()).toMatch(/✔ Downloading 12 packages\n/);
  });
});

describe('console reporter', () => {
  afterEach(() => vi.unstubAllEnvs());

  // A terminal under CI (any value of CI) or with TERM=dumb cannot redraw a spinner line:
  // it gets the plain, time-stamped lines that a log gets.
  for (const [name, value] of [['CI', ''], ['TERM', 'dumb']] as const) {
    it(`writes plain lines to a terminal when ${name}=${JSON.stringify(value)}`, async () => {
      vi.stubEnv(name, value);
      const out = capture(true);
      const r = await consoleReporter({ quiet: false, verbose: false, stream: out.stream });
      await r.task('Checking out', () => sleep(5));
      r.finish();
      expect(out.text()).toMatch(/^\d\d:\d\d:\d\d Checking out/m);
      expect(out.text()).not.toContain('✔');
    });
  }
});
