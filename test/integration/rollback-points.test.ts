/**
 * Issue 29's rollback points on a sysroot directory: [Updates] KeepRollbacks=N keeps N earlier
 * deployments through upgrades, `pin`/`unpin` (ostree's own pin, as `ostree admin status` shows
 * it) keep one through new deployments and `cleanup -r`, and `rollback --to INDEX` makes any
 * kept deployment the default; `status` shows each deployment's index and its pin.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sysroot } from '../../src/engine/deployments/sysroot.js';
import { cli, fsckClean, sh } from '../fixtures/env.js';
import { commitSyntheticBase, makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('rollback points', () => {
  let tmp: string;
  let s: TestSysroot;

  /** The versions in boot order, with a * on the pinned ones, as apt-ostree's status --json says. */
  const order = async () => {
    const r = await cli(['--sysroot', s.sysroot, 'status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).deployments.map((d: { version: string; pinned: boolean }) => `${d.version}${d.pinned ? '*' : ''}`);
  };
  /** The same from ostree itself: `ostree admin status` marks pins with "Pinned: yes". */
  const ostreePins = async () => {
    const text = await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'status']);
    return text.split(/\n(?=[* ] \S+ [0-9a-f]{64}\.\d+)/).map((block) => /Pinned: yes/.test(block));
  };
  const setKeep = (n: number) => {
    const etc = join(Sysroot.load(s.sysroot).deployments[0]!.path, 'etc', 'apt-ostree');
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'apt-ostree.conf'), `[Updates]\nKeepRollbacks=${n}\n`);
  };
  const upgradeTo = async (version: string) => {
    await commitSyntheticBase(s.srcRepo, s.ref, version, tmp);
    const r = await cli(['--sysroot', s.sysroot, 'upgrade']);
    expect(r.code, r.stderr).toBe(0);
  };
  const ok = async (...args: string[]) => {
    const r = await cli(['--sysroot', s.sysroot, ...args]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    tmp = makeTemp('rollback-points-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0', '2.0'] });
  });
  afterAll(async () => removeTemp(tmp));

  it('KeepRollbacks=3 keeps three earlier deployments through upgrades, and drops the fourth', async () => {
    expect(await order()).toEqual(['2.0', '1.0']);
    setKeep(3);
    await upgradeTo('3.0');
    await upgradeTo('4.0');
    expect(await order()).toEqual(['4.0', '3.0', '2.0', '1.0']);
    await upgradeTo('5.0');
    expect(await order()).toEqual(['5.0', '4.0', '3.0', '2.0']);
    await fsckClean(s.repo);
  });

  it('a pinned deployment survives new deployments with KeepRollbacks=1 and cleanup -r; status shows index and pin', async () => {
    const out = await ok('pin', '3');
    expect(out).toMatch(/^Pinned .*2\.0.*apt-ostree unpin 3/);
    expect(await order()).toEqual(['5.0', '4.0', '3.0', '2.0*']);
    expect(await ostreePins()).toEqual([false, false, false, true]);
    expect(await ok('pin', '3')).toMatch(/already pinned; nothing was changed/);

    setKeep(1);
    await upgradeTo('6.0');
    expect(await order()).toEqual(['6.0', '5.0', '2.0*']);
    await ok('cleanup', '-r');
    expect(await order()).toEqual(['6.0', '2.0*']);
    const text = await ok('status');
    expect(text).toMatch(/Version: 2\.0 .*\n\s+Index: 1\n/);
    expect(text).toMatch(/^\s+Pinned: yes$/m);
  });

  it('rollback --to INDEX makes a kept deployment the default; unpin lets cleanup remove it', async () => {
    await upgradeTo('7.0');
    expect(await order()).toEqual(['7.0', '6.0', '2.0*']);
    expect(await ok('rollback', '--to', '2')).toMatch(/Default deployment is now .*2\.0.*; the previous default .*7\.0.* is the rollback/);
    expect(await order()).toEqual(['2.0*', '7.0', '6.0']);
    const [last] = JSON.parse(await ok('history', '--json', '-n', '1'));
    expect(last).toMatchObject({ title: 'rollback --to 2', outcome: 'succeeded', from: { version: '7.0' }, to: { version: '2.0' } });

    await ok('unpin', '0');
    expect(await order()).toEqual(['2.0', '7.0', '6.0']);
    expect(await ostreePins()).toEqual([false, false, false]);
    await ok('rollback');
    await ok('cleanup', '-r');
    expect(await order()).toEqual(['7.0']);
    await fsckClean(s.repo);
  });

  it('refuses an index that is not there, and --to the default, changing nothing', async () => {
    const before = await order();
    const pin = await cli(['--sysroot', s.sysroot, 'pin', '9']);
    expect(pin.code).toBe(1);
    expect(pin.stderr).toMatch(/There is no deployment 9 to pin: the sysroot has only deployment 0\./);
    const bad = await cli(['--sysroot', s.sysroot, 'unpin', 'x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/'x' is not a deployment index/);
    const same = await cli(['--sysroot', s.sysroot, 'rollback', '--to', '0']);
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/Deployment 0 .* is already the default\./);
    expect(await order()).toEqual(before);
  });
});
