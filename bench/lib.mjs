// Shared helpers for the benchmarks: timing commands side by side, medians, ratios, and the
// peak memory of a whole process tree.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * @typedef {{ stdio?: import('node:child_process').StdioOptions, env?: NodeJS.ProcessEnv, cwd?: string, allowFail?: boolean }} TimeOptions
 * @typedef {{ name: string, cmd: string, args: string[], opts?: TimeOptions, before?: () => void, after?: () => void }} Case
 * @typedef {{ pid: number, comm: string, kb: number }} Proc
 * @typedef {{ ms: number, status: number | null, signal: NodeJS.Signals | null, lines: string[], peakKb: number, peakProcs: Proc[], ownPeakKb: number, samples: number }} Sampled
 */

/**
 * Run a command once; return wall time in ms. Throws if it fails.
 * @param {string} cmd
 * @param {string[]} args
 * @param {TimeOptions} [opts]
 * @returns {number}
 */
export function timeOnce(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: opts.stdio ?? ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...opts.env }, cwd: opts.cwd, maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.signal ?? r.status}): ${r.stderr}`);
  return ms;
}

/**
 * @param {number[]} xs
 * @returns {number}
 */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Interleave the commands (a, b, c, a, b, c, …) so that machine noise hits all alike; return
 * the median of each. A case may have `before`/`after` functions, run untimed around each of
 * its runs (set-up and reset). `compareRuns` returns every time instead; with `sync`, each
 * timed run starts after a `sync` (untimed), so that no command pays for writing back what an
 * earlier one left dirty (ostree admin deploy syncs the whole file system).
 * @param {Case[]} cases
 * @param {number} runs
 * @returns {Record<string, number>}
 */
export function compare(cases, runs) {
  const times = compareRuns(cases, runs);
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

/**
 * @param {Case[]} cases
 * @param {number} runs
 * @param {{ onRound?: (round: number, times: Record<string, number[]>) => void, sync?: boolean }} [options]
 * @returns {Record<string, number[]>}
 */
export function compareRuns(cases, runs, { onRound, sync = false } = {}) {
  /** @type {Record<string, number[]>} */
  const times = Object.fromEntries(cases.map((c) => [c.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      c.before?.();
      if (sync) spawnSync('sync');
      times[c.name].push(timeOnce(c.cmd, c.args, c.opts));
      c.after?.();
    }
    onRound?.(i, times);
  }
  return times;
}

/**
 * @param {string} title
 * @param {Record<string, number>} rows
 * @param {Record<string, [value: number, goal: number]>} ratios
 */
export function report(title, rows, ratios) {
  console.log(`\n${title}`);
  for (const [name, ms] of Object.entries(rows)) console.log(`  ${name.padEnd(40)} ${ms.toFixed(1).padStart(9)} ms`);
  for (const [name, [value, goal]] of Object.entries(ratios)) {
    console.log(`  ratio ${name.padEnd(34)} ${value.toFixed(2).padStart(9)}   (goal <= ${goal}) ${value <= goal ? 'ok' : 'OVER GOAL'}`);
  }
}

/** @type {number | undefined} */
let pageKb;
function pageSizeKb() {
  pageKb ??= Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) / 1024;
  return pageKb;
}

/**
 * @template {string | undefined} T
 * @param {string} path
 * @param {T} fallback
 * @returns {string | T}
 */
const readOr = (path, fallback) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
};

/**
 * The children of every thread of `pid` (/proc/PID/task/TID/children), else a scan of /proc.
 * @param {number} pid
 * @returns {number[]}
 */
function childrenOf(pid) {
  /** @type {number[]} */
  const out = [];
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    const text = readOr(`/proc/${pid}/task/${t}/children`, undefined);
    if (text === undefined) return scanChildren(pid);
    for (const c of text.split(' ')) if (c.trim()) out.push(Number(c));
  }
  return out;
}

/**
 * @param {number} pid
 * @returns {number[]}
 */
function scanChildren(pid) {
  const out = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    const stat = readOr(`/proc/${n}/stat`, '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) out.push(Number(n));
  }
  return out;
}

/**
 * Every live process of the tree under `pid` with its resident set (VmRSS, KiB).
 * @param {number} pid
 * @returns {Proc[]}
 */
function treeRss(pid) {
  /** @type {Proc[]} */
  const procs = [];
  const stack = [pid];
  while (stack.length) {
    const p = /** @type {number} */ (stack.pop()); // the loop runs while the stack holds one
    const statm = readOr(`/proc/${p}/statm`, undefined);
    if (statm === undefined) continue;
    procs.push({ pid: p, comm: readOr(`/proc/${p}/comm`, '?').trim(), kb: Number(statm.split(' ')[1]) * pageSizeKb() });
    stack.push(...childrenOf(p));
  }
  return procs;
}

/**
 * Run a command, keeping its output lines (stdout and stderr, in the order they arrive), and
 * sample the resident memory of its whole process tree (the command and every descendant:
 * apt-get, dpkg, bwrap, ostree, …) every `intervalMs` from /proc. Resolves to the wall time,
 * the exit status, the lines, the peak of the summed VmRSS (KiB) with the processes at that
 * moment, and the peak of the command's own process. Shared pages count once per process, so
 * the sum is an upper bound; a process living less than one interval may be missed.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, intervalMs?: number }} [options]
 * @returns {Promise<Sampled>}
 */
export function runSampled(cmd, args, { env = {}, intervalMs = 20 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    /** @type {string[]} */
    const lines = [];
    /** @param {import('node:stream').Readable} stream */
    const split = (stream) => {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (/** @type {string} */ d) => {
        const parts = (rest + d).split('\n');
        rest = /** @type {string} */ (parts.pop()); // split returns one part at least
        lines.push(...parts);
      });
      stream.on('end', () => rest && lines.push(rest));
    };
    split(child.stdout);
    split(child.stderr);
    /** @type {{ kb: number, procs: Proc[] }} */
    let peak = { kb: 0, procs: [] };
    let ownKb = 0;
    let samples = 0;
    const sample = () => {
      if (!child.pid) return;
      const procs = treeRss(child.pid);
      samples++;
      const kb = procs.reduce((s, p) => s + p.kb, 0);
      if (kb > peak.kb) peak = { kb, procs };
      const own = procs.find((p) => p.pid === child.pid);
      if (own && own.kb > ownKb) ownKb = own.kb;
    };
    const timer = setInterval(sample, intervalMs);
    sample();
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearInterval(timer);
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status, signal, lines, peakKb: peak.kb, peakProcs: peak.procs, ownPeakKb: ownKb, samples });
    });
  });
}
