/**
 * upgrade, deploy and rebase over HTTP from a loopback-served archive repository, with
 * layered packages carried onto the new base.
 */
import { execa } from 'execa';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDirectory, type StaticServer } from '../fixtures/apt-repo.js';
import { fsckClean, sh } from '../fixtures/env.js';
import { makeLayeringBed, type LayeringBed, provisionedFrom } from '../fixtures/layering.js';
import { minbaseArchiveCopy, minbaseRepo } from '../fixtures/minbase.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('upgrade, deploy, rebase', () => {
  let tmp: string;
  let bed: LayeringBed;
  let server: StaticServer;
  let srv: string;
  let ref: string;
  const commits: Record<string, string> = {};

  /** A new commit on the server: the previous one plus a marker file, made without a checkout. */
  async function publish(version: string, onRef = ref): Promise<string> {
    const extra = join(tmp, `extra-${version}`);
    mkdirSync(join(extra, 'usr/share/apt-ostree-test'), { recursive: true });
    writeFileSync(join(extra, 'usr/share/apt-ostree-test/version'), `${version}\n`);
    const parent = (await sh('ostree', [`--repo=${srv}`, 'rev-parse', onRef]).catch(() => commits.base!)).trim();
    const c = (await sh('ostree', [`--repo=${srv}`, 'commit', `--branch=${onRef}`, `--parent=${parent}`, `--tree=ref=${commits.base}`, `--tree=dir=${extra}`, `--add-metadata-string=version=${version}`, '--keep-metadata=aptostree.dpkg.pkglist', '--no-bindings'])).trim();
    commits[version] = c;
    return c;
  }

  beforeAll(async () => {
    tmp = makeTemp('upgrade-');
    const cached = await minbaseRepo();
    srv = join(tmp, 'srv-repo');
    ref = cached.ref;
    await minbaseArchiveCopy(srv, cached);
    commits.base = cached.checksum;
    server = await serveDirectory(srv);
    bed = await makeLayeringBed(tmp, {
      sysroot: provisionedFrom(server.url, ref),
    });
    for (const pkg of ['hello-ao', 'conf-ao']) {
      const r = await bed.run(['install', pkg]);
      if (r.code !== 0) throw new Error(r.stderr);
    }
  });
  afterAll(async () => {
    await bed?.close();
    await server?.close();
    await removeTemp(tmp);
  });

  const defaultRoot = () => bed.defaultDeployment();
  const statusJson = async () => JSON.parse((await bed.run(['status', '--json'])).stdout);

  it('says there is nothing to upgrade, with exit 77 when asked', async () => {
    const r = await bed.run(['upgrade', '--check', '--unchanged-exit-77']);
    expect(r.code, r.stderr).toBe(77);
    expect(r.stdout).toMatch(/No upgrade available/);
  });

  it('DownloadTimeout of apt-ostree.conf reaches ostree pull where ostree has the option', async () => {
    const conf = join(await defaultRoot(), 'etc', 'apt-ostree', 'apt-ostree.conf');
    mkdirSync(join(conf, '..'), { recursive: true });
    writeFileSync(conf, '[Daemon]\nDownloadTimeout=17\n');
    // An ostree as 2023.7 and newer: `pull --help` lists the option; the wrapper records the
    // low-speed arguments and runs the installed ostree without them.
    const bin = join(tmp, 'newer-ostree');
    const log = join(tmp, 'pull-args');
    mkdirSync(bin, { recursive: true });
    const real = (await sh('sh', ['-c', 'command -v ostree'])).trim();
    writeFileSync(join(bin, 'ostree'), [
      '#!/bin/bash',
      `if [ "$1" = pull ] && [ "$2" = --help ]; then ${real} pull --help; echo '  --low-speed-time-seconds=N'; exit 0; fi`,
      'keep=()',
      `for a in "$@"; do case "$a" in --low-speed-*) echo "$a" >> ${log};; *) keep+=("$a");; esac; done`,
      `exec ${real} "\${keep[@]}"`,
      '',
    ].join('\n'), { mode: 0o755 });
    try {
      const r = await bed.run(['upgrade', '--check', '--unchanged-exit-77'], { env: { PATH: `${bin}:${process.env.PATH}` } });
      expect(r.code, r.stderr).toBe(77);
      expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual(['--low-speed-limit-bytes=1', '--low-speed-time-seconds=17']);
      // The installed ostree (2022.7 on Debian 12 has no such option) pulls with the same file.
      const plain = await bed.run(['upgrade', '--check', '--unchanged-exit-77']);
      expect(plain.code, plain.stderr).toBe(77);
    } finally {
      rmSync(conf, { force: true });
    }
  });

  it('--check and --preview report a new base and change nothing', async () => {
    await publish('2.0');
    const before = await statusJson();
    const r = await bed.run(['upgrade', '--check', '--preview']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Update available/);
    expect(r.stdout).toMatch(/Version: 2\.0/);
    const after = await statusJson();
    // Only the record of the available update changes (as rpm-ostree's cached update).
    expect(after.deployments).toEqual(before.deployments);
    expect(after['cached-update'].checksum).toBe(commits['2.0']);
  });

  it('upgrade carries both layered packages onto the new base', async () => {
    const r = await bed.run(['upgrade']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/-> 2\.0/);
    const st = await statusJson();
    const d = st.deployments[0];
    expect(d['base-checksum']).toBe(commits['2.0']);
    expect(d.version).toBe('2.0');
    expect(d['requested-packages']).toEqual(['conf-ao', 'hello-ao']);
    const root = await defaultRoot();
    expect(readFileSync(join(root, 'usr/share/apt-ostree-test/version'), 'utf8')).toBe('2.0\n');
    expect(existsSync(join(root, 'usr/bin/hello-ao'))).toBe(true);
    expect(existsSync(join(root, 'usr/etc/conf-ao.conf'))).toBe(true);
    expect(readFileSync(`${root}.origin`, 'utf8')).toMatch(/baserefspec=origin:/);
    await fsckClean(bed.repo);
  });

  it('keeps the base commit of every layered deployment, so that the rollback one can still be changed', async () => {
    // The upgrade moved the ref to 2.0: only apt-ostree's base refs keep the old base from prune.
    await sh('ostree', [`--repo=${bed.repo}`, 'prune', '--refs-only']);
    const refs = (await sh('ostree', [`--repo=${bed.repo}`, 'refs', 'aptostree/base'])).split('\n').filter(Boolean);
    const targets = await Promise.all(refs.map((r) => sh('ostree', [`--repo=${bed.repo}`, 'rev-parse', `aptostree/base/${r}`]).then((c) => c.trim())));
    expect(targets.sort()).toEqual([commits.base!, commits['2.0']!].sort());
    const before = await statusJson();
    expect((await bed.run(['rollback'])).code).toBe(0);
    // Planning a change of the old deployment reads its base's package database.
    const plan = await bed.run(['uninstall', '--dry-run', 'conf-ao']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/Would install:[^]*hello-ao/); // the layer rebuilt on the old base, without conf-ao
    expect(plan.stdout).not.toMatch(/conf-ao/);
    expect((await bed.run(['rollback'])).code).toBe(0);
    expect((await statusJson()).deployments).toEqual(before.deployments);
    // cleanup -r drops the old deployment, and its base with it (no ref keeps it any more).
    const clean = await bed.run(['cleanup', '-r']);
    expect(clean.code, clean.stderr).toBe(0);
    expect((await sh('ostree', [`--repo=${bed.repo}`, 'refs', 'aptostree/base'])).trim()).toBe('0');
    expect((await sh('ostree', [`--repo=${bed.repo}`, 'rev-parse', 'aptostree/base/0'])).trim()).toBe(commits['2.0']);
    expect((await execa('ostree', [`--repo=${bed.repo}`, 'show', commits.base!], { reject: false })).exitCode).not.toBe(0);
    await fsckClean(bed.repo);
  });

  it('refreshes the layer when only the apt repository moved', async () => {
    await bed.apt.add([{ name: 'dep-ao', version: '2.1', files: { '/usr/share/dep-ao/data': 'data 2.1\n' } }]);
    const r = await bed.run(['upgrade']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dep-ao 2\.0 -> 2\.1/);
    const again = await bed.run(['upgrade', '--unchanged-exit-77']);
    expect(again.code, again.stderr).toBe(77);
  });

  it('refuses a downgrade without --allow-downgrade; deploy goes to a version and pins it', async () => {
    const before = await statusJson();
    const down = await bed.run(['deploy', commits.base!]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/older than the current base/);
    expect(await statusJson()).toEqual(before);
    const ok = await bed.run(['deploy', '--allow-downgrade', commits.base!]);
    expect(ok.code, ok.stderr).toBe(0);
    const st = await statusJson();
    expect(st.deployments[0]['base-checksum']).toBe(commits.base);
    expect(st.deployments[0]['override-commit']).toBe(commits.base);
    const pinned = await bed.run(['upgrade', '--unchanged-exit-77']);
    expect(pinned.code).toBe(77);
    expect(pinned.stdout).toMatch(/pinned to commit/);
    const byVersion = await bed.run(['deploy', '2.0']);
    expect(byVersion.code, byVersion.stderr).toBe(0);
    expect((await statusJson()).deployments[0]['base-checksum']).toBe(commits['2.0']);
    await fsckClean(bed.repo);
  });

  it('rebase switches to another ref and re-applies the layer', async () => {
    const otherRef = `${ref}-testing`;
    await publish('3.0-testing', otherRef);
    const r = await bed.run(['rebase', otherRef]);
    expect(r.code, r.stderr).toBe(0);
    const d = (await statusJson()).deployments[0];
    expect(d.origin).toBe(`origin:${otherRef}`);
    expect(d.version).toBe('3.0-testing');
    expect(d['requested-packages']).toEqual(['conf-ao', 'hello-ao']);
    expect(existsSync(join(await defaultRoot(), 'usr/bin/hello-ao'))).toBe(true);
    await fsckClean(bed.repo);
  });

  it('an override survives an upgrade, and override reset brings the package back', async () => {
    const rm = await bed.run(['override', 'remove', 'tzdata']);
    expect(rm.code, rm.stderr).toBe(0);
    await publish('3.1-testing', `${ref}-testing`);
    const up = await bed.run(['upgrade']);
    expect(up.code, up.stderr).toBe(0);
    const d = (await statusJson()).deployments[0];
    expect(d.version).toBe('3.1-testing');
    expect(d['requested-base-removals']).toEqual(['tzdata']);
    const dpkg = () => defaultRoot().then((r) => readFileSync(join(r, 'usr/share/dpkg/database/status'), 'utf8'));
    expect(await dpkg()).not.toMatch(/^Package: tzdata$/m);
    expect(existsSync(join(await defaultRoot(), 'usr/bin/hello-ao'))).toBe(true);
    const reset = await bed.run(['override', 'reset', 'tzdata']);
    expect(reset.code, reset.stderr).toBe(0);
    expect(await dpkg()).toMatch(/^Package: tzdata$/m);
    await fsckClean(bed.repo);
  });

  it('a failed pull (server gone) leaves everything as it was', async () => {
    await publish('4.0-testing', `${ref}-testing`);
    const before = await statusJson();
    await server.close();
    const r = await bed.run(['upgrade']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ostree pull/);
    expect(await statusJson()).toEqual(before);
    await fsckClean(bed.repo);
  });
});
