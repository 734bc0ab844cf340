import { readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir } from '../fixtures/env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, fsckClean, sh } from '../fixtures/env.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';
import { GRUB_GENERATOR } from '../../src/system/ostree.js';

/** `checksum.serial` of each deployment, in the order `ostree admin status` lists them. */
async function ostreeOrder(sysroot: string): Promise<string[]> {
  const text = await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'status']);
  return [...text.matchAll(/^[* ] \S+ ([0-9a-f]{64}\.\d+)/gm)].map((m) => m[1]!);
}

/** Everything that describes the boot configuration: links and entry files with contents. */
function bootSnapshot(sysroot: string): string {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(sysroot, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(rel, e.name);
      if (p === 'ostree/repo' || p === 'ostree/deploy' || p.startsWith('ostree/apt-ostree')) continue;
      if (e.isSymbolicLink()) out.push(`${p} -> ${readlinkSync(join(sysroot, p))}`);
      else if (e.isDirectory()) {
        if (p !== 'boot/boot') walk(p);
      } else out.push(`${p}:\n${readFileSync(join(sysroot, p), 'utf8')}`);
    }
  };
  walk('boot');
  walk('ostree');
  return out.join('\n');
}

/** A sysroot with three deployments: 3.0 twice (sharing a kernel) and 2.0. */
async function threeDeployments(dir: string): Promise<TestSysroot> {
  const s = await makeSyntheticSysroot(dir, { versions: ['1.0', '2.0', '3.0'] });
  await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'deploy', '--retain', '--no-prune', `--os=${s.os}`, `${s.remote}:${s.ref}`]);
  return s;
}

/** A fresh subdirectory of the test's temporary directory. */
function sub(tmp: string, name: string): string {
  return ensureDir(join(tmp, name));
}

describe('rollback', () => {
  let tmp: string;
  let s: TestSysroot;
  beforeAll(async () => {
    tmp = makeTemp('rollback-');
    s = await threeDeployments(sub(tmp, 'a'));
  });
  afterAll(async () => removeTemp(tmp));

  it('swaps the default and the rollback; a second rollback returns to the start', async () => {
    const start = await ostreeOrder(s.sysroot);
    expect(start).toHaveLength(3);
    const startSnapshot = bootSnapshot(s.sysroot);

    const r1 = await cli(['--sysroot', s.sysroot, 'rollback']);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stdout).toMatch(/Default deployment is now/);
    const swapped = await ostreeOrder(s.sysroot);
    expect(swapped).toEqual([start[1], start[0], start[2]]);
    await fsckClean(s.repo);
    // Our status reads the same order as ostree.
    const json = JSON.parse((await cli(['--sysroot', s.sysroot, 'status', '--json'])).stdout);
    expect(json.deployments.map((d: { checksum: string; serial: number }) => `${d.checksum}.${d.serial}`)).toEqual(swapped);
    // The kernel arguments stay with their deployments.
    expect(json.deployments[0].kargs).toEqual(['root=/dev/vda', 'rw']);

    const r2 = await cli(['--sysroot', s.sysroot, 'rollback']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(await ostreeOrder(s.sysroot)).toEqual(start);
    await fsckClean(s.repo);
    // Two bootversion switches bring back the very same files and links.
    expect(bootSnapshot(s.sysroot)).toBe(startSnapshot);
  });

  it('leaves the boot configuration libostree writes (entries, versions, titles, boot links)', async () => {
    const before = await ostreeOrder(s.sysroot);
    const r = await cli(['--sysroot', s.sysroot, 'rollback']);
    expect(r.code, r.stderr).toBe(0);
    const loader = readlinkSync(join(s.sysroot, 'boot', 'loader'));
    const bootN = readlinkSync(join(s.sysroot, 'ostree', `boot.${loader.slice(-1)}`));
    expect(bootN).toMatch(new RegExp(`^boot\\.${loader.slice(-1)}\\.[01]$`));
    const entriesDir = join(s.sysroot, 'boot', loader, 'entries');
    const entries = readdirSync(entriesDir).sort();
    expect(entries).toEqual(['ostree-1-debian.conf', 'ostree-2-debian.conf', 'ostree-3-debian.conf']);
    const after = await ostreeOrder(s.sysroot);
    for (const [i, id] of after.entries()) {
      const text = readFileSync(join(entriesDir, `ostree-${3 - i}-debian.conf`), 'utf8');
      expect(text).toMatch(new RegExp(`^version ${3 - i}$`, 'm'));
      expect(text).toMatch(new RegExp(`^title .*\\(ostree:${i}\\)$`, 'm'));
      const link = /ostree=(\S+)/.exec(text)![1]!;
      expect(link).toMatch(new RegExp(`^/ostree/boot\\.${loader.slice(-1)}/debian/[0-9a-f]{64}/\\d$`));
      expect(readlinkSync(join(s.sysroot, link))).toBe(`../../../deploy/debian/deploy/${id}`);
    }
    // Only the current boot version is left behind.
    expect(readdirSync(join(s.sysroot, 'boot')).filter((n) => n.startsWith('loader')).sort()).toEqual(['loader', loader]);
    expect(readdirSync(join(s.sysroot, 'ostree')).filter((n) => n.startsWith('boot.')).sort()).toEqual([`boot.${loader.slice(-1)}`, bootN]);
    expect(after).toEqual([before[1], before[0], before[2]]);
  });

  it('leaves a configuration that ostree admin deploy, undeploy and cleanup keep working on', async () => {
    const start = await ostreeOrder(s.sysroot);
    const r0 = await cli(['--sysroot', s.sysroot, 'rollback']);
    expect(r0.code, r0.stderr).toBe(0);
    const afterRollback = await ostreeOrder(s.sysroot);
    expect(afterRollback).toEqual([start[1], start[0], start[2]]);
    await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'undeploy', '2']);
    expect(await ostreeOrder(s.sysroot)).toEqual(afterRollback.slice(0, 2));
    // (The ref's commit: libostree's reorder prunes commits that nothing references, as set-default does.)
    await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'deploy', '--retain', '--no-prune', `--os=${s.os}`, `${s.remote}:${s.ref}`]);
    const afterDeploy = await ostreeOrder(s.sysroot);
    expect(afterDeploy).toHaveLength(3);
    expect(afterDeploy[0]).toMatch(new RegExp(`^${s.commits.at(-1)}\\.`));
    expect(afterDeploy.slice(1)).toEqual(afterRollback.slice(0, 2));
    await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'cleanup']);
    expect(await ostreeOrder(s.sysroot)).toEqual(afterDeploy);
    await fsckClean(s.repo);
    // And rollback works again on what ostree wrote.
    const r = await cli(['--sysroot', s.sysroot, 'rollback']);
    expect(r.code, r.stderr).toBe(0);
    expect(await ostreeOrder(s.sysroot)).toEqual([afterDeploy[1], afterDeploy[0], afterDeploy[2]]);
  });

  it('does not reboot a sysroot that is not the running system', async () => {
    const before = await ostreeOrder(s.sysroot);
    const r = await cli(['--sysroot', s.sysroot, 'rollback', '-r']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/not rebooting: --sysroot \S+ is not the running system/);
    expect(await ostreeOrder(s.sysroot)).toEqual([before[1], before[0], before[2]]);
  });
});

