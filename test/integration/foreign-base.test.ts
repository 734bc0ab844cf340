/**
 * Everything that reads an image works on one that apt-ostree did not build but that follows
 * docs/layout.md (test/fixtures/foreign-base.ts: tmpfiles.d files with other names, a masked
 * and an overridden one, no apt-ostree metadata), committed and deployed with plain ostree:
 * install, db list/diff, upgrade, rollback, uninstall, with the real apt, dpkg, bwrap and ostree.
 * Images without what layering needs are refused before any work, with a sentence naming the path.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, fsckClean, sh } from '../fixtures/env.js';
import {
  commitTree, deployRef, FOREIGN_REF, FOREIGN_TMPFILES, foreignRepo, foreignSysroot, writeTinyForeignTree, type ForeignRepo,
} from '../fixtures/foreign-base.js';
import { makeLayeringBed, type LayeringBed } from '../fixtures/layering.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const NO_DATABASE_REF = 'other-builder/tiny/no-dpkg-database';
const NO_LINK_REF = 'other-builder/tiny/no-dpkg-link';

/** Records, from inside the sandbox, what the image's tmpfiles.d lines made of /var. */
const PROBE = {
  name: 'probe-ao',
  version: '1.0',
  files: { '/usr/share/probe-ao/README': 'probe\n' },
  postinst: [
    'stat -c %a /var/lib/foreign-state > /usr/share/probe-ao/foreign-state-mode',
    'readlink /var/lib/dpkg > /usr/share/probe-ao/dpkg-link',
    'stat -c %a /var/roothome > /usr/share/probe-ao/roothome-mode',
    'stat -c %a /var/tmp > /usr/share/probe-ao/var-tmp-mode',
    'if test -s /var/cache/debconf/config.dat; then echo present > /usr/share/probe-ao/debconf; fi',
    'if test -d /var/lib/new-in-2; then echo present > /usr/share/probe-ao/new-in-2; fi',
  ].join('\n'),
};

interface Dep { checksum: string; serial: number; version: string; origin: string; 'requested-packages': string[]; packages: string[]; 'base-checksum'?: string }

