import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, sh } from '../fixtures/env.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

/** Deployments as `ostree admin status` lists them: [osname, checksum.serial, flags]. */
function parseOstreeStatus(text: string): Array<{ os: string; id: string; pinned: boolean }> {
  const out: Array<{ os: string; id: string; pinned: boolean }> = [];
  for (const line of text.split('\n')) {
    const m = /^[* ] (\S+) ([0-9a-f]{64}\.\d+)/.exec(line);
    if (m) out.push({ os: m[1]!, id: m[2]!, pinned: false });
    else if (/Pinned: yes/.test(line) && out.length) out.at(-1)!.pinned = true;
  }
  return out;
}

describe('status on a real sysroot', () => {
  let tmp: string;
  let s: TestSysroot;
  beforeAll(async () => {
    tmp = makeTemp('status-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0', '2.0', '3.0'] });
  });
  afterAll(async () => removeTemp(tmp));

  it('lists the same deployments, in the same order, as ostree admin status', async () => {
    const ostree = parseOstreeStatus(await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'status']));
    const r = await cli(['--sysroot', s.sysroot, 'status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.deployments.map((d: { checksum: string; serial: number }) => `${d.checksum}.${d.serial}`)).toEqual(ostree.map((d) => d.id));
    expect(ostree.length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(json).sort()).toEqual(['cached-update', 'deployments', 'health', 'reboot-state', 'transaction', 'update-driver']);
    const d0 = json.deployments[0];
    expect(d0).toMatchObject({
      osname: 'debian',
      version: '3.0',
      origin: `origin:${s.ref}`,
      booted: false,
      staged: false,
      pinned: false,
      'requested-packages': [],
      'requested-local-packages': [],
      packages: [],
      'requested-base-removals': [],
      'base-removals': [],
      'regenerate-initramfs': false,
      'initramfs-args': [],
      unlocked: 'none',
    });
    expect(d0.id).toBe(`debian-${d0.checksum}.${d0.serial}`);
    expect(d0.checksum).toBe(s.commits[2]);
    const commitDate = await sh('ostree', [`--repo=${s.repo}`, 'show', s.commits[2]!]);
    const year = /Date:\s+(\d{4})-/.exec(commitDate)![1];
    expect(new Date(d0.timestamp * 1000).getUTCFullYear()).toBe(Number(year));
    expect(d0.kargs).toEqual(['root=/dev/vda', 'rw']);
  });

  it('shows a deployment pinned with ostree admin pin', async () => {
    await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'pin', '1']);
    try {
      const json = JSON.parse((await cli(['--sysroot', s.sysroot, 'status', '--json'])).stdout);
      const ostree = parseOstreeStatus(await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'status']));
      expect(json.deployments.map((d: { pinned: boolean }) => d.pinned)).toEqual(ostree.map((d) => d.pinned));
      expect(json.deployments[1].pinned).toBe(true);
      const text = (await cli(['--sysroot', s.sysroot, 'status'])).stdout;
      expect(text).toMatch(/Pinned: yes/);
    } finally {
      await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'pin', '--unpin', '1']);
    }
  });

  it('prints human output with version, commit and origin, default first', async () => {
    const r = await cli(['--sysroot', s.sysroot, 'status']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^State: idle/);
    const first = r.stdout.indexOf(s.commits[2]!);
    const second = r.stdout.indexOf(s.commits[1]!);
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first);
    expect(r.stdout).toContain(`debian:origin:${s.ref}`);
    expect(r.stdout).toMatch(/Version: 3\.0 \(\d{4}-\d\d-\d\dT/);
    expect(r.stdout).not.toContain('●'); // nothing is booted in a sysroot directory
  });

  it('supports --jsonpath and --booted', async () => {
    const r = await cli(['--sysroot', s.sysroot, 'status', '--jsonpath', '$.deployments[*].version']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['3.0', '2.0']);
    const b = await cli(['--sysroot', s.sysroot, 'status', '--booted', '--json']);
    expect(JSON.parse(b.stdout).deployments).toEqual([]);
    const bad = await cli(['--sysroot', s.sysroot, 'status', '--jsonpath', '$.deployments[?(@.x)]']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Invalid --jsonpath/);
  });

  it('--pending-exit-77 exits 0 on a sysroot that is not the running system, whatever it holds (booted systems: test/boot/in-vm)', async () => {
    const r = await cli(['--sysroot', s.sysroot, 'status', '--pending-exit-77']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Deployments:/);
  });

  it('works for a non-root user who can read the sysroot', async () => {
    const r = await cli(['--sysroot', s.sysroot, 'status', '--json'], { uid: 65534 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).deployments.length).toBeGreaterThan(0);
  });

  it('fails clearly on a directory that is not a sysroot, and on an unknown stateroot', async () => {
    const r = await cli(['--sysroot', tmp, 'status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not an OSTree sysroot/);
    expect(r.stderr).not.toMatch(/at .*\.js/); // no stack trace without -v
    const os = await cli(['--sysroot', s.sysroot, '--os', 'nope', 'status']);
    expect(os.code).toBe(1);
    expect(os.stderr).toMatch(/no stateroot named 'nope'/);
  });
});

describe('command line', () => {
  it('--help and --version work without a sysroot or root', async () => {
    const h = await cli(['--help'], { uid: 65534 });
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/status/);
    const v = await cli(['--version'], { uid: 65534 });
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/Version: '\d+\.\d+\.\d+'/);
    expect(v.stdout).toMatch(/Features:/);
  });

  it('rejects unknown commands and options with exit 1', async () => {
    const c = await cli(['frobnicate']);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/frobnicate/);
    const o = await cli(['status', '--frobnicate']);
    expect(o.code).toBe(1);
    expect(o.stderr).toMatch(/frobnicate/);
  });
});
