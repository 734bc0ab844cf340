// Work directories of a transaction (an integration test because it needs root; moved from
// test/unit/engine/transaction/): one per request, removed at the end whatever happens, and
// removable early in the background (discardWorkDir) without the end forgetting to wait for it.
// Needs root (Transaction.run refuses otherwise) and nothing else: a plain directory with the two
// paths that make a sysroot (ostree/repo/config, ostree/deploy) serves, since only the lock and
// the work root live in it.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Reporter } from '../../src/output/reporter.js';
import { Transaction } from '../../src/engine/transaction/transaction.js';
import { workRootOf } from '../../src/engine/state-paths.js';

/** A directory with `n` files in a few subdirectories (a small stand-in for a checkout). */
function fill(dir: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const sub = join(dir, 'tree', String(i % 10));
    if (i < 10) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}`), 'x');
  }
}

describe('transaction work directories', () => {
  let sysroot: string;
  const txOpts = () => ({ sysrootPath: sysroot, command: 'test', title: 'test', reporter: new Reporter() });
  beforeEach(() => {
    sysroot = mkdtempSync(join(tmpdir(), 'tx-work-'));
    mkdirSync(join(sysroot, 'ostree', 'repo'), { recursive: true });
    mkdirSync(join(sysroot, 'ostree', 'deploy'));
    writeFileSync(join(sysroot, 'ostree', 'repo', 'config'), '[core]\nrepo_version=1\nmode=bare\n');
  });
  afterEach(() => rmSync(sysroot, { recursive: true, force: true }));

  it('gives each request its own directory, and removes all of them at the end', async () => {
    const seen = await Transaction.run(txOpts(), async (tx) => {
      const a = tx.workDir('layer');
      const b = tx.workDir('layer');
      const c = tx.workDir('other');
      expect(new Set([a, b, c]).size).toBe(3);
      for (const d of [a, b, c]) expect(existsSync(d)).toBe(true);
      return [a, b, c];
    });
    for (const d of seen) expect(existsSync(d)).toBe(false);
    expect(readdirSync(workRootOf(sysroot))).toEqual([]);
  });

  it('discardWorkDir removes a directory while the body goes on; the end waits for it', async () => {
    let dir = '';
    await Transaction.run(txOpts(), async (tx) => {
      dir = tx.workDir('layer');
      fill(dir, 3000);
      tx.discardWorkDir(dir);
      tx.discardWorkDir(dir); // a second call changes nothing
      const next = tx.workDir('layer');
      expect(next).not.toBe(dir);
      writeFileSync(join(next, 'kept-until-the-end'), 'x');
    });
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(workRootOf(sysroot))).toEqual([]);
  });

  it('a failing body still waits for the background removal and removes everything', async () => {
    let dir = '';
    const err = await Transaction.run(txOpts(), async (tx) => {
      dir = tx.workDir('layer');
      fill(dir, 3000);
      tx.discardWorkDir(dir);
      throw new Error('step failed');
    }).catch((e: Error) => e);
    expect((err as Error).message).toBe('step failed');
    expect(existsSync(dir)).toBe(false);
    expect(readdirSync(workRootOf(sysroot))).toEqual([]);
    expect(existsSync(join(sysroot, 'ostree', 'apt-ostree.lock'))).toBe(false);
  });

  it('refuses a directory that is not a sysroot, creating nothing in it', async () => {
    const plain = mkdtempSync(join(tmpdir(), 'tx-plain-'));
    try {
      const err = await Transaction.run({ ...txOpts(), sysrootPath: plain }, async () => 'ran').catch((e: Error) => e);
      expect((err as Error).message).toMatch(/is not an OSTree sysroot/);
      expect(readdirSync(plain)).toEqual([]);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });
});
