/**
 * The benchmarks still run against the apt-ostree of this tree (one round each, on the small
 * base). Nothing here looks at a time: goals are for people (docs/benchmarks.md). This only
 * catches a benchmark that no longer works, as happened when provisioning began to refuse
 * unsigned images and sysroots began to boot through GRUB, and nobody ran the benchmarks.
 * The compose and deltas benchmarks are left out: they take minutes and the network.
 */
import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../fixtures/env.js';

async function bench(name: string, env: Record<string, string>) {
  const r = await execa(process.execPath, [join(PROJECT_ROOT, 'bench', `${name}.mjs`)], { env: { RUNS: '1', ...env }, reject: false, all: true });
  expect(r.exitCode, r.all).toBe(0);
  return r.stdout;
}

describe('bench/', () => {
  it('status.mjs prints its ratio and goal', async () => {
    expect(await bench('status', {})).toMatch(/ratio status --json \/ node -e 0\s+\d+\.\d+\s+\(goal <= 1\.3\)/);
  });

  it('upgrade.mjs prints its ratio and goal', async () => {
    expect(await bench('upgrade', {})).toMatch(/ratio apt-ostree \/ pipeline\s+\d+\.\d+\s+\(goal <= 1\.5\)/);
  });

  it('install.mjs on the small base prints every goal of issue 19 and the peak memory', async () => {
    const out = await bench('install', { BENCH_BASES: 'small' });
    for (const goal of ['install / (plain install + deploy --retain) <= 1.3', 'uninstall / (plain purge + plain deploy) <= 1.3']) {
      expect(out).toContain(goal);
    }
    expect(out).toMatch(/peak RSS, process tree of one install \(no goal\)\s+\d+ MB/);
    expect(out).toMatch(/Writing the new deployment\s+\d/); // the -v phase table of one install
  }, 600_000);
});
