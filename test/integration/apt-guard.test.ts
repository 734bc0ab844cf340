/**
 * The plain-apt guard (src/image/apt-guard.ts, data/apt-guard/): in a real Debian tree where
 * the system counts as booted from OSTree, apt-get install / remove and dpkg -i / -r stop before
 * dpkg changes anything, with the apt-ostree command to use; reading commands keep working;
 * and apt-ostree's own layering goes through with the guard in the image.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAptGuard } from '../../src/image/apt-guard.js';
import { bwrapArgs } from '../../src/system/bwrap.js';
import { buildDeb } from '../fixtures/debs.js';
import { cli, fsckClean, sh } from '../fixtures/env.js';
import { makeLayeringBed, type LayeringBed } from '../fixtures/layering.js';
import { minbaseArchiveCopy, minbaseRepo, minbaseTarball } from '../fixtures/minbase.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const GUARD_MESSAGE = /apt-ostree: this system is image-based/;

describe('plain apt and dpkg in a tree with the guard', () => {
  let tmp: string;
  let root: string;
  let debs: string;

  /** Run a shell command as root in a sandbox of the tree (no network, fresh /run and /tmp). */
  async function inTree(cmd: string, env: Record<string, string> = {}) {
    const args = bwrapArgs({ root, binds: [{ src: debs, dest: '/debs', readOnly: true }], env: { ...env } }, ['sh', '-c', cmd]);
    const r = await execa('bwrap', args, { reject: false, all: true });
    return { code: r.exitCode ?? -1, out: String(r.all) };
  }
  const forced = { APT_OSTREE_GUARD_FORCE: '1' };
  const dpkgStatusHash = () => createHash('sha256').update(readFileSync(join(root, 'var/lib/dpkg/status'))).digest('hex');
  const installed = async (pkg: string) => (await inTree(`dpkg-query -W -f='\${Status}' ${pkg}`)).out.trim() === 'install ok installed';

  beforeAll(async () => {
    tmp = makeTemp('apt-guard-');
    root = join(tmp, 'root');
    mkdirSync(root);
    await sh('tar', ['-C', root, '-xf', await minbaseTarball()]);
    // A plain Debian tree keeps /etc at /etc.
    expect(installAptGuard(root, { etcDir: 'etc' })).toEqual(['usr/libexec/apt-ostree/apt-guard', 'etc/apt/apt.conf.d/50apt-ostree', 'etc/dpkg/dpkg.cfg.d/apt-ostree']);
    debs = join(tmp, 'debs');
    mkdirSync(debs);
    await buildDeb({ name: 'guarded-ao', version: '1.0', files: { '/usr/share/guarded-ao/data': 'data\n' } }, debs);
    await buildDeb({ name: 'second-ao', version: '1.0', files: { '/usr/share/second-ao/data': 'data\n' } }, debs);
    const tzdata = await sh('dpkg-query', [`--admindir=${join(root, 'var/lib/dpkg')}`, '-W', '-f=${Version}', 'tzdata']);
    await buildDeb({ name: 'tzdata', version: `${tzdata}+guard1` }, debs);
    writeFileSync(join(debs, 'Packages'), await sh('apt-ftparchive', ['packages', '.'], { cwd: debs }));
    writeFileSync(join(debs, 'guard.list'), 'deb [trusted=yes] file:/debs ./\n');
  });
  afterAll(async () => removeTemp(tmp));

  it('installs an executable guard and both hooks', () => {
    const guard = join(root, 'usr/libexec/apt-ostree/apt-guard');
    expect(readFileSync(guard, 'utf8')).toMatch(/^#!\/bin\/sh\n/);
    expect(readFileSync(join(root, 'etc/apt/apt.conf.d/50apt-ostree'), 'utf8')).toMatch(/DPkg::Pre-Install-Pkgs \{ "\/usr\/libexec\/apt-ostree\/apt-guard apt"; \};/);
    expect(readFileSync(join(root, 'etc/dpkg/dpkg.cfg.d/apt-ostree'), 'utf8')).toMatch(/^pre-invoke=\/usr\/libexec\/apt-ostree\/apt-guard dpkg$/m);
    // apt update is harmless on such a system (its lists are in /var): no update hook.
    expect(readFileSync(join(root, 'etc/apt/apt.conf.d/50apt-ostree'), 'utf8')).not.toMatch(/APT::Update/);
  });

  it('apt-get install of a .deb stops before dpkg, naming `apt-ostree install`, and installs nothing', async () => {
    const before = dpkgStatusHash();
    const r = await inTree('apt-get install -y /debs/guarded-ao_1.0_all.deb', forced);
    expect(r.code, r.out).toBe(100);
    expect(r.out).toMatch(GUARD_MESSAGE);
    expect(r.out).toContain('    apt-ostree install /debs/guarded-ao_1.0_all.deb\n');
    expect(r.out).toMatch(/Nothing was changed/);
    expect(r.out).not.toMatch(/Unpacking|Setting up/);
    expect(await installed('guarded-ao')).toBe(false);
    expect(existsSync(join(root, 'usr/share/guarded-ao'))).toBe(false);
    expect(dpkgStatusHash()).toBe(before);
  });

  it('apt remove and apt upgrade name uninstall / override remove and upgrade', async () => {
    const before = dpkgStatusHash();
    const rm = await inTree('apt remove -y tzdata', forced);
    expect(rm.code, rm.out).toBe(100);
    expect(rm.out).toMatch(/apt-ostree uninstall tzdata +\(packages layered/);
    expect(rm.out).toMatch(/apt-ostree override remove tzdata +\(packages of the image/);
    expect(await installed('tzdata')).toBe(true);
    // An upgrade: a newer tzdata in a local file: repository (given to apt with -o options,
    // which the guard must skip when it reads apt's command line).
    const repo = ['-o', 'Dir::Etc::SourceList=/debs/guard.list', '-o', 'Dir::Etc::SourceParts=/nonexistent'].join(' ');
    const up = await inTree(`apt-get update -qq ${repo} && apt-get upgrade -y ${repo}`, forced);
    expect(up.code, up.out).toBe(100);
    expect(up.out).toMatch(/The following packages will be upgraded:\s+tzdata/);
    expect(up.out).toContain('    apt-ostree upgrade\n');
    expect(dpkgStatusHash()).toBe(before);
  });

  it('dpkg -i and dpkg -r stop too (dpkg pre-invoke hook)', async () => {
    const before = dpkgStatusHash();
    const i = await inTree('dpkg -i /debs/guarded-ao_1.0_all.deb', forced);
    expect(i.code, i.out).not.toBe(0);
    expect(i.out).toContain('    apt-ostree install /debs/guarded-ao_1.0_all.deb\n');
    const r = await inTree('dpkg -r tzdata', forced);
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(/apt-ostree uninstall tzdata/);
    expect(await installed('guarded-ao')).toBe(false);
    expect(await installed('tzdata')).toBe(true);
    expect(dpkgStatusHash()).toBe(before);
  });

  it('reading commands keep working: apt list, apt show, apt-cache policy, dpkg -l, apt-get -s, apt update', async () => {
    const r = await inTree(
      [
        'set -e',
        'apt list --installed 2>/dev/null | grep -q "^tzdata/"',
        'apt show tzdata 2>/dev/null | grep -q "^Package: tzdata"',
        'apt-cache policy tzdata | grep -q "Installed: "',
        'dpkg -l tzdata | grep -q "^ii  tzdata"',
        'dpkg -L tzdata | grep -q zoneinfo',
        'apt-get -s install /debs/guarded-ao_1.0_all.deb | grep -q "^Inst guarded-ao"',
        // No network in the sandbox: an update of no sources, to show the guard is not in the way.
        'apt-get update -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=/nonexistent',
        'echo all-read-commands-ok',
      ].join('\n'),
      forced,
    );
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('all-read-commands-ok');
    expect(r.out).not.toMatch(GUARD_MESSAGE);
  });

  it('/run/ostree-booted alone (no test switch) turns the guard on', async () => {
    const r = await inTree('touch /run/ostree-booted && apt-get install -y /debs/guarded-ao_1.0_all.deb');
    expect(r.code, r.out).toBe(100);
    expect(r.out).toMatch(GUARD_MESSAGE);
    expect(await installed('guarded-ao')).toBe(false);
  });

  it('lets apt and dpkg through inside an apt-ostree transaction, and on a system not booted from OSTree', async () => {
    const tx = await inTree('touch /run/ostree-booted && apt-get install -y /debs/guarded-ao_1.0_all.deb', { ...forced, APT_OSTREE_TRANSACTION: '1' });
    expect(tx.code, tx.out).toBe(0);
    expect(tx.out).not.toMatch(GUARD_MESSAGE);
    expect(await installed('guarded-ao')).toBe(true);
    const dpkgTx = await inTree('dpkg -r guarded-ao', { ...forced, APT_OSTREE_TRANSACTION: '1' });
    expect(dpkgTx.code, dpkgTx.out).toBe(0);
    const plain = await inTree('apt-get install -y /debs/second-ao_1.0_all.deb');
    expect(plain.code, plain.out).toBe(0);
    expect(await installed('second-ao')).toBe(true);
    expect(readFileSync(join(root, 'usr/share/second-ao/data'), 'utf8')).toBe('data\n');
  });
});

describe('layering with the guard in the image', () => {
  let tmp: string;
  let bed: LayeringBed;

  beforeAll(async () => {
    tmp = makeTemp('apt-guard-layer-');
    const cached = await minbaseRepo();
    const srv = join(tmp, 'srv-repo');
    await minbaseArchiveCopy(srv, cached);
    // The image: minbase plus the guard, as compose installs it (apt-ostree layout: /usr/etc),
    // plus test hooks that run the guard as if the system were booted (APT_OSTREE_GUARD_FORCE=1)
    // and record that they ran: layering must pass them thanks to APT_OSTREE_TRANSACTION alone.
    const overlay = join(tmp, 'guard-tree');
    installAptGuard(overlay, { etcDir: 'usr/etc' });
    writeFileSync(
      join(overlay, 'usr/etc/apt/apt.conf.d/51apt-ostree-test-booted'),
      // (apt's configuration strings cannot hold a double quote: the echo goes unquoted.)
      'DPkg::Pre-Install-Pkgs { "APT_OSTREE_GUARD_FORCE=1 /usr/libexec/apt-ostree/apt-guard apt && echo apt hook passed, APT_OSTREE_TRANSACTION=$APT_OSTREE_TRANSACTION >> /usr/share/apt-guard-trace"; };\n',
    );
    writeFileSync(
      join(overlay, 'usr/etc/dpkg/dpkg.cfg.d/apt-ostree-test-booted'),
      'pre-invoke=APT_OSTREE_GUARD_FORCE=1 /usr/libexec/apt-ostree/apt-guard dpkg && echo "dpkg hook passed ($DPKG_HOOK_ACTION)" >> /usr/share/apt-guard-trace\n',
    );
    await sh('ostree', [`--repo=${srv}`, 'commit', `--branch=${cached.ref}`, `--tree=ref=${cached.checksum}`, `--tree=dir=${overlay}`, '--owner-uid=0', '--owner-gid=0', '--add-metadata-string=version=12.0.guard', '--keep-metadata=aptostree.dpkg.pkglist', '--no-bindings']);
    bed = await makeLayeringBed(tmp, {
      sysroot: async (dir) => {
        const r = await cli(['admin', 'provision', '--no-verify', '--sysroot', dir, '--repo', srv, '--ref', cached.ref, '--os', 'debian']);
        if (r.code !== 0) throw new Error(r.stderr);
        return { sysroot: dir, os: 'debian' };
      },
    });
  });
  afterAll(async () => {
    await bed?.close();
    await removeTemp(tmp);
  });

  it('apt-ostree install works, with the guard active in its sandbox', async () => {
    const before = await bed.defaultDeployment();
    expect(existsSync(join(before, 'usr/etc/apt/apt.conf.d/50apt-ostree'))).toBe(true);
    expect(existsSync(join(before, 'usr/libexec/apt-ostree/apt-guard'))).toBe(true);
    const r = await bed.run(['install', 'hello-ao']);
    expect(r.code, r.stderr).toBe(0);
    const root = await bed.defaultDeployment();
    expect(root).not.toBe(before);
    expect(existsSync(join(root, 'usr/bin/hello-ao'))).toBe(true);
    // The hooks ran inside the transaction and the guard let them through.
    const trace = readFileSync(join(root, 'usr/share/apt-guard-trace'), 'utf8');
    expect(trace).toContain('apt hook passed, APT_OSTREE_TRANSACTION=1');
    expect(trace).toMatch(/dpkg hook passed \((unpack|install)\)/);
    // The guard is still in the new deployment's image.
    expect(readdirSync(join(root, 'usr/etc/apt/apt.conf.d'))).toContain('50apt-ostree');
    await fsckClean(bed.repo);
  });
});