describe('rollback failures', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = makeTemp('rollback-fail-');
  });
  afterAll(async () => removeTemp(tmp));

  it('fails clearly with a single deployment', async () => {
    const s = await makeSyntheticSysroot(sub(tmp, 'single'), { versions: ['1.0'] });
    const before = bootSnapshot(s.sysroot);
    const r = await cli(['--sysroot', s.sysroot, 'rollback']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no rollback deployment/i);
    expect(r.stderr).not.toMatch(/bug in apt-ostree/);
    expect(bootSnapshot(s.sysroot)).toBe(before);
  });

  it('leaves everything as it was when writing the boot configuration fails', async () => {
    // Two kernels: the swap needs a new boot version (boot/loader.N).
    const s = await makeSyntheticSysroot(sub(tmp, 'ro-boot'), { versions: ['1.0', '2.0'] });
    const order = await ostreeOrder(s.sysroot);
    const before = bootSnapshot(s.sysroot);
    // /boot refuses new entries: loader.N cannot be created.
    const frozen = [join(s.sysroot, 'boot')];
    await sh('chattr', ['+i', ...frozen]);
    let r;
    try {
      r = await cli(['--sysroot', s.sysroot, 'rollback']);
    } finally {
      await sh('chattr', ['-i', ...frozen]);
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/writing the new boot order with libostree failed/);
    expect(r.stderr).not.toMatch(/bug in apt-ostree/);
    expect(bootSnapshot(s.sysroot)).toBe(before);
    expect(await ostreeOrder(s.sysroot)).toEqual(order);
    await fsckClean(s.repo);
    // The lock was released: the next command runs.
    const again = await cli(['--sysroot', s.sysroot, 'rollback']);
    expect(again.code, again.stderr).toBe(0);
    expect(await ostreeOrder(s.sysroot)).toEqual([order[1], order[0]]);
  });

  it('on a GRUB sysroot (ostree 2022.7 here: through libostree), the menu ostree regenerates follows the new order', async () => {
    const s = await threeDeployments(sub(tmp, 'grub'));
    // As admin provision sets it up: ostree's grub2 backend, apt-ostree's generator off the booted system.
    await sh('ostree', [`--repo=${s.repo}`, 'config', 'set', 'sysroot.bootloader', 'grub2']);
    ensureDir(join(s.sysroot, 'boot/grub'));
    symlinkSync('../loader/grub.cfg', join(s.sysroot, 'boot/grub/grub.cfg'));
    await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'deploy', '--retain', '--no-prune', `--os=${s.os}`, s.commits[0]!], { env: { OSTREE_GRUB2_EXEC: GRUB_GENERATOR } });
    const order = await ostreeOrder(s.sysroot);
    expect(order).toHaveLength(4);
    /** Where each menu entry's ostree= link leads, in menu order. */
    const menuTargets = () => [...readFileSync(join(s.sysroot, 'boot/grub/grub.cfg'), 'utf8').matchAll(/^linux \S+ .*ostree=(\S+)/gm)].map((m) => readlinkSync(join(s.sysroot, m[1]!)).split('/').pop());
    expect(menuTargets()).toEqual(order);
    const r = await cli(['--sysroot', s.sysroot, 'rollback']);
    expect(r.code, r.stderr).toBe(0);
    const after = await ostreeOrder(s.sysroot);
    expect(after).toEqual([order[1], order[0], order[2], order[3]]);
    expect(menuTargets()).toEqual(after);
    await fsckClean(s.repo);
  });
});
