/**
 * Images whose dpkg database is reached through a symlink (issue 31): layering and compose
 * commit refuse them naming the link (ostree said only "Not a directory"), db list follows the
 * links inside the tree as a chroot would, and nothing reads or changes the host's files through
 * an absolute link (a decoy directory stands for the host's /var/lib/dpkg).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, sh } from '../fixtures/env.js';
import { commitTree, foreignSysroot, writeTinyForeignTree } from '../fixtures/foreign-base.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const STATUS = 'Package: base-files\nStatus: install ok installed\nVersion: 12.4\nArchitecture: amd64\n';
const HOST_STATUS = 'Package: host-only-pkg\nStatus: install ok installed\nVersion: 9\nArchitecture: amd64\n';

function put(root: string, rel: string, content: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), content);
}
function link(root: string, rel: string, target: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  symlinkSync(target, join(root, rel));
}

describe('a dpkg database behind a symlink', () => {
  let tmp: string;
  let srv: string;
  let decoy: string;
  const decoyFiles = () => ['status', 'lock', 'status-old'].map((n) => existsSync(join(decoy, n)) && readFileSync(join(decoy, n), 'utf8'));

  beforeAll(() => {
    tmp = makeTemp('dpkg-links-');
    srv = join(tmp, 'srv');
    decoy = join(tmp, 'host-dpkg');
    put(decoy, 'status', HOST_STATUS);
    put(decoy, 'lock', '');
    put(decoy, 'status-old', HOST_STATUS);
  });
  afterAll(async () => removeTemp(tmp));

  /** A deployed tiny image whose /usr/share/dpkg/database is a link to `target`. */
  async function deployed(name: string, target: (tree: string) => string) {
    const tree = join(tmp, `tree-${name}`);
    writeTinyForeignTree(tree);
    const to = target(tree);
    rmSync(join(tree, 'usr/share/dpkg/database'), { recursive: true });
    symlinkSync(to, join(tree, 'usr/share/dpkg/database'));
    await commitTree(srv, `links/${name}`, tree, '1');
    return (await foreignSysroot(join(tmp, `sr-${name}`), srv, `links/${name}`)).sysroot;
  }
  const state = async (sysroot: string) => ({
    status: (await cli(['--sysroot', sysroot, 'status', '--json'])).stdout,
    refs: await sh('ostree', [`--repo=${join(sysroot, 'ostree/repo')}`, 'refs']),
  });

  for (const [name, absolute] of [['inside', true], ['host', false]] as const) {
    it(`install refuses /usr/share/dpkg/database as an absolute link (${name === 'inside' ? 'to a directory of the image' : 'to a host path'}), naming it; db list never reads the host`, async () => {
      const sysroot = await deployed(name, (tree) => {
        if (!absolute) return decoy;
        mkdirSync(join(tree, 'usr/lib/sysimage'), { recursive: true });
        renameSync(join(tree, 'usr/share/dpkg/database'), join(tree, 'usr/lib/sysimage/dpkg'));
        mkdirSync(join(tree, 'usr/share/dpkg/database'));
        return '/usr/lib/sysimage/dpkg';
      });
      const before = await state(sysroot);
      const r = await cli(['--sysroot', sysroot, 'install', 'hello-ao']);
      expect(r.code, r.stderr).toBe(1);
      const target = absolute ? '/usr/lib/sysimage/dpkg' : decoy;
      expect(r.stderr).toContain(`has a symlink /usr/share/dpkg/database → ${target} where its dpkg database must be a directory, so packages cannot be layered on it.`);
      expect(r.stderr).toMatch(/docs\/layout\.md: the dpkg database is a real directory at \/usr\/share\/dpkg\/database/);
      expect(r.stderr).not.toMatch(/Not a directory|Updating package lists/);
      expect(await state(sysroot)).toEqual(before);

      // db list reads the deployment's database through the link taken inside the tree.
      const list = await cli(['--sysroot', sysroot, 'db', 'list', 'deployment:0']);
      expect(list.stdout).not.toMatch(/host-only-pkg/);
      if (absolute) {
        expect(list.code, list.stderr).toBe(0);
        expect(list.stdout).toMatch(/^ dpkg 1\.21\.22 amd64$/m);
      } else {
        expect(list.code).toBe(1);
        expect(list.stderr).toMatch(/has no package list/);
      }
      expect(decoyFiles()).toEqual([HOST_STATUS, '', HOST_STATUS]);
    });
  }

  const composeCases: Array<[string, (t: string) => void, RegExp]> = [
    ['database link inside the tree', (t) => { put(t, 'usr/lib/sysimage/dpkg/status', STATUS); link(t, 'usr/share/dpkg/database', '/usr/lib/sysimage/dpkg'); },
      /has a symlink \/usr\/share\/dpkg\/database → \/usr\/lib\/sysimage\/dpkg where its dpkg database must be a directory \(\/usr\/share\/dpkg\/database\)\./],
    ['database link to a host path', (t) => link(t, 'usr/share/dpkg/database', decoy),
      /has a symlink \/usr\/share\/dpkg\/database → \S+host-dpkg where its dpkg database must be a directory/],
    ['link on the way', (t) => { put(t, 'usr/lib/dpkg-share/database/status', STATUS); link(t, 'usr/share/dpkg', '/usr/lib/dpkg-share'); },
      /has a symlink \/usr\/share\/dpkg → \/usr\/lib\/dpkg-share where its dpkg database must be a directory/],
    ['/var/lib/dpkg as an absolute link', (t) => { put(t, 'usr/lib/sysimage/dpkg/status', STATUS); link(t, 'var/lib/dpkg', '/usr/lib/sysimage/dpkg'); },
      /has \/var\/lib\/dpkg as a symlink to \/usr\/lib\/sysimage\/dpkg and no dpkg database at \/usr\/share\/dpkg\/database\./],
    ['/var/lib/dpkg linked to a host path', (t) => link(t, 'var/lib/dpkg', decoy),
      /has \/var\/lib\/dpkg as a symlink to \S+host-dpkg and no dpkg database/],
  ];
  for (const [what, make, message] of composeCases) {
    it(`compose commit refuses a tree with its ${what}, naming the link, and commits nothing`, async () => {
      const tree = join(tmp, `plain-${what.replace(/\W+/g, '-')}`);
      put(tree, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
      put(tree, 'etc/group', 'root:x:0:\n');
      put(tree, 'etc/os-release', 'ID=debian\n');
      put(tree, 'usr/bin/marker', 'x\n');
      make(tree);
      const repo = join(tmp, 'compose-repo');
      const r = await cli(['compose', 'commit', tree, '--repo', repo, '--ref', 'links/compose']);
      expect(r.code, r.stderr).toBe(1);
      const first = r.stderr.split('\n').find((l) => l.startsWith('error: '))!;
      expect(first, r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/docs\/layout\.md/);
      expect(existsSync(join(repo, 'refs/heads/links/compose'))).toBe(false);
      expect(decoyFiles()).toEqual([HOST_STATUS, '', HOST_STATUS]);
    });
  }

  it('compose commit still converts /var/lib/dpkg linked to the database itself', async () => {
    const tree = join(tmp, 'plain-ok');
    put(tree, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    put(tree, 'etc/os-release', 'ID=debian\n');
    put(tree, 'usr/share/dpkg/database/status', STATUS);
    link(tree, 'var/lib/dpkg', '/usr/share/dpkg/database');
    const repo = join(tmp, 'compose-repo');
    const r = await cli(['compose', 'commit', tree, '--repo', repo, '--ref', 'links/ok']);
    expect(r.code, r.stderr).toBe(0);
    expect(await sh('ostree', [`--repo=${repo}`, 'cat', 'links/ok', '/usr/share/dpkg/database/status'])).toMatch(/^Package: base-files$/m);
  });
});
