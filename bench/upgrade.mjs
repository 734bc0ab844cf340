// An upgrade that re-applies 5 layered packages onto a new base: `apt-ostree upgrade` against
// the hand-written pipeline of the same steps (ostree pull, checkout of the new base, apt-get
// in bwrap, ostree commit, ostree admin deploy), side by side in one run. Goal: ratio <= 1.5.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './lib.mjs';
import { BIN, handLayer, setupBench, sh } from './setup.mjs';

const runs = Number(process.env.RUNS ?? 3);
const bench = await setupBench('upgrade');
const { sysroot, repo, aptUrl, dir } = bench;
const srv = join(dir, 'srv-repo');
const pkgs = ['bench-pkg-01', 'bench-pkg-02', 'bench-pkg-03', 'bench-pkg-04', 'bench-pkg-05'];

/**
 * @param {string} cmd
 * @param {string[]} args
 * @returns {number}
 */
function timed(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

let n = 0;
/** A new base commit on the server: the previous one plus one file. */
function publish() {
  n++;
  const extra = join(dir, `extra-${n}`);
  mkdirSync(join(extra, 'usr/share/bench'), { recursive: true });
  writeFileSync(join(extra, 'usr/share/bench/version'), `${n}\n`);
  sh('ostree', [`--repo=${srv}`, 'commit', '--branch=debian/bench', '--no-bindings', '--tree=ref=debian/bench', `--tree=dir=${extra}`, '--keep-metadata=aptostree.dpkg.pkglist', `--add-metadata-string=version=1.${n}`]);
  return sh('ostree', [`--repo=${srv}`, 'rev-parse', 'debian/bench']).trim();
}

function handPipeline() {
  const newBase = publish();
  const work = join(sysroot, 'ostree', 'bench-hand');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const tree = join(work, 'tree');
  const t0 = process.hrtime.bigint();
  sh('ostree', [`--repo=${repo}`, 'pull', 'origin', 'debian/bench']);
  sh('ostree', [`--repo=${repo}`, 'checkout', '--require-hardlinks', newBase, tree]);
  const commit = handLayer(tree, repo, aptUrl, pkgs);
  sh('ostree', ['admin', `--sysroot=${sysroot}`, 'deploy', '--os=debian', '--retain', commit]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  rmSync(work, { recursive: true, force: true });
  // Put apt-ostree's layered deployment back as the default for its next round.
  sh('ostree', ['admin', `--sysroot=${sysroot}`, 'undeploy', '0']);
  return ms;
}

timed(process.execPath, [BIN, '--sysroot', sysroot, 'install', ...pkgs]);
const ours = [];
const hand = [];
for (let i = 0; i < runs; i++) {
  publish();
  ours.push(timed(process.execPath, [BIN, '--sysroot', sysroot, 'upgrade']));
  hand.push(handPipeline());
}
const ratio = median(ours) / median(hand);
console.log(`\nupgrade to a new base re-applying 5 layered packages (median of ${runs})`);
console.log(`  apt-ostree upgrade                         ${median(ours).toFixed(0).padStart(7)} ms`);
console.log(`  hand-written pipeline (same steps)         ${median(hand).toFixed(0).padStart(7)} ms`);
console.log(`  ratio apt-ostree / pipeline                ${ratio.toFixed(2).padStart(7)}    (goal <= 1.5) ${ratio <= 1.5 ? 'ok' : 'OVER GOAL'}`);
bench.close();
