/**
 * `apt-ostree compose commit`: a root filesystem built elsewhere, converted and committed by the
 * real binary. The cached minbase repository (built by this very command) is checked for the
 * layout and metadata; a small synthetic tree exercises the options and the failure paths.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, lstatSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCommit } from '../../src/ostree/commit.js';
import { resolveRefFile } from '../../src/ostree/refs.js';
import { cli, fsckClean, sh } from '../fixtures/env.js';
import { minbaseRepo, MINBASE_VERSION, type CachedRepo } from '../fixtures/minbase.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

/** `ostree ls` of one directory of a commit: name → type/target. */
async function ls(repo: string, rev: string, path: string): Promise<Map<string, string>> {
  const out = await sh('ostree', [`--repo=${repo}`, 'ls', rev, path]);
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    if (f[4] === path) continue; // the directory itself
    const name = f[4]!.split('/').pop()!;
    m.set(name, f[0]!.startsWith('l') ? `-> ${f[6]}` : f[0]!.startsWith('d') ? 'dir' : 'file');
  }
  return m;
}

describe('compose commit of the minbase tree (the cached test repository)', () => {
  let mb: CachedRepo;
  beforeAll(async () => {
    mb = await minbaseRepo();
  });

  it('is an fsck-clean commit in the layout of docs/layout.md', async () => {
    await fsckClean(mb.repo);
    const root = await ls(mb.repo, mb.ref, '/');
    expect(Object.fromEntries([...root].filter(([, v]) => v.startsWith('->')))).toMatchObject({
      home: '-> var/home', root: '-> var/roothome', opt: '-> var/opt', srv: '-> var/srv', mnt: '-> var/mnt',
      media: '-> run/media', ostree: '-> sysroot/ostree', bin: '-> usr/bin',
    });
    expect(root.get('etc')).toBeUndefined();
    for (const d of ['usr', 'boot', 'dev', 'proc', 'sys', 'run', 'tmp', 'var', 'sysroot']) expect(root.get(d), d).toBe('dir');
    for (const d of ['/var', '/dev', '/boot', '/tmp', '/run']) expect([...(await ls(mb.repo, mb.ref, d)).keys()], d).toEqual([]);
    expect((await ls(mb.repo, mb.ref, '/usr')).get('local')).toBe('-> ../var/usrlocal');
    expect((await sh('ostree', [`--repo=${mb.repo}`, 'cat', mb.ref, '/usr/etc/machine-id']))).toBe('');
    expect(await sh('ostree', [`--repo=${mb.repo}`, 'cat', mb.ref, '/usr/lib/tmpfiles.d/apt-ostree-base.conf'])).toContain('L /var/lib/dpkg - - - - ../../usr/share/dpkg/database');
    expect(await sh('ostree', [`--repo=${mb.repo}`, 'cat', mb.ref, '/usr/lib/sysusers.d/apt-ostree-base.conf'])).toContain('u _apt 42:65534');
    expect((await ls(mb.repo, mb.ref, '/usr/share/dpkg/database')).get('status')).toBe('file');
  });

  it('carries the version and the package list as a(sss)', async () => {
    const c = readCommit(mb.repo, mb.checksum);
    expect(c.metadata.version).toBe(MINBASE_VERSION);
    const pkglist = c.metadata['aptostree.dpkg.pkglist'] as string[][];
    expect(pkglist.length).toBeGreaterThan(80);
    expect(pkglist.find((p) => p[0] === 'dpkg')).toEqual(['dpkg', expect.stringMatching(/^1\./), 'amd64']);
    const status = await sh('ostree', [`--repo=${mb.repo}`, 'cat', mb.ref, '/usr/share/dpkg/database/status']);
    expect(pkglist.length).toBe(status.split('\n').filter((l) => l === 'Status: install ok installed').length);
  });
});

/** A small plain Debian-like tree (not converted): enough for compose commit and ostree deploy. */
function writePlainTree(root: string, marker: string): void {
  const files: Record<string, string> = {
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
    'etc/group': 'root:x:0:\n',
    'etc/os-release': 'ID=debian\n',
    'usr/bin/marker': `${marker}\n`,
    'var/lib/dpkg/status': 'Package: base-files\nStatus: install ok installed\nVersion: 12.4\nArchitecture: amd64\n\nPackage: removed\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\n',
    'var/lib/app/state': 'state\n',
  };
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), c);
  }
}

function treeDigest(root: string): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    for (const n of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(join(root, r));
      h.update(`${r} ${st.mode} ${st.ino} ${st.isSymbolicLink() ? readlinkSync(join(root, r)) : ''}\n`);
      if (st.isFile()) h.update(readFileSync(join(root, r)));
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return h.digest('hex');
}

