// `apt-ostree compose tree examples/minimal-bookworm.yaml` (fresh archive repo, warm --cachedir)
// against the plain pipeline a person would script by hand: mmdebstrap of the same package set
// (same .deb cache, through the same mmdebstrap hooks) plus `ostree commit` into a fresh archive
// repo. Measured side by side, alternating, in one run. Goal: compose/plain <= 1.3.
//
//   sudo node bench/compose.mjs          (RUNS=3 for more rounds; BENCH_DIR to move the scratch space;
//                                         APT_OSTREE_BIN=PATH to measure another build)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, report, timeOnce } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// APT_OSTREE_BIN measures another build (its lib/ beside its bin/).
const bin = process.env.APT_OSTREE_BIN ?? join(root, 'bin', 'apt-ostree');
const binRoot = join(dirname(bin), '..');
const manifestPath = join(root, 'examples', 'minimal-bookworm.yaml');
const runs = Number(process.env.RUNS ?? 1);
const benchDir = process.env.BENCH_DIR ?? '/var/tmp/apt-ostree-bench';
const cache = join(benchDir, 'cache');
mkdirSync(cache, { recursive: true });

const { CACHE_IN_HOOK, CACHE_OUT_HOOK, mmdebstrapArgs } = await import(join(binRoot, 'lib/system/mmdebstrap.js'));
const { parseManifest, sourcesOf } = await import(join(binRoot, 'lib/image/manifest.js'));
const manifest = parseManifest(readFileSync(manifestPath, 'utf8'), manifestPath);
const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();

// Warm the cache once (untimed): a compose downloads every .deb of the image into it.
const debs = () => (existsSync(join(cache, 'archives')) ? readdirSync(join(cache, 'archives')).filter((n) => n.endsWith('.deb')).length : 0);
if (debs() < 50) {
  console.log(`warming the package cache in ${cache} ...`);
  const warm = mkdtempSync(join(benchDir, 'warm-'));
  try {
    timeOnce(process.execPath, [bin, 'compose', 'tree', manifestPath, '--repo', join(warm, 'repo'), '--cachedir', cache]);
  } finally {
    rmSync(warm, { recursive: true, force: true });
  }
}
console.log(`package cache: ${debs()} .debs in ${join(cache, 'archives')}`);

function composeOnce() {
  const dir = mkdtempSync(join(benchDir, 'compose-'));
  try {
    return timeOnce(process.execPath, [bin, 'compose', 'tree', manifestPath, '--repo', join(dir, 'repo'), '--cachedir', cache]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function plainOnce() {
  const dir = mkdtempSync(join(benchDir, 'plain-'));
  try {
    const t0 = process.hrtime.bigint();
    const tree = join(dir, 'rootfs');
    const args = mmdebstrapArgs({
      suite: manifest.suite,
      target: tree,
      sources: sourcesOf(manifest),
      variant: manifest.variant,
      architecture: arch,
      include: manifest.packages,
      skip: ['essential/unlink'],
      setupHooks: [CACHE_IN_HOOK],
      customizeHooks: [CACHE_OUT_HOOK],
    });
    execFileSync('mmdebstrap', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, APT_OSTREE_DEBS: join(cache, 'archives') } });
    // mmdebstrap's /dev holds device nodes that ostree commit refuses (no --skip avoids them
    // in directory mode): the least a by-hand pipeline must do.
    execFileSync('find', [join(tree, 'dev'), '-mindepth', '1', '-delete']);
    const repo = join(dir, 'repo');
    execFileSync('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
    execFileSync('ostree', [`--repo=${repo}`, 'commit', `--branch=${manifest.ref}`, `--tree=dir=${tree}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    rmSync(tree, { recursive: true, force: true });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** @type {{ compose: number[], plain: number[] }} */
const times = { compose: [], plain: [] };
for (let i = 0; i < runs; i++) {
  // Alternate which goes first, so that page-cache warmth and machine noise hit both alike.
  if (i % 2 === 0) {
    times.plain.push(plainOnce());
    times.compose.push(composeOnce());
  } else {
    times.compose.push(composeOnce());
    times.plain.push(plainOnce());
  }
  // Both were pushed just above: at(-1) is a number.
  const [composeMs, plainMs] = /** @type {[number, number]} */ ([times.compose.at(-1), times.plain.at(-1)]);
  console.log(`round ${i + 1}: compose ${(composeMs / 1000).toFixed(1)} s, plain ${(plainMs / 1000).toFixed(1)} s`);
}
const compose = median(times.compose);
const plain = median(times.plain);
report(
  `compose tree of ${manifestPath.replace(`${root}/`, '')} (median of ${runs}, warm package cache)`,
  { 'apt-ostree compose tree': compose, 'mmdebstrap + ostree commit (plain)': plain },
  { 'compose / plain': [compose / plain, 1.3] },
);
