// Shared helpers for the benchmarks: timing commands side by side, medians, ratios.
import { spawnSync } from 'node:child_process';

/** Run a command once; return wall time in ms. Throws if it fails. */
export function timeOnce(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: opts.stdio ?? ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Interleave the commands (a, b, c, a, b, c, …) so that machine noise hits all alike. */
export function compare(cases, runs) {
  const times = Object.fromEntries(cases.map((c) => [c.name, []]));
  for (let i = 0; i < runs; i++) for (const c of cases) times[c.name].push(timeOnce(c.cmd, c.args, c.opts));
  return Object.fromEntries(cases.map((c) => [c.name, median(times[c.name])]));
}

export function report(title, rows, ratios) {
  console.log(`\n${title}`);
  for (const [name, ms] of Object.entries(rows)) console.log(`  ${name.padEnd(40)} ${ms.toFixed(1).padStart(9)} ms`);
  for (const [name, [value, goal]] of Object.entries(ratios)) {
    console.log(`  ratio ${name.padEnd(34)} ${value.toFixed(2).padStart(9)}   (goal <= ${goal}) ${value <= goal ? 'ok' : 'OVER GOAL'}`);
  }
}
