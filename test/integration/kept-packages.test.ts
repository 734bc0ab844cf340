/**
 * Layered packages that stay (issue 32): the .debs of every layer are kept in the stateroot, and
 * a later change re-layers them from there when no source offers them any more: the repository
 * they came from removed, then every source gone (--cache-only, no server, no lists).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAptRepo, serveDirectory, type AptRepo, type StaticServer } from '../fixtures/apt-repo.js';
import { fsckClean, sh } from '../fixtures/env.js';
import { minbaseArchiveCopy, minbaseRepo } from '../fixtures/minbase.js';
import { makeLayeringBed, setDeploymentSources, type LayeringBed, provisionedFrom } from '../fixtures/layering.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

interface Dep { checksum: string; serial: number; 'requested-packages': string[]; packages: string[] }

describe('kept packages', () => {
  let tmp: string;
  let bed: LayeringBed;
  let other: AptRepo;
  let kept: string;

  const keptDebs = () => (existsSync(kept) ? readdirSync(kept).filter((f) => f.endsWith('.deb')).sort() : []);
  const deployments = async (): Promise<Dep[]> => {
    const r = await bed.run(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { deployments: Dep[] }).deployments;
  };

  beforeAll(async () => {
    tmp = makeTemp('kept-');
    bed = await makeLayeringBed(tmp);
    other = await makeAptRepo(join(tmp, 'other'), [{ name: 'tool-ao', version: '1.0', files: { '/usr/bin/tool-ao': '#!/bin/sh\necho tool\n' } }]);
    await other.serve();
    kept = join(bed.sysroot, 'ostree', 'deploy', bed.os, 'var', 'lib', 'apt-ostree', 'kept');
  });
  afterAll(async () => {
    await bed?.close();
    await other?.close();
    await removeTemp(tmp);
  });

  it('keeps every .deb of a layer, dependencies included, with an index apt reads', async () => {
    const r = await bed.run(['install', 'hello-ao']);
    expect(r.code, r.stderr).toBe(0);
    expect(keptDebs()).toEqual(['dep-ao_2.0_all.deb', 'hello-ao_1.0_all.deb']);
    const index = readFileSync(join(kept, 'Packages'), 'utf8');
    expect(index).toMatch(/^Package: hello-ao\n(.+\n)*Depends: dep-ao \(>= 2\.0\)\n(.+\n)*Filename: \.\/hello-ao_1\.0_all\.deb\nSize: \d+\nSHA256: [0-9a-f]{64}$/m);
  });

  it('re-layers from the kept packages once their repository is gone (the reproduction of the issue)', async () => {
    // The first repository removed, the deployment's sources pointed at another one, the
    // archives cache emptied: only the kept packages still have hello-ao and dep-ao.
    await bed.apt.close();
    setDeploymentSources(await bed.defaultDeployment(), other.sourcesLine());
    const clean = await bed.run(['cleanup', '-b']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).not.toMatch(/kept package/); // every kept one is used
    const r = await bed.run(['install', 'tool-ao']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Taken from the kept packages \(no source offers these versions any more\): dep-ao 2\.0, hello-ao 1\.0\./);
    const [d] = await deployments();
    expect(d!['requested-packages'].sort()).toEqual(['hello-ao', 'tool-ao']);
    const root = await bed.defaultDeployment();
    expect(readFileSync(join(root, 'usr/bin/hello-ao'), 'utf8')).toMatch(/hello from a layered package/);
    expect(existsSync(join(root, 'usr/bin/tool-ao'))).toBe(true);
    expect(keptDebs()).toEqual(['dep-ao_2.0_all.deb', 'hello-ao_1.0_all.deb', 'tool-ao_1.0_all.deb']);
  });

  it('status -v names the repository each layered package came from, and those no source offers any more', async () => {
    const r = await bed.run(['status', '-v']);
    expect(r.code, r.stderr).toBe(0);
    const first = r.stdout.split(/\n(?=[● ] \S)/)[1]!;
    const gone = `${bed.apt.url!.replace(/\/$/, '')} ./`;
    expect(first).toContain(`LayeredPackageSources: dep-ao 2.0 from ${gone} (no source offers it any more: kept copy)`);
    expect(first).toContain(`hello-ao 1.0 from ${gone} (no source offers it any more: kept copy)`);
    expect(first).toContain(`tool-ao 1.0 from ${other.url!.replace(/\/$/, '')} ./\n`);
    const json = JSON.parse((await bed.run(['status', '--json'])).stdout) as { deployments: Array<{ 'layered-package-sources': Array<{ name: string; offered: boolean }> }> };
    expect(json.deployments[0]!['layered-package-sources'].map((p) => `${p.name}:${p.offered}`)).toEqual(['dep-ao:false', 'hello-ao:false', 'tool-ao:true']);
  });

  it('re-layers with --cache-only and every source gone: no server, no lists, no archives cache', async () => {
    await other.close();
    const clean = await bed.run(['cleanup', '-b', '-m']);
    expect(clean.code, clean.stderr).toBe(0);
    const started = Date.now();
    const r = await bed.run(['uninstall', '--cache-only', 'tool-ao']);
    expect(r.code, r.stderr).toBe(0);
    console.log(`re-layering 2 kept packages with every source gone: ${Date.now() - started} ms`);
    expect(r.stdout + r.stderr).toMatch(/Taken from the kept packages .*: dep-ao 2\.0, hello-ao 1\.0\./);
    const [d] = await deployments();
    expect(d!['requested-packages']).toEqual(['hello-ao']);
    expect(existsSync(join(await bed.defaultDeployment(), 'usr/bin/tool-ao'))).toBe(false);
  });

  it('cleanup -b removes the kept packages no deployment uses and keeps the others', async () => {
    // The rollback deployment (hello-ao and tool-ao) still uses tool-ao.
    let r = await bed.run(['cleanup', '-b']);
    expect(r.code, r.stderr).toBe(0);
    expect(keptDebs()).toContain('tool-ao_1.0_all.deb');
    r = await bed.run(['cleanup', '-r', '-b']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Removed 1 kept package no deployment layers: tool-ao_1\.0_all\./);
    expect(keptDebs()).toEqual(['dep-ao_2.0_all.deb', 'hello-ao_1.0_all.deb']);
    expect(readFileSync(join(kept, 'Packages'), 'utf8')).not.toMatch(/tool-ao/);
    // What went is gone for good: no source, no list, no kept package has tool-ao.
    r = await bed.run(['install', '--cache-only', '--dry-run', 'tool-ao']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not found in the apt repositories: tool-ao/);
    await fsckClean(bed.repo);
  });
});

describe('kept packages on a new base', () => {
  let tmp: string;
  let bed: LayeringBed;
  let other: AptRepo;
  let server: StaticServer;
  let srv: string;
  let ref: string;
  let base: string;

  /** A new base on the server: the first one plus a marker file, and `status` as its dpkg database's status file. */
  async function publish(version: string, status?: string): Promise<void> {
    const extra = join(tmp, `extra-${version}`);
    mkdirSync(join(extra, 'usr/share/apt-ostree-test'), { recursive: true });
    writeFileSync(join(extra, 'usr/share/apt-ostree-test/version'), `${version}\n`);
    if (status) {
      mkdirSync(join(extra, 'usr/share/dpkg/database'), { recursive: true });
      writeFileSync(join(extra, 'usr/share/dpkg/database/status'), status);
    }
    const parent = (await sh('ostree', [`--repo=${srv}`, 'rev-parse', ref])).trim();
    await sh('ostree', [`--repo=${srv}`, 'commit', `--branch=${ref}`, `--parent=${parent}`, `--tree=ref=${base}`, `--tree=dir=${extra}`, `--add-metadata-string=version=${version}`, '--no-bindings']);
  }
  const ids = async () => ((JSON.parse((await bed.run(['status', '--json'])).stdout) as { deployments: Dep[] }).deployments).map((d) => `${d.checksum}.${d.serial}`);

  beforeAll(async () => {
    tmp = makeTemp('kept-upgrade-');
    const cached = await minbaseRepo();
    srv = join(tmp, 'srv-repo');
    ref = cached.ref;
    base = cached.checksum;
    await minbaseArchiveCopy(srv, cached);
    server = await serveDirectory(srv);
    bed = await makeLayeringBed(tmp, {
      sysroot: provisionedFrom(server.url, ref),
    });
    other = await makeAptRepo(join(tmp, 'other'), [{ name: 'tool-ao', version: '1.0' }]);
    await other.serve();
    const r = await bed.run(['install', 'hello-ao']);
    if (r.code !== 0) throw new Error(r.stderr);
  });
  afterAll(async () => {
    await bed?.close();
    await other?.close();
    await server?.close();
    await removeTemp(tmp);
  });

  it('records the repository each kept package came from', () => {
    const index = readFileSync(join(bed.sysroot, 'ostree/deploy/debian/var/lib/apt-ostree/kept/Packages'), 'utf8');
    expect(index).toContain(`Filename: ./hello-ao_1.0_all.deb`);
    expect(index).toMatch(new RegExp(`X-Apt-Ostree-Origin: ${bed.apt.url!.replace(/\/$/, '')} \\./\nX-Apt-Ostree-Offered: yes`));
  });

  it('an upgrade with the layer\'s repository gone layers the kept versions on the new base, with a warning naming them', async () => {
    await bed.apt.close();
    setDeploymentSources(await bed.defaultDeployment(), other.sourcesLine());
    await publish('2.0');
    const r = await bed.run(['upgrade']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Kept versions layered on the new base, as no source offers them any more: dep-ao 2\.0, hello-ao 1\.0\./);
    const root = await bed.defaultDeployment();
    expect(readFileSync(join(root, 'usr/share/apt-ostree-test/version'), 'utf8')).toBe('2.0\n');
    expect(existsSync(join(root, 'usr/bin/hello-ao'))).toBe(true);
  });

  it('an upgrade to a base where the kept version cannot install is refused, naming the package, its repository and the ways out', async () => {
    // The new base has a package that breaks hello-ao 1.0.
    const status = await sh('ostree', [`--repo=${bed.repo}`, 'cat', base, '/usr/share/dpkg/database/status']);
    await publish('3.0', `${status.trimEnd()}\n\nPackage: breaker-ao\nStatus: install ok installed\nPriority: optional\nMaintainer: t <t@example.org>\nArchitecture: all\nVersion: 1.0\nBreaks: hello-ao (<< 2.0)\nDescription: breaks the kept hello-ao\n`);
    const before = await ids();
    const r = await bed.run(['upgrade']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/The layered packages dep-ao 2\.0 \(from http:\/\/127\.0\.0\.1:\d+ \.\/\), hello-ao 1\.0 \(from http:\/\/127\.0\.0\.1:\d+ \.\/\) are offered by no source any more, and the kept version does not install on the new base [0-9a-f]{12}\./);
    expect(r.stderr).toMatch(/apt-ostree uninstall hello-ao` before the upgrade, or an apt source/);
    expect(await ids()).toEqual(before);
    await fsckClean(bed.repo);
  });
});
