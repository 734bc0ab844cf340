/**
 * apply-live's plan and its stage-then-switch, against real ostree commits made here: the
 * plan comes from `ostree diff` between two commits and their dpkg databases; the switch runs
 * on a checkout of the first commit (standing for the running /usr) with a checkout of the
 * second as the source (standing for the pending deployment), and must leave the tree equal
 * to one or the other. The overlay itself, systemd and the booted-only paths run in the VM
 * (test/boot/apply-live.test.ts); here also the refusals a sysroot that is not booted gets.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diff as ostreeDiff } from '../../src/system/ostree.js';
import { planLive } from '../../src/engine/deployments/live-plan.js';
import { removeStaging, stageTree, switchTree } from '../../src/engine/deployments/live-tree.js';
import { etcAdditions } from '../../src/engine/deployments/live.js';
import { commitPackages } from '../../src/engine/deployments/packages.js';
import { cli, sh } from '../fixtures/env.js';
import { makeSyntheticSysroot, writeSyntheticTree } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

function write(root: string, files: Record<string, string>): void {
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), c);
    if (c.startsWith('#!')) chmodSync(join(root, p), 0o755);
  }
}

/** Every entry of a tree with its type, mode, owner and content: two trees are equal when these are. */
async function snapshot(root: string): Promise<string> {
  return sh('sh', ['-c', 'cd "$1" && find . -path ./.apt-ostree-live -prune -o -printf "%p %y %m %U:%G %l\\n" | sort && find . -path ./.apt-ostree-live -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum', 'sh', root]);
}

