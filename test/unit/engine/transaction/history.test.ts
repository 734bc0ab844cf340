// The transaction history file (SYSROOT/ostree/apt-ostree/history.jsonl): bounded to the newest entries under
// MAX_BYTES, a damaged line left out rather than trusted, who ran a transaction.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendHistory, MAX_BYTES, readHistory, triggerOf, type HistoryEntry } from '../../../../src/engine/transaction/history.js';
import { historyPath } from '../../../../src/engine/state-paths.js';

const entry = (n: number): HistoryEntry => ({
  start: new Date(Date.UTC(2026, 11, 6, 0, 0, n)).toISOString(), 'duration-seconds': 1.5, command: `apt-ostree install pkg${n}`, title: `install pkg${n}`,
  user: 'root', trigger: 'command', outcome: 'succeeded',
});

describe('transaction history', () => {
  const dir = mkdtempSync(join(tmpdir(), 'history-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back what was appended, oldest first, and stays under MAX_BYTES by dropping the oldest', () => {
    expect(readHistory(dir)).toEqual({ entries: [] });
    const long = (n: number): HistoryEntry => ({ ...entry(n), error: 'x'.repeat(50_000) });
    for (let i = 0; i < 60; i++) appendHistory(dir, long(i));
    const { entries } = readHistory(dir);
    // Trimmed to half of MAX_BYTES when the 41st entry took it over; 19 more since.
    expect(statSync(historyPath(dir)).size).toBeLessThanOrEqual(MAX_BYTES + 51_000);
    expect(entries.length).toBeLessThan(60);
    expect(entries.at(-1)).toEqual(long(59));
    expect(entries.map((e) => e.title)).toEqual(Array.from({ length: entries.length }, (_, i) => `install pkg${60 - entries.length + i}`));
    expect(existsSync(`${historyPath(dir)}.tmp-${process.pid}`)).toBe(false);
  });

  it('leaves out a line that does not parse (a run killed while appending), and says so', () => {
    const d = join(dir, 'damaged');
    mkdirSync(join(d, 'ostree', 'apt-ostree'), { recursive: true });
    writeFileSync(historyPath(d), JSON.stringify(entry(1)) + '\n{"start": "2026-');
    expect(readHistory(d)).toEqual({ entries: [entry(1)], damaged: '1 line that is not a history entry, left out' });
    // The next entry starts a line of its own: only the cut one is lost.
    appendHistory(d, entry(2));
    expect(readHistory(d).entries).toEqual([entry(1), entry(2)]);
    expect(readFileSync(historyPath(d), 'utf8')).toBe(`${JSON.stringify(entry(1))}\n{"start": "2026-\n${JSON.stringify(entry(2))}\n`);
  });

  it('tells the timer and the boot check from a command', () => {
    expect(triggerOf('apt-ostree upgrade --trigger-automatic-update-policy --quiet')).toBe('timer');
    expect(triggerOf('apt-ostree health-check --boot')).toBe('boot');
    expect(triggerOf('apt-ostree --sysroot /s health-check --checks-dir /d --boot')).toBe('boot');
    expect(triggerOf('apt-ostree upgrade')).toBe('command');
    expect(triggerOf('apt-ostree install --boot-option')).toBe('command');
  });
});
