/**
 * A refused command changes nothing: not a byte, not a timestamp. Every entry of the sysroot
 * and of the directory around it (type, size, mode, owner, mtime, link target) is listed before
 * and after, nothing skipped, and the two lists must be equal.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureDir, type CliResult } from '../fixtures/env.js';
import { fsSnapshot, sleepyEditor, snapshotDiff, startCli, waitUntil, type BackgroundRun } from '../fixtures/faults.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('refused commands leave the file system byte-identical', () => {
  let tmp: string;
  /** The directory around the sysroot (and the other paths the commands are pointed at). */
  let parent: string;
  let s: TestSysroot;
  let notSysroot: string;
  beforeAll(async () => {
    tmp = makeTemp('faults-refused-');
    parent = ensureDir(join(tmp, 'parent'));
    s = await makeSyntheticSysroot(parent, { versions: ['1.0'] });
    // One transaction has run, so the lock files exist as they do on a used system.
    const k = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'used=1']);
    if (k.code !== 0) throw new Error(k.stderr);
    notSysroot = ensureDir(join(parent, 'not-a-sysroot'));
    writeFileSync(join(notSysroot, 'file'), 'an ordinary directory\n');
    mkdirSync(join(notSysroot, 'ostree')); // even one that looks a little like a sysroot
  });
  afterAll(async () => removeTemp(tmp));

  /** Run the command, and check it was refused and that nothing under `parent` changed. */
  async function expectRefusedUnchanged(args: string[], opts: Parameters<typeof cli>[1] = {}): Promise<CliResult> {
    const before = fsSnapshot([parent]);
    const r = await cli(args, opts);
    const after = fsSnapshot([parent]);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.code, r.stderr).not.toBe(77);
    expect(r.stderr).not.toMatch(/This is a bug/);
    expect(snapshotDiff(before, after), 'entries that changed').toEqual([]);
    return r;
  }

  it('install as a user other than root', async () => {
    const r = await expectRefusedUnchanged(['--sysroot', s.sysroot, 'install', 'hello'], { uid: 65534 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/must run as root/);
  });

  it('install into a directory that is not a sysroot', async () => {
    const r = await expectRefusedUnchanged(['--sysroot', notSysroot, 'install', 'hello']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not an OSTree sysroot/);
  });

  it('install into a path that does not exist: it is not created', async () => {
    const missing = join(parent, 'missing', 'sysroot');
    const r = await expectRefusedUnchanged(['--sysroot', missing, 'install', 'hello']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not an OSTree sysroot/);
    expect(existsSync(join(parent, 'missing'))).toBe(false);
  });

  it('an unknown option', async () => {
    const r = await expectRefusedUnchanged(['--sysroot', s.sysroot, 'install', '--no-such-option', 'hello']);
    expect(r.stderr).toMatch(/no-such-option/);
  });

  it('a package name that is not one', async () => {
    const r = await expectRefusedUnchanged(['--sysroot', s.sysroot, 'install', 'Bad_Name']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Bad_Name/);
  });

  it('install on a sysroot locked by another transaction', async () => {
    const ed = sleepyEditor(tmp, 'holder', 30);
    let holder: BackgroundRun | undefined;
    try {
      holder = startCli(['--sysroot', s.sysroot, 'kargs', '--editor'], { env: { EDITOR: ed.path, VISUAL: '' } });
      await waitUntil(() => existsSync(ed.pidFile), 'the holder to be inside its transaction');
      // The holder's lock library touches its lock directory every 10 s: start well before the
      // next touch (or right after it).
      const lockDir = join(s.sysroot, 'ostree', 'apt-ostree.lock');
      const touched = statSync(lockDir).mtimeMs;
      if (Date.now() - touched > 4000) await waitUntil(() => statSync(lockDir).mtimeMs !== touched, 'the lock directory to be touched', 15_000);
      const r = await expectRefusedUnchanged(['--sysroot', s.sysroot, 'install', 'hello']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/locked by 'apt-ostree .*kargs --editor'/);
    } finally {
      holder?.signal('SIGTERM');
      await holder?.result;
    }
  });
});
