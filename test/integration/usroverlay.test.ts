/**
 * `usroverlay` (ostree admin unlock) on sysroots that are not booted: refused before any work.
 * The unlock itself needs a booted system; test/boot/in-vm.test.ts runs it in a VM. Here: a
 * hotfix-unlocked deployment (origin unlocked=hotfix) is shown as such, and a new deployment
 * made from it starts locked.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../fixtures/env.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('usroverlay', () => {
  let tmp: string;
  let s: TestSysroot;
  beforeAll(async () => {
    tmp = makeTemp('usroverlay-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0'], kargs: ['root=/dev/vda'] });
  });
  afterAll(async () => removeTemp(tmp));

  it('is refused on a sysroot that is not the running system, and with --hotfix and --transient together', async () => {
    const r = await cli(['--sysroot', s.sysroot, 'usroverlay']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/usroverlay works on the running system only; .* is not booted/);
    const both = await cli(['--sysroot', s.sysroot, 'unlock', '--hotfix', '--transient']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--hotfix and --transient cannot be used together/);
  });

  it('shows a hotfix-unlocked deployment, and a deployment made from it starts locked', async () => {
    const st = async () => JSON.parse((await cli(['--sysroot', s.sysroot, 'status', '--json'])).stdout).deployments;
    const [d] = await st();
    const origin = `${s.sysroot}/ostree/deploy/${s.os}/deploy/${d.checksum}.${d.serial}.origin`;
    appendFileSync(origin, 'unlocked=hotfix\n');
    expect((await st())[0].unlocked).toBe('hotfix');
    const text = await cli(['--sysroot', s.sysroot, 'status']);
    expect(text.stdout).toMatch(/^\s+Unlocked: hotfix$/m);
    const k = await cli(['--sysroot', s.sysroot, 'kargs', '--append=quiet']);
    expect(k.code, k.stderr).toBe(0);
    const [next, previous] = await st();
    expect(next.unlocked).toBe('none');
    expect(previous.unlocked).toBe('hotfix');
    expect(readFileSync(`${s.sysroot}/ostree/deploy/${s.os}/deploy/${next.checksum}.${next.serial}.origin`, 'utf8')).not.toMatch(/unlocked/);
  });
});