describe('a base image that apt-ostree did not build', () => {
  let tmp: string;
  let bed: LayeringBed;
  let srv: string;
  let foreign: ForeignRepo;
  let v2: string;

  const status = async (): Promise<{ deployments: Dep[] }> => {
    const r = await bed.run(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  const probe = (root: string, name: string) => readFileSync(join(root, 'usr/share/probe-ao', name), 'utf8').trim();
  const dpkgStatus = (root: string) => readFileSync(join(root, 'usr/share/dpkg/database/status'), 'utf8');
  const installed = (root: string, pkg: string) => new RegExp(`^Package: ${pkg}\\nStatus: install ok installed`, 'm').test(dpkgStatus(root));

  /** Everything a refused transaction must leave as it was. */
  async function snapshot(sysroot: string) {
    const st = JSON.parse((await cli(['--sysroot', sysroot, 'status', '--json'])).stdout) as { deployments: Dep[] };
    const deployRoot = join(sysroot, 'ostree/deploy/debian/deploy');
    return {
      deployments: st.deployments,
      origins: readdirSync(deployRoot).filter((n) => n.endsWith('.origin')).sort().map((n) => readFileSync(join(deployRoot, n), 'utf8')),
      refs: (await sh('ostree', [`--repo=${join(sysroot, 'ostree/repo')}`, 'refs'])).split('\n').sort(),
      work: existsSync(join(sysroot, 'ostree/apt-ostree/tmp')) ? readdirSync(join(sysroot, 'ostree/apt-ostree/tmp')) : [],
    };
  }

  /** The message is one sentence naming the path, with a hint; exit 1. */
  function expectRefusal(r: { code: number; stderr: string }, message: RegExp): void {
    expect(r.code, r.stderr).toBe(1);
    const first = r.stderr.split('\n').find((l) => l.startsWith('error: '))!;
    expect(first, r.stderr).toMatch(message);
    expect(first.replace(/^error: /, '').match(/\. /g)).toBeNull(); // one sentence
    expect(r.stderr).not.toMatch(/lock-frontend|Could not open lock file/);
  }

  beforeAll(async () => {
    tmp = makeTemp('foreign-');
    foreign = await foreignRepo();
    srv = join(tmp, 'srv-repo');
    await sh('cp', ['-al', foreign.repo, srv]); // a private copy: tests commit to it
    for (const [ref, opts] of [[NO_DATABASE_REF, { database: false }], [NO_LINK_REF, { link: false }]] as const) {
      const tree = join(tmp, `tree-${ref.replace(/\//g, '_')}`);
      writeTinyForeignTree(tree, opts);
      await commitTree(srv, ref, tree, 'tiny');
    }
    bed = await makeLayeringBed(tmp, { sysroot: (dir) => foreignSysroot(dir, srv, FOREIGN_REF) });
    await bed.apt.add([PROBE]);
  });
  afterAll(async () => {
    await bed?.close();
    await removeTemp(tmp);
  });

  it('status and db list read the deployment (no apt-ostree metadata: the dpkg database)', async () => {
    const d = (await status()).deployments[0]!;
    expect(d.checksum).toBe(foreign.checksum);
    expect(d.version).toBe('1');
    expect(d.origin).toBe(`origin:${FOREIGN_REF}`);
    const r = await bed.run(['db', 'list', 'deployment:0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const names = JSON.parse(r.stdout)[0].packages.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(['apt', 'base-files', 'dpkg']));
  });

  it('install layers packages, with /var made from all of its tmpfiles.d files', async () => {
    const r = await bed.run(['-v', 'install', 'hello-ao', 'probe-ao'], { env: { APT_OSTREE_VERIFY_LAYER_COMMIT: '1' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/tmpfiles\.d:/); // every line of the image applied cleanly
    // The plain `ostree admin deploy` of the base is the sandbox's root: nothing checked out.
    expect(r.stderr).toMatch(/the sandbox's root is the base's deployment/);
    expect(r.stderr).not.toMatch(/Checking out the base/);
    // The change only: the sandbox takes nothing of the base away (minbase's /etc/.pwd.lock stays).
    expect(r.stderr).not.toMatch(/committing the whole tree|the base's tree without/);
    expect(r.stderr).toMatch(/verified: the change-only commit has the tree of the full walk/);
    const st = await status();
    const d = st.deployments[0]!;
    expect(d['requested-packages'].sort()).toEqual(['hello-ao', 'probe-ao']);
    expect(d.packages.sort()).toEqual(['hello-ao', 'probe-ao']);
    expect(d['base-checksum']).toBe(foreign.checksum);
    expect(d.version).toBe('1');
    expect(st.deployments[1]!.checksum).toBe(foreign.checksum);
    const root = await bed.defaultDeployment();
    expect(readFileSync(join(root, 'usr/bin/hello-ao'), 'utf8')).toMatch(/hello from a layered package/);
    expect(readFileSync(join(root, 'usr/etc/debian_version'), 'utf8')).toMatch(/touched by hello-ao/);
    expect(statSync(join(root, 'usr/etc/.pwd.lock')).mode & 0o7777).toBe(0o600);
    for (const p of ['hello-ao', 'dep-ao', 'probe-ao']) expect(installed(root, p), p).toBe(true);
    // What the sandbox saw: the dpkg link (the masked file would have made a directory), the
    // admin's override of 50-foreign-state.conf, whole directories copied from the factory.
    expect(probe(root, 'dpkg-link')).toBe('../../usr/share/dpkg/database');
    expect(probe(root, 'foreign-state-mode')).toBe('750');
    expect(probe(root, 'roothome-mode')).toBe('700');
    expect(probe(root, 'debconf')).toBe('present');
    // The image's own files are as they were; the layer's /var content has its own file.
    for (const [rel, content] of Object.entries(FOREIGN_TMPFILES)) {
      if (content === null) expect(readlinkSync(join(root, rel))).toBe('/dev/null');
      else expect(readFileSync(join(root, rel), 'utf8')).toBe(content);
    }
    const layerConf = readFileSync(join(root, 'usr/lib/tmpfiles.d/apt-ostree-layer.conf'), 'utf8');
    expect(layerConf).toMatch(/^C \/var\/lib\/hello-ao\/state /m);
    // The image declares no /var/tmp: the layer does, world-writable and sticky as the sandbox
    // had it (`d /var/tmp 0755` made systemd-tmpfiles narrow it at the next boot).
    expect(probe(root, 'var-tmp-mode')).toBe('1777');
    expect(layerConf).toMatch(/^d \/var\/tmp 1777 0 0 -$/m);
    // What the next boot's systemd-tmpfiles makes of that line, on a /var/tmp of 0755.
    const booted = join(tmp, 'tmpfiles-root');
    mkdirSync(join(booted, 'var/tmp'), { recursive: true });
    chmodSync(join(booted, 'var/tmp'), 0o755);
    await sh('systemd-tmpfiles', ['--create', `--root=${booted}`, '-'], { input: `${/^d \/var\/tmp .*$/m.exec(layerConf)![0]}\n` });
    expect(statSync(join(booted, 'var/tmp')).mode & 0o7777).toBe(0o1777);
    expect(readdirSync(join(root, 'var'))).toEqual([]);
    await fsckClean(bed.repo);
  });

  it('db diff and db list see the layered packages', async () => {
    const diff = await bed.run(['db', 'diff', '--format', 'json']);
    expect(diff.code, diff.stderr).toBe(0);
    const j = JSON.parse(diff.stdout);
    expect(j.added.map((p: { name: string }) => p.name).sort()).toEqual(['dep-ao', 'hello-ao', 'probe-ao']);
    expect([j.removed, j.upgraded, j.downgraded]).toEqual([[], [], []]);
    const list = await bed.run(['db', 'list', 'deployment:0', '*-ao', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)[0].packages.map((p: { name: string }) => p.name)).toEqual(['dep-ao', 'hello-ao', 'probe-ao']);
  });

  it('upgrade carries the layer onto a newer commit of the image', async () => {
    const extra = join(tmp, 'extra-2');
    mkdirSync(join(extra, 'usr/share/other-builder'), { recursive: true });
    mkdirSync(join(extra, 'usr/lib/tmpfiles.d'), { recursive: true });
    writeFileSync(join(extra, 'usr/share/other-builder/version'), '2\n');
    writeFileSync(join(extra, 'usr/lib/tmpfiles.d/60-new-in-2.conf'), 'd /var/lib/new-in-2 0755 root root -\n');
    v2 = (await sh('ostree', [`--repo=${srv}`, 'commit', `--branch=${FOREIGN_REF}`, `--tree=ref=${foreign.checksum}`, `--tree=dir=${extra}`, '--add-metadata-string=version=2', '--subject=other-builder 2'])).trim();
    const r = await bed.run(['upgrade']);
    expect(r.code, r.stderr).toBe(0);
    const d = (await status()).deployments[0]!;
    expect(d['base-checksum']).toBe(v2);
    expect(d.version).toBe('2');
    expect(d['requested-packages'].sort()).toEqual(['hello-ao', 'probe-ao']);
    const root = await bed.defaultDeployment();
    expect(readFileSync(join(root, 'usr/share/other-builder/version'), 'utf8')).toBe('2\n');
    expect(existsSync(join(root, 'usr/bin/hello-ao'))).toBe(true);
    expect(installed(root, 'hello-ao')).toBe(true);
    expect(probe(root, 'new-in-2')).toBe('present'); // the new image's tmpfiles.d file counted too
    await fsckClean(bed.repo);
  });

  it('rollback goes back to the layered deployment of the first commit, and forth again', async () => {
    expect((await bed.run(['rollback'])).code).toBe(0);
    let st = await status();
    expect(st.deployments.map((d) => d['base-checksum'])).toEqual([foreign.checksum, v2]);
    expect(existsSync(join(await bed.defaultDeployment(), 'usr/share/other-builder/version'))).toBe(false);
    expect((await bed.run(['rollback'])).code).toBe(0);
    st = await status();
    expect(st.deployments.map((d) => d['base-checksum'])).toEqual([v2, foreign.checksum]);
  });

  it('refuses a new base without a dpkg database, naming the path, and changes nothing', async () => {
    const before = await snapshot(bed.sysroot);
    const r = await bed.run(['rebase', `origin:${NO_DATABASE_REF}`]);
    expectRefusal(r, /has no dpkg database at \/usr\/share\/dpkg\/database/);
    expect(await snapshot(bed.sysroot)).toEqual(before);
  });

  it('refuses a new base whose tmpfiles.d files do not link /var/lib/dpkg to it, and changes nothing', async () => {
    const before = await snapshot(bed.sysroot);
    const r = await bed.run(['rebase', `origin:${NO_LINK_REF}`]);
    expectRefusal(r, /does not link \/var\/lib\/dpkg to its dpkg database \/usr\/share\/dpkg\/database/);
    expect(r.stderr).not.toMatch(/Updating package lists|Resolving/);
    expect(await snapshot(bed.sysroot)).toEqual(before);
  });

  it('install on such images is refused before any work', async () => {
    const other = await foreignSysroot(join(tmp, 'sr-tiny'), srv, NO_LINK_REF);
    const run = (args: string[]) => cli(['--sysroot', other.sysroot, ...args]);
    let before = await snapshot(other.sysroot);
    expectRefusal(await run(['install', 'hello-ao']), /does not link \/var\/lib\/dpkg .*\(no tmpfiles\.d line declares it\)/);
    expect(await snapshot(other.sysroot)).toEqual(before);

    await deployRef(other.sysroot, other.os, NO_DATABASE_REF);
    before = await snapshot(other.sysroot);
    expectRefusal(await run(['install', 'hello-ao']), /^error: The base image [0-9a-f]{12} has no dpkg database at \/usr\/share\/dpkg\/database, so packages cannot be layered on it\.$/);
    expect(await snapshot(other.sysroot)).toEqual(before);
  });

  it('uninstall rebuilds the layer without the package, and drops it when nothing is left', async () => {
    let r = await bed.run(['uninstall', 'hello-ao']);
    expect(r.code, r.stderr).toBe(0);
    let root = await bed.defaultDeployment();
    expect(existsSync(join(root, 'usr/bin/hello-ao'))).toBe(false);
    expect(installed(root, 'hello-ao')).toBe(false);
    expect(installed(root, 'dep-ao')).toBe(false);
    expect(installed(root, 'probe-ao')).toBe(true);
    expect((await status()).deployments[0]!['requested-packages']).toEqual(['probe-ao']);
    r = await bed.run(['uninstall', 'probe-ao']);
    expect(r.code, r.stderr).toBe(0);
    const d = (await status()).deployments[0]!;
    expect(d.checksum).toBe(v2); // the image itself, no layer
    expect(d['base-checksum']).toBeUndefined();
    root = await bed.defaultDeployment();
    expect(installed(root, 'probe-ao')).toBe(false);
    await fsckClean(bed.repo);
  });
});