describe('apply-live: plan, stage and switch on real commits', () => {
  let tmp: string;
  let repo: string;
  let from: string;
  let to: string;
  /** Checkouts of /usr of both commits. */
  let fromUsr: string;
  let toUsr: string;

  beforeAll(async () => {
    tmp = makeTemp('apply-live-');
    repo = join(tmp, 'repo');
    await sh('ostree', [`--repo=${repo}`, 'init', '--mode=bare']);
    // The booted commit: a base with one package, a directory that goes away, a file that changes.
    const a = join(tmp, 'a');
    writeSyntheticTree(a, { packages: [['base-files', '12.4'], ['old-tool', '1.0'], ['gone', '1.0']] });
    write(a, { 'usr/bin/old-tool': '#!/bin/sh\necho 1.0\n', 'usr/share/gone/data': 'gone\n', 'usr/share/doc/keep': 'keep\n' });
    from = (await sh('ostree', [`--repo=${repo}`, 'commit', '--branch=t', `--tree=dir=${a}`, '--no-bindings'])).trim();
    // The pending commit: a new package with a binary, a unit, a new directory, an /etc default,
    // sysusers.d and tmpfiles.d files; old-tool upgraded; 'gone' removed.
    const b = join(tmp, 'b');
    writeSyntheticTree(b, { packages: [['base-files', '12.4'], ['old-tool', '2.0'], ['live-tool', '1.0']] });
    write(b, {
      'usr/bin/old-tool': '#!/bin/sh\necho 2.0\n',
      'usr/share/doc/keep': 'keep\n',
      'usr/bin/live-tool': '#!/bin/sh\necho live\n',
      'usr/lib/systemd/system/live-tool.service': '[Service]\nExecStart=/usr/bin/live-tool\n',
      'usr/share/live-tool/sub/data': 'data\n',
      'usr/etc/live-tool/live-tool.conf': 'setting=1\n',
      'usr/etc/live-tool/conf.d/a.conf': 'a=1\n',
      'usr/lib/sysusers.d/live-tool.conf': 'u livetool - -\n',
      'usr/lib/tmpfiles.d/live-tool.conf': 'd /run/live-tool 0755 - - -\n',
    });
    symlinkSync('live-tool', join(b, 'usr/bin/live-tool-link'));
    chmodSync(join(b, 'usr/share'), 0o775);
    to = (await sh('ostree', [`--repo=${repo}`, 'commit', '--branch=t', `--tree=dir=${b}`, '--no-bindings'])).trim();
    fromUsr = join(tmp, 'from-usr');
    toUsr = join(tmp, 'to-usr');
    await sh('ostree', [`--repo=${repo}`, 'checkout', '--subpath=/usr', from, fromUsr]);
    await sh('ostree', [`--repo=${repo}`, 'checkout', '--subpath=/usr', to, toUsr]);
  });
  afterAll(async () => removeTemp(tmp));

  it('plans what ostree diff and the dpkg databases say: new entries topmost only, replaced and removed files, new /etc defaults, snippets, package replacement', async () => {
    const d = await ostreeDiff(repo, from, to);
    // ostree lists an added directory with its content, a removed one as one entry.
    expect(d).toContainEqual({ kind: 'A', path: '/usr/share/live-tool/sub/data' });
    expect(d).toContainEqual({ kind: 'D', path: '/usr/share/gone' });
    const [p1, p2] = await Promise.all([commitPackages(repo, from), commitPackages(repo, to)]);
    const isDir = (rel: string) => ['share', 'bin', 'lib', 'etc'].includes(rel);
    const p = planLive(d, p1.packages, p2.packages, isDir);
    expect(p.usr.add).toEqual([
      'bin/live-tool',
      'bin/live-tool-link',
      'etc/live-tool',
      // The synthetic base has no lib/systemd nor lib/sysusers.d: they move in whole.
      'lib/systemd',
      'lib/sysusers.d',
      'lib/tmpfiles.d/live-tool.conf',
      'share/live-tool',
    ]);
    expect(p.usr.replace).toEqual(['bin/old-tool', 'share/dpkg/database/status']);
    expect(p.usr.remove).toEqual(['share/gone']);
    expect(p.usr.dirMeta).toEqual(['share']);
    expect(p.etcAdded).toEqual(['live-tool']);
    expect(p.sysusers).toEqual(['/usr/lib/sysusers.d/live-tool.conf']);
    expect(p.tmpfiles).toEqual(['/usr/lib/tmpfiles.d/live-tool.conf']);
    expect(p.packages.added.map((x) => x.name)).toEqual(['live-tool']);
    expect(p.replaced).toEqual(['old-tool 1.0 → 2.0', 'gone 1.0 (removed)']);
    expect(p.outsideUsr).toEqual([]);
    // Only additions: nothing to replace.
    const additive = planLive(d, p1.packages, [...p1.packages, ...p2.packages.filter((x) => x.name === 'live-tool')], isDir);
    expect(additive.replaced).toEqual([]);
  });

  async function livePlan() {
    const d = await ostreeDiff(repo, from, to);
    const [p1, p2] = await Promise.all([commitPackages(repo, from), commitPackages(repo, to)]);
    return planLive(d, p1.packages, p2.packages, (rel) => lstatSync(join(toUsr, rel)).isDirectory());
  }

  it('stages and switches the running tree to the pending one; the undo brings it back exactly', async () => {
    const running = join(tmp, 'running-1');
    await sh('cp', ['-a', fromUsr, running]);
    const before = await snapshot(running);
    const p = await livePlan();
    const staging = join(running, '.apt-ostree-live');
    await stageTree(toUsr, staging, p.usr);
    // Staging changed nothing outside the staging directory.
    expect(await snapshot(running)).toBe(before);
    const switched = await switchTree(running, toUsr, staging, p.usr);
    expect(await snapshot(running)).toBe(await snapshot(toUsr));
    await switched.undo();
    expect(await snapshot(running)).toBe(before);
    removeStaging(staging);
    expect(existsSync(staging)).toBe(false);
  });

  it('a clash midway (an added path the running tree already has) undoes the renames done before it, and names the path', async () => {
    const running = join(tmp, 'running-2');
    await sh('cp', ['-a', fromUsr, running]);
    // share/live-tool sorts after bin/live-tool and etc/live-tool: those are renamed in first.
    writeFileSync(join(running, 'share/live-tool'), 'made by hand\n');
    const before = await snapshot(running);
    const p = await livePlan();
    const staging = join(running, '.apt-ostree-live');
    await stageTree(toUsr, staging, p.usr);
    await expect(switchTree(running, toUsr, staging, p.usr)).rejects.toThrow(/share\/live-tool already exists on the running system but not in the deployment it runs/);
    expect(await snapshot(running)).toBe(before);
    expect(existsSync(join(running, 'bin/live-tool'))).toBe(false);
  });

  it('a full file system while staging leaves the running tree as it was', async () => {
    const running = join(tmp, 'running-3');
    mkdirSync(running);
    await sh('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', running]);
    try {
      await sh('cp', ['-a', `${fromUsr}/.`, running]);
      const big = join(tmp, 'big-usr');
      await sh('cp', ['-a', toUsr, big]);
      writeFileSync(join(big, 'share/live-tool/sub/data'), Buffer.alloc(1024 * 1024, 1));
      const before = await snapshot(running);
      const p = await livePlan();
      const staging = join(running, '.apt-ostree-live');
      await expect(stageTree(big, staging, p.usr)).rejects.toThrow(/copying the new files/);
      removeStaging(staging);
      expect(await snapshot(running)).toBe(before);
    } finally {
      await sh('umount', [running]);
    }
  });

  it('/etc gets the new defaults only where it has nothing: an existing file stays, an existing directory gets its new entries', () => {
    const etc = join(tmp, 'etc');
    write(etc, { 'live-tool/live-tool.conf': 'setting=admin\n' });
    expect(etcAdditions(join(toUsr, 'etc'), etc, ['live-tool'])).toEqual(['live-tool/conf.d']);
    expect(etcAdditions(join(toUsr, 'etc'), join(tmp, 'empty-etc'), ['live-tool'])).toEqual(['live-tool']);
    rmSync(etc, { recursive: true });
  });
});

describe('apply-live on a sysroot that is not booted', () => {
  let tmp: string;
  let sysroot: string;
  beforeAll(async () => {
    tmp = makeTemp('apply-live-sysroot-');
    sysroot = (await makeSyntheticSysroot(tmp, { versions: ['1.0'] })).sysroot;
  });
  afterAll(async () => removeTemp(tmp));

  it('is refused with a sentence, and install --apply-live is refused before it installs anything', async () => {
    const r = await cli(['--sysroot', sysroot, 'apply-live']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/apply-live changes the running system only; .* is not the booted system/);
    const before = await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'status']);
    const i = await cli(['--sysroot', sysroot, 'install', '--apply-live', 'hello']);
    expect(i.code).toBe(1);
    expect(i.stderr).toMatch(/apply-live changes the running system only/);
    expect(await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'status'])).toBe(before);
    const both = await cli(['--sysroot', sysroot, 'install', '-A', '--reboot', 'hello']);
    expect(both.stderr).toMatch(/--apply-live and --reboot cannot be used together/);
    // rpm-ostree's options that apt-ostree has not are named with the reason.
    const target = await cli(['--sysroot', sysroot, 'apply-live', '--target=abc']);
    expect(target.code).toBe(1);
    expect(target.stderr).toMatch(/--target.*deploy the commit first/);
  });
});
