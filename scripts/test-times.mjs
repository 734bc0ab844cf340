#!/usr/bin/env node
// Where the test time went: printed at the end of every `.ci/run` (docs/testing.md, "Budget").
// Reads the JSON reports that vitest writes for each suite (.ci/reports/SUITE.json, see the
// vitest configs) and the wall time of each step that .ci/run records (.ci/reports/steps.tsv:
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
 * The test files of one vitest JSON report, with their durations in seconds.
 * @param {string} file
 * @returns {Array<{ file: string, seconds: number, status: string }>}
 */
function filesOf(file) {
  /** @type {{ testResults?: Array<{ name: string, startTime: number, endTime: number, status: string }> }} */
  const report = JSON.parse(readFileSync(file, 'utf8'));
  return (report.testResults ?? []).map((r) => ({
    file: r.name.replace(`${process.cwd()}/`, ''),
    seconds: Math.max(0, (r.endTime - r.startTime) / 1000),
    status: r.status,
  }));
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
  lines.push(`  ${suite.padEnd(12)} ${String(files.length).padStart(3)} files ${minutes(sum).padStart(7)}`);
  all.push(...files.map((f) => ({ ...f, suite })));
}
if (all.length) {
  lines.push('', `The ${Math.min(SLOWEST, all.length)} slowest test files:`);
  for (const f of all.sort((a, b) => b.seconds - a.seconds).slice(0, SLOWEST)) {
    lines.push(`  ${minutes(f.seconds).padStart(6)}  ${f.suite.padEnd(12)} ${f.file}${f.status === 'passed' ? '' : `  (${f.status})`}`);
  }
}
if (lines.length) console.log(`\n== Test time report ==\n${lines.join('\n')}`);
