// Layering one small package onto the minbase sysroot: apt-ostree against the hand-written
// pipeline of the same steps (ostree checkout, apt-get in bwrap, ostree commit, ostree admin
// deploy), side by side in one run; the peak RSS of apt-ostree; how the time grows from 1 to
// 20 layered packages and with the size of the base tree.
//
// Needs the test caches (it builds them if missing): run as root after `npm run build`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './lib.mjs';
import { handLayer, setupBench, sh, BIN } from './setup.mjs';

const runs = Number(process.env.RUNS ?? 5);
const bench = await setupBench('install');
const { sysroot, repo, aptUrl, dir, base } = bench;

function timed(cmd, args, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return { ms, stderr: r.stderr, stdout: r.stdout };
}

const originFile = join(dir, 'base.origin');
writeFileSync(originFile, '[origin]\nrefspec=origin:debian/bench\n');

const aptOstree = (...args) => timed(process.execPath, [BIN, '--sysroot', sysroot, ...args]);

/** The same steps by hand, with the tools alone (no overlay, no checks, no undo). */
function handPipeline(pkgs) {
  const work = join(sysroot, 'ostree', 'bench-hand');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const tree = join(work, 'tree');
  const t0 = process.hrtime.bigint();
  sh('ostree', [`--repo=${repo}`, 'checkout', '--require-hardlinks', base, tree]);
  const commit = handLayer(tree, repo, aptUrl, pkgs);
  sh('ostree', ['admin', `--sysroot=${sysroot}`, 'deploy', `--os=debian`, commit]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  rmSync(work, { recursive: true, force: true });
  // Back to the plain base with apt-ostree's origin, for the next round.
  sh('ostree', ['admin', `--sysroot=${sysroot}`, 'deploy', '--os=debian', `--origin-file=${originFile}`, base]);
  writeFileSync(join(bench.defaultDeployment(), 'etc/apt/sources.list'), `deb [trusted=yes] ${aptUrl} ./\n`);
  return ms;
}

const ours = [];
const hand = [];
const rss = [];
for (let i = 0; i < runs; i++) {
  // apt-ostree: install, measured; then back to the base.
  const r = timed('/usr/bin/time', ['-f', '%M', process.execPath, BIN, '--sysroot', sysroot, 'install', 'bench-pkg-01']);
  ours.push(r.ms);
  rss.push(Number(r.stderr.trim().split('\n').at(-1)) / 1024);
  aptOstree('uninstall', '--all');
  hand.push(handPipeline(['bench-pkg-01']));
}

// Growth with the number of packages.
const growth = {};
for (const n of [1, 5, 20]) {
  const names = Array.from({ length: n }, (_, i) => `bench-pkg-${String(i + 1).padStart(2, '0')}`);
  const t = [];
  for (let i = 0; i < Math.max(2, Math.ceil(runs / 2)); i++) {
    t.push(aptOstree('install', ...names).ms);
    aptOstree('uninstall', '--all');
  }
  growth[n] = median(t);
}

// Growth with the size of the base: the same install on a base with 20000 more files.
const padded = await bench.paddedSysroot(20000);
const onPadded = [];
for (let i = 0; i < Math.max(2, Math.ceil(runs / 2)); i++) {
  onPadded.push(timed(process.execPath, [BIN, '--sysroot', padded, 'install', 'bench-pkg-01']).ms);
  timed(process.execPath, [BIN, '--sysroot', padded, 'uninstall', '--all']);
}

const m = (xs) => median(xs);
console.log(`\ninstall of one small package onto minbase (median of ${runs})`);
console.log(`  apt-ostree install                         ${m(ours).toFixed(0).padStart(7)} ms`);
console.log(`  hand-written pipeline (same steps)         ${m(hand).toFixed(0).padStart(7)} ms`);
const ratio = m(ours) / m(hand);
console.log(`  ratio apt-ostree / pipeline                ${ratio.toFixed(2).padStart(7)}    (goal <= 1.5) ${ratio <= 1.5 ? 'ok' : 'OVER GOAL'}`);
console.log(`  peak RSS of apt-ostree                     ${m(rss).toFixed(0).padStart(7)} MB (goal < 100) ${m(rss) < 100 ? 'ok' : 'OVER GOAL'}`);
console.log('\ngrowth with the number of layered packages');
for (const [n, ms] of Object.entries(growth)) console.log(`  ${String(n).padStart(2)} packages                                ${ms.toFixed(0).padStart(7)} ms`);
console.log('\ngrowth with the size of the base (same package)');
console.log(`  minbase (${bench.baseFiles} files)                   ${m(ours).toFixed(0).padStart(7)} ms`);
console.log(`  minbase + 20000 files                      ${m(onPadded).toFixed(0).padStart(7)} ms`);
bench.close();