describe('compose commit of a tree built elsewhere', () => {
  let tmp: string;
  let rootfs: string;
  let repo: string;
  const ref = 'test/custom';
  beforeAll(() => {
    tmp = makeTemp('compose-commit-');
    rootfs = join(tmp, 'rootfs');
    repo = join(tmp, 'repo');
    writePlainTree(rootfs, 'one');
  });
  afterAll(async () => removeTemp(tmp));

  it('commits a converted copy and leaves the given tree exactly as it was', async () => {
    const before = treeDigest(rootfs);
    const r = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', ref, '--version', '1.0', '--metadata', 'org.example.build=42', '--karg', 'console=ttyS0', '--karg', 'quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${ref} => [0-9a-f]{64}`));
    expect(treeDigest(rootfs)).toBe(before);
    expect(readdirSync(tmp).sort()).toEqual(['repo', 'rootfs']); // the working copy is gone
    await fsckClean(repo);
    const c = readCommit(repo, resolveRefFile(repo, ref)!);
    expect(c.metadata).toMatchObject({
      version: '1.0',
      'org.example.build': '42',
      'aptostree.kargs': ['console=ttyS0', 'quiet'],
      'aptostree.dpkg.pkglist': [['base-files', '12.4', 'amd64']],
    });
    expect(await sh('ostree', [`--repo=${repo}`, 'cat', ref, '/usr/bin/marker'])).toBe('one');
    expect(await sh('ostree', [`--repo=${repo}`, 'cat', ref, '/usr/share/factory/var/lib/app/state'])).toBe('state');
    expect(readFileSync(join(repo, 'config'), 'utf8')).toMatch(/mode=archive/);
  });

  it('commits nothing when the tree did not change (exit 77 with --unchanged-exit-77)', async () => {
    const head = resolveRefFile(repo, ref);
    const r = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', ref, '--unchanged-exit-77']);
    expect(r.code, r.stderr).toBe(77);
    expect(r.stdout).toContain('No changes');
    expect(resolveRefFile(repo, ref)).toBe(head);
    const r0 = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', ref]);
    expect(r0.code, r0.stderr).toBe(0);
    expect(resolveRefFile(repo, ref)).toBe(head);
  });

  it('commits a changed tree on top of the previous commit; --in-place converts the tree itself', async () => {
    const head = resolveRefFile(repo, ref)!;
    writeFileSync(join(rootfs, 'usr/bin/marker'), 'two\n');
    const out = join(tmp, 'commitid');
    const r = await cli(['compose', 'commit', rootfs, '--in-place', '--repo', repo, '--ref', ref, '--version', '2.0', '--write-commitid-to', out]);
    expect(r.code, r.stderr).toBe(0);
    const now = resolveRefFile(repo, ref)!;
    expect(readFileSync(out, 'utf8').trim()).toBe(now);
    expect(readCommit(repo, now).parent).toBe(head);
    expect(readlinkSync(join(rootfs, 'home'))).toBe('var/home'); // converted in place
    await fsckClean(repo);
  });

  it('refuses bad input before doing anything', async () => {
    const head = resolveRefFile(repo, ref);
    const cases: Array<[string[], RegExp]> = [
      [['compose', 'commit', rootfs, '--repo', repo], /needs --ref/],
      [['compose', 'commit', rootfs, '--repo', repo, '--ref', 'bad ref'], /not a valid OSTree ref/],
      [['compose', 'commit', rootfs, '--repo', repo, '--ref', ref, '--metadata', 'novalue'], /KEY=VALUE/],
      [['compose', 'commit', rootfs, '--repo', repo, '--ref', ref, '--metadata', 'aptostree.inputhash=x'], /set by apt-ostree itself/],
      [['compose', 'commit', join(tmp, 'nonexistent'), '--repo', repo, '--ref', ref], /does not exist/],
      [['compose', 'commit', join(tmp, 'repo'), '--repo', repo, '--ref', ref], /not a root filesystem/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
    expect(resolveRefFile(repo, ref)).toBe(head);
  });

  it('with --kernel, refuses a tree without a kernel and commits nothing', async () => {
    const head = resolveRefFile(repo, ref);
    const other = join(tmp, 'nokernel');
    writePlainTree(other, 'three');
    const r = await cli(['compose', 'commit', other, '--repo', repo, '--ref', ref, '--kernel']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no kernel/);
    expect(resolveRefFile(repo, ref)).toBe(head);
    expect(readdirSync(tmp).filter((n) => n.includes('apt-ostree'))).toEqual([]);
  });

  it('needs root', async () => {
    const r = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', ref], { uid: 65534 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/must run as root/);
  });
});
