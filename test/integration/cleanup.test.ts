import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureDir, fsckClean, sh } from '../fixtures/env.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

async function ostreeIds(sysroot: string): Promise<Array<{ id: string; pinned: boolean }>> {
  const text = await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'status']);
  const out: Array<{ id: string; pinned: boolean }> = [];
  for (const line of text.split('\n')) {
    const m = /^[* ] \S+ ([0-9a-f]{64}\.\d+)/.exec(line);
    if (m) out.push({ id: m[1]!, pinned: false });
    else if (/^\s+Pinned: yes/.test(line) && out.length) out.at(-1)!.pinned = true;
  }
  return out;
}

async function refs(repo: string): Promise<string[]> {
  return (await sh('ostree', [`--repo=${repo}`, 'refs'])).split('\n').filter(Boolean).sort();
}

/** Three deployments: the fixture's two plus a third (retained) of the newest commit. */
async function threeDeployments(dir: string): Promise<TestSysroot> {
  const s = await makeSyntheticSysroot(ensureDir(dir), { versions: ['1.0', '2.0'] });
  await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'deploy', '--retain', '--no-prune', `--os=${s.os}`, `${s.remote}:${s.ref}`]);
  return s;
}

describe('cleanup', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = makeTemp('cleanup-');
  });
  afterAll(async () => removeTemp(tmp));

  it('needs at least one flag', async () => {
    const s = await makeSyntheticSysroot(ensureDir(join(tmp, 'noflag')), { versions: ['1.0'] });
    const r = await cli(['--sysroot', s.sysroot, 'cleanup']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/-p\/--pending, -r\/--rollback, -b\/--base, -m\/--repomd/);
  });

  it('-p on a sysroot directory: nothing is pending', async () => {
    const s = await threeDeployments(join(tmp, 'pending'));
    const before = await ostreeIds(s.sysroot);
    const r = await cli(['--sysroot', s.sysroot, 'cleanup', '-p']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/No pending deployment/);
    expect(r.stdout).toMatch(/Deployments removed: 0/);
    expect(await ostreeIds(s.sysroot)).toEqual(before);
  });

  it('-r removes the rollback deployments, keeps pinned ones and the default, and reports what was freed', async () => {
    const s = await threeDeployments(join(tmp, 'rollback'));
    await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'pin', '2']);
    const before = await ostreeIds(s.sysroot);
    expect(before).toHaveLength(3);
    const r = await cli(['--sysroot', s.sysroot, 'cleanup', '--rollback']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Keeping the rollback deployment .* it is pinned/);
    expect(r.stdout).toMatch(/Deployments removed: 1/);
    expect(r.stdout).toMatch(/Freed: .* from the repository/);
    const after = await ostreeIds(s.sysroot);
    expect(after.map((d) => d.id)).toEqual([before[0]!.id, before[2]!.id]);
    expect(after[1]!.pinned).toBe(true);
    expect(existsSync(join(s.sysroot, 'ostree/deploy', s.os, 'deploy', before[1]!.id))).toBe(false);
    await fsckClean(s.repo);
    // Nothing left to remove but the pinned one.
    const again = await cli(['--sysroot', s.sysroot, 'cleanup', '-r']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Deployments removed: 0/);
    expect((await ostreeIds(s.sysroot)).map((d) => d.id)).toEqual(after.map((d) => d.id));
  });

  it('-b drops unused layered refs and their objects and the downloaded packages, keeps used ones', async () => {
    const s = await makeSyntheticSysroot(ensureDir(join(tmp, 'base')), { versions: ['1.0', '2.0'] });
    const deployed = (await ostreeIds(s.sysroot))[0]!.id.split('.')[0]!;
    // An orphaned layered commit with content of its own (as a dropped layered deployment leaves).
    const tree = ensureDir(join(tmp, 'orphan-tree', 'usr', 'share'));
    writeFileSync(join(tree, 'blob'), randomBytes(256 * 1024));
    await sh('ostree', [`--repo=${s.repo}`, 'commit', '--branch=aptostree/layered/debian', '--subject=orphan', `--tree=dir=${join(tmp, 'orphan-tree')}`]);
    await sh('ostree', [`--repo=${s.repo}`, 'refs', '--create=aptostree/layered/inuse', deployed]);
    const cache = join(s.sysroot, 'ostree/deploy', s.os, 'var/cache/apt-ostree');
    mkdirSync(join(cache, 'archives/partial'), { recursive: true });
    mkdirSync(join(cache, 'lists'), { recursive: true });
    writeFileSync(join(cache, 'archives/hello_1.0_amd64.deb'), randomBytes(64 * 1024));
    writeFileSync(join(cache, 'archives/partial/hello_2.0_amd64.deb'), 'partial');
    writeFileSync(join(cache, 'archives/lock'), '');
    writeFileSync(join(cache, 'lists/deb.debian.org_Packages'), 'Package: x\n');
    const before = await ostreeIds(s.sysroot);

    const r = await cli(['--sysroot', s.sysroot, 'cleanup', '-b']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Removed the unused ref aptostree\/layered\/debian/);
    const freed = /Freed: ([\d.]+) (B|kB|MB) from the repository \((\d+) objects?\), ([\d.]+) (B|kB|MB) of package cache/.exec(r.stdout);
    expect(freed, r.stdout).not.toBeNull();
    expect(Number(freed![3])).toBeGreaterThan(0);
    expect(freed![2]).not.toBe('B'); // at least the 256 kB blob
    expect(freed![5]).toBe('kB');
    const left = await refs(s.repo);
    expect(left).toContain('aptostree/layered/inuse');
    expect(left).not.toContain('aptostree/layered/debian');
    expect(readdirSync(join(cache, 'archives')).sort()).toEqual(['lock', 'partial']);
    expect(readdirSync(join(cache, 'archives/partial'))).toEqual([]);
    expect(existsSync(join(cache, 'lists/deb.debian.org_Packages'))).toBe(true);
    expect(await ostreeIds(s.sysroot)).toEqual(before);
    await fsckClean(s.repo);

    const m = await cli(['--sysroot', s.sysroot, 'cleanup', '--repomd']);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/Removed the cached package lists/);
    // The repository is not measured (nor touched) for -m alone.
    expect(m.stdout).toMatch(/Freed: [\d.]+ (B|kB|MB) of package cache$/m);
    expect(existsSync(join(cache, 'lists'))).toBe(false);
    expect(await ostreeIds(s.sysroot)).toEqual(before);
  });

  it('a non-root user is refused before anything is removed', async () => {
    const s = await threeDeployments(join(tmp, 'nonroot'));
    const before = await ostreeIds(s.sysroot);
    const r = await cli(['--sysroot', s.sysroot, 'cleanup', '-r'], { uid: 65534 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sudo/);
    expect(await ostreeIds(s.sysroot)).toEqual(before);
  });
});
