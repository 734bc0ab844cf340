#!/usr/bin/env node
// Where the test time went: printed at the end of every `.ci/run` (docs/testing.md, "Budget").
// Reads the report of each suite's files (.ci/reports/SUITE.json, written by
// scripts/file-times-reporter.mjs, see the vitest configs) and the wall time of each step that .ci/run records (.ci/reports/steps.tsv:
// NAME<TAB>SECONDS), and prints the steps against their budget, each suite's files added up,
// and the slowest files. Usage: node scripts/test-times.mjs [REPORT-DIR]
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.ci/reports';
/** The budget of docs/testing.md, in seconds: each step, and the whole run. */
const BUDGET = { 'npm test': 20 * 60, 'npm run test:boot': 20 * 60, total: 45 * 60 };
const SLOWEST = 15;

/** @param {number} s */
const minutes = (s) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;

/**
 * How long N files ran side by side, for each N, in seconds: a suite that runs its files in K lanes
 * and shows long stretches below K has idle lanes (vitest's pool once shrank to one worker after
 * its first files ended, which cost the boot suite 6 minutes).
 * @param {Array<{ start: number, end: number }>} spans
 * @returns {Map<number, number>}
 */
function sideBySide(spans) {
  const events = spans.flatMap((s) => [[s.start, 1], [s.end, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const at = new Map();
  let running = 0;
  let last = events[0]?.[0] ?? 0;
  for (const [time, change] of events) {
    if (running > 0) at.set(running, (at.get(running) ?? 0) + time - last);
    running += change;
    last = time;
  }
  return at;
}

/**
 * The test files of one suite's report, with their durations in seconds (hooks included).
 * @param {string} file
 * @returns {Array<{ file: string, seconds: number, status: string, start: number, end: number }>}
 */
function filesOf(file) {
  /** @type {{ files?: Array<{ file: string, start: number, seconds: number, status: string }> }} */
  const report = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(report.files)) throw new Error('not a report of scripts/file-times-reporter.mjs');
  return report.files.map((f) => ({ ...f, seconds: Math.max(0, f.seconds), end: f.start + Math.max(0, f.seconds) }));
}

const lines = [];
const stepsFile = join(dir, 'steps.tsv');
if (existsSync(stepsFile)) {
  lines.push('Steps (wall time, against the budget of docs/testing.md):');
  let total = 0;
  for (const row of readFileSync(stepsFile, 'utf8').trim().split('\n').filter(Boolean)) {
    const [name = '', secondsText = '0', status = ''] = row.split('\t');
    const seconds = Number(secondsText);
    total += seconds;
    const budget = BUDGET[/** @type {keyof typeof BUDGET} */ (name)];
    const over = budget !== undefined && seconds > budget ? '  OVER BUDGET' : '';
    lines.push(`  ${name.padEnd(22)} ${minutes(seconds).padStart(6)}${budget ? ` of ${minutes(budget)}` : ''}${status && status !== '0' ? `  (exit ${status})` : ''}${over}`);
  }
  lines.push(`  ${'total'.padEnd(22)} ${minutes(total).padStart(6)} of ${minutes(BUDGET.total)}${total > BUDGET.total ? '  OVER BUDGET' : ''}`);
}

const all = [];
const reports = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')).sort() : [];
if (reports.length) lines.push('', 'Suites (test files added up; files of one suite run side by side, so the sum can pass the wall time):');
for (const name of reports) {
  const suite = name.replace(/\.json$/, '');
  let files;
  try {
    files = filesOf(join(dir, name));
  } catch (e) {
    lines.push(`  ${suite}: unreadable report (${/** @type {Error} */ (e).message})`);
    continue;
  }
  const sum = files.reduce((a, f) => a + f.seconds, 0);
  const lanes = [...sideBySide(files)].sort((a, b) => b[0] - a[0]).map(([n, s]) => `${n} for ${minutes(s)}`);
  lines.push(`  ${suite.padEnd(12)} ${String(files.length).padStart(3)} files ${minutes(sum).padStart(7)}${lanes.length ? `   side by side: ${lanes.join(', ')}` : ''}`);
  all.push(...files.map((f) => ({ ...f, suite })));
}
if (all.length) {
  lines.push('', `The ${Math.min(SLOWEST, all.length)} slowest test files:`);
  for (const f of all.sort((a, b) => b.seconds - a.seconds).slice(0, SLOWEST)) {
    lines.push(`  ${minutes(f.seconds).padStart(6)}  ${f.suite.padEnd(12)} ${f.file}${f.status === 'passed' ? '' : `  (${f.status})`}`);
  }
}
if (lines.length) console.log(`\n== Test time report ==\n${lines.join('\n')}`);
