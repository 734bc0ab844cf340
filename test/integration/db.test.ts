/**
 * `apt-ostree db diff|list|version` on real sysroots, and the package lists of real commits
 * (commit metadata, dpkg status read with ostree cat, deployment checkouts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitPackages, pkglistMetadata } from '../../src/engine/deployments/packages.js';
import { META } from '../../src/layout/commit-metadata.js';
import { commit as ostreeCommit } from '../../src/system/ostree.js';
import { readCommit } from '../../src/ostree/commit.js';
import { cli, sh } from '../fixtures/env.js';
import { commitSyntheticBase, makeSyntheticSysroot, writeSyntheticTree, type SyntheticPackage, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('commitPackages on real repositories', () => {
  let tmp: string;
  const repos: Record<string, string> = {};
  beforeAll(async () => {
    tmp = makeTemp('pkglist-');
    for (const mode of ['archive', 'bare']) {
      repos[mode] = join(tmp, `repo-${mode}`);
      await sh('ostree', [`--repo=${repos[mode]}`, 'init', `--mode=${mode}`]);
    }
  });
  afterAll(async () => removeTemp(tmp));

  for (const mode of ['archive', 'bare']) {
    it(`reads the dpkg status file out of a commit (${mode} repo)`, async () => {
      const c = await commitSyntheticBase(repos[mode]!, 'test/status', `s-${mode}`, tmp, undefined, {
        packages: [['zsh', '5.9-4'], ['bash', '5.2.15-2'], ['libc6', '2.36-9', 'i386'], ['broken', '1.0', 'amd64', 'half-installed'], ['tzdata', '2024a-0+deb12u1', 'all']],
      });
      const r = await commitPackages(repos[mode]!, c);
      expect(r).toEqual({
        checksum: c,
        source: 'status-file',
        packages: [
          { name: 'bash', version: '5.2.15-2', arch: 'amd64' },
          { name: 'libc6', version: '2.36-9', arch: 'i386' },
          { name: 'tzdata', version: '2024a-0+deb12u1', arch: 'all' },
          { name: 'zsh', version: '5.9-4', arch: 'amd64' },
        ],
      });
    });
  }

  it('prefers the aptostree.dpkg.pkglist metadata over the status file', async () => {
    const c = await commitSyntheticBase(repos.archive!, 'test/meta', 'm1', tmp, undefined, {
      packages: [['bash', '5.2.15-2']],
      pkglistMetadata: [['bash', '5.2.15-2', 'amd64'], ['only-in-metadata', '1.0', 'all']],
    });
    const r = await commitPackages(repos.archive!, c);
    expect(r.source).toBe('metadata');
    expect(r.packages.map((p) => p.name)).toEqual(['bash', 'only-in-metadata']);
  });

  it('reads the metadata that src/system/ostree.ts commit() writes (the layering path), including an empty list', async () => {
    const tree = join(tmp, 'tree-meta2');
    writeSyntheticTree(tree, { packages: [['bash', '5.2.15-2']] });
    const list = pkglistMetadata([{ name: 'zsh', version: '5.9-4', architecture: 'amd64' }, { name: 'bash', version: "1:5.2'quote", architecture: 'amd64' }]);
    const c = await ostreeCommit({ repo: repos.bare!, branch: 'test/meta2', tree, metadata: { [META.pkglist]: list } });
    expect(readCommit(repos.bare!, c).metadata[META.pkglist]).toEqual([['bash', "1:5.2'quote", 'amd64'], ['zsh', '5.9-4', 'amd64']]);
    const r = await commitPackages(repos.bare!, c);
    expect(r).toMatchObject({ source: 'metadata', packages: [{ name: 'bash', version: "1:5.2'quote", arch: 'amd64' }, { name: 'zsh', version: '5.9-4', arch: 'amd64' }] });
    const empty = await ostreeCommit({ repo: repos.bare!, branch: 'test/meta3', tree, metadata: { [META.pkglist]: [] } });
    expect(await commitPackages(repos.bare!, empty)).toMatchObject({ source: 'metadata', packages: [] });
  });

  it('falls back to /var/lib/dpkg/status for a plain Debian tree', async () => {
    const tree = join(tmp, 'tree-plain');
    mkdirSync(join(tree, 'var/lib/dpkg'), { recursive: true });
    writeFileSync(join(tree, 'var/lib/dpkg/status'), 'Package: dash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.5.12-2\n');
    const c = (await sh('ostree', [`--repo=${repos.archive}`, 'commit', '--orphan', `--tree=dir=${tree}`])).trim();
    expect(await commitPackages(repos.archive!, c)).toEqual({ checksum: c, source: 'status-file', packages: [{ name: 'dash', version: '0.5.12-2', arch: 'amd64' }] });
  });

  it('reads a checkout on disk when given one, without ostree', async () => {
    const c = await commitSyntheticBase(repos.archive!, 'test/tree', 't1', tmp, undefined, { packages: [['bash', '5.2.15-2']] });
    const tree = join(tmp, 'tree-t1'); // commitSyntheticBase's own tree: the same content
    writeFileSync(join(tree, 'usr/share/dpkg/database/status'), 'Package: from-checkout\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n');
    expect((await commitPackages(repos.archive!, c, { treeRoot: tree })).packages.map((p) => p.name)).toEqual(['from-checkout']);
    // A checkout without a dpkg database: the commit itself is read.
    expect((await commitPackages(repos.archive!, c, { treeRoot: join(tmp, 'nowhere') })).packages.map((p) => p.name)).toEqual(['bash']);
  });

  it('fails clearly for a commit without a dpkg database, and for a missing commit', async () => {
    const tree = join(tmp, 'tree-empty');
    mkdirSync(join(tree, 'usr'), { recursive: true });
    writeFileSync(join(tree, 'usr/x'), 'x');
    const c = (await sh('ostree', [`--repo=${repos.archive}`, 'commit', '--orphan', `--tree=dir=${tree}`])).trim();
    await expect(commitPackages(repos.archive!, c)).rejects.toThrow(/has no package list: no aptostree.dpkg.pkglist metadata and no dpkg database/);
    await expect(commitPackages(repos.archive!, 'a'.repeat(64))).rejects.toThrow(/The commit a{64} is not in the repository/);
  });
});

// Three base versions: 1.0 → 2.0 changes every kind of thing; 3.0 carries aptostree.dpkg.pkglist.
const V1: SyntheticPackage[] = [
  ['base-files', '12.4'], ['dpkg', '1.21.22'], ['nano', '7.2-1'], ['vim', '2:9.0.1378-2'], ['curl', '7.88.1-10'],
  ['libc6', '2.36-9'], ['libc6', '2.36-9', 'i386'], ['half', '1.0', 'amd64', 'half-installed'],
];
const V2: SyntheticPackage[] = [
  ['base-files', '12.4+deb12u1'], ['dpkg', '1.21.22'], ['vim', '2:9.0.1000-1'], ['curl', '7.88.1-10+deb12u5'], ['htop', '3.2.2-2'],
  ['libc6', '2.36-9+deb12u4'], ['tzdata', '2024a-0+deb12u1', 'all'], ['zlib1g', '1:1.2.13.dfsg-1'], ['half', '1.0'],
];
const V3: SyntheticPackage[] = [
  ['base-files', '12.4+deb12u1'], ['dpkg', '1.21.23'], ['vim', '2:9.0.1000-1'], ['curl', '7.88.1-10+deb12u5'], ['jq', '1.6-2.1'],
  ['libc6', '2.36-9+deb12u4'], ['tzdata', '2024a-0+deb12u1', 'all'], ['zlib1g', '1:1.2.13.dfsg-1'], ['half', '1.0'],
];

const DIFF_1_2 = [
  '!base-files 12.4 -> 12.4+deb12u1',
  '!curl 7.88.1-10 -> 7.88.1-10+deb12u5',
  '+half 1.0',
  '+htop 3.2.2-2',
  '-libc6:i386 2.36-9',
  '!libc6 2.36-9 -> 2.36-9+deb12u4',
  '-nano 7.2-1',
  '+tzdata 2024a-0+deb12u1',
  '!vim 2:9.0.1378-2 -> 2:9.0.1000-1',
  '+zlib1g 1:1.2.13.dfsg-1',
];

const BLOCK_1_2 = [
  'Upgraded:',
  '  base-files 12.4 -> 12.4+deb12u1',
  '  curl 7.88.1-10 -> 7.88.1-10+deb12u5',
  '  libc6 2.36-9 -> 2.36-9+deb12u4',
  'Downgraded:',
  '  vim 2:9.0.1378-2 -> 2:9.0.1000-1',
  'Removed:',
  '  libc6:i386 2.36-9',
  '  nano 7.2-1',
  'Added:',
  '  half 1.0',
  '  htop 3.2.2-2',
  '  tzdata 2024a-0+deb12u1',
  '  zlib1g 1:1.2.13.dfsg-1',
];

const JSON_1_2 = {
  added: [
    { name: 'half', version: '1.0', arch: 'amd64' },
    { name: 'htop', version: '3.2.2-2', arch: 'amd64' },
    { name: 'tzdata', version: '2024a-0+deb12u1', arch: 'all' },
    { name: 'zlib1g', version: '1:1.2.13.dfsg-1', arch: 'amd64' },
  ],
  removed: [
    { name: 'libc6', version: '2.36-9', arch: 'i386' },
    { name: 'nano', version: '7.2-1', arch: 'amd64' },
  ],
  upgraded: [
    { name: 'base-files', arch: 'amd64', from: '12.4', to: '12.4+deb12u1' },
    { name: 'curl', arch: 'amd64', from: '7.88.1-10', to: '7.88.1-10+deb12u5' },
    { name: 'libc6', arch: 'amd64', from: '2.36-9', to: '2.36-9+deb12u4' },
  ],
  downgraded: [{ name: 'vim', arch: 'amd64', from: '2:9.0.1378-2', to: '2:9.0.1000-1' }],
};

const header = (from: string, to: string) => [`ostree diff commit from: ${from}`, `ostree diff commit to:   ${to}`];
const lines = (out: string) => out.replace(/\n$/, '').split('\n');

describe('apt-ostree db on a real sysroot', () => {
  let tmp: string;
  let s: TestSysroot;
  let c1: string, c2: string, c3: string;
  let db: (...args: string[]) => ReturnType<typeof cli>;
  beforeAll(async () => {
    tmp = makeTemp('db-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0', '2.0', '3.0'], packages: { '1.0': V1, '2.0': V2, '3.0': V3 }, pkglistMetadata: ['3.0'] });
    [c1, c2, c3] = s.commits as [string, string, string];
    db = (...args: string[]) => cli(['--sysroot', s.sysroot, 'db', ...args]);
  });
  afterAll(async () => removeTemp(tmp));

  it('the fixture: 3.0 has the pkglist metadata, 1.0 and 2.0 do not; deployment 0 is 3.0, deployment 1 is 2.0', async () => {
    expect(readCommit(s.repo, c3).metadata[META.pkglist]).toBeDefined();
    expect(readCommit(s.repo, c2).metadata[META.pkglist]).toBeUndefined();
    const st = JSON.parse((await cli(['--sysroot', s.sysroot, 'status', '--json'])).stdout);
    expect(st.deployments.map((d: { checksum: string }) => d.checksum)).toEqual([c3, c2]);
  });

  it('diff --format=diff between two commits read from their status files', async () => {
    const r = await db('diff', c1, c2, '--format=diff');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual([...header(c1, c2), ...DIFF_1_2]);
    expect(r.stderr).toBe('');
  });

  it('diff --format=block (the default) and -F block', async () => {
    const r = await db('diff', c1, c2);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual([...header(c1, c2), ...BLOCK_1_2]);
    expect((await db('diff', c1, c2, '-F', 'block')).stdout).toBe(r.stdout);
  });

  it('diff --format=json', async () => {
    const r = await db('diff', c1, c2, '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      from: { revision: c1, checksum: c1, source: 'status-file' },
      to: { revision: c2, checksum: c2, source: 'status-file' },
      ...JSON_1_2,
    });
  });

  it('the reverse diff swaps added/removed and upgraded/downgraded', async () => {
    const j = JSON.parse((await db('diff', c2, c1, '--format=json')).stdout);
    expect(j.added).toEqual(JSON_1_2.removed);
    expect(j.removed).toEqual(JSON_1_2.added);
    expect(j.upgraded).toEqual([{ name: 'vim', arch: 'amd64', from: '2:9.0.1000-1', to: '2:9.0.1378-2' }]);
    expect(j.downgraded.map((c: { name: string }) => c.name)).toEqual(['base-files', 'curl', 'libc6']);
  });

  it('diff against a commit whose list comes from metadata, in all three formats', async () => {
    const d = await db('diff', c2, c3, '--format=diff');
    expect(lines(d.stdout)).toEqual([...header(c2, c3), '!dpkg 1.21.22 -> 1.21.23', '-htop 3.2.2-2', '+jq 1.6-2.1']);
    const b = await db('diff', c2, c3);
    expect(lines(b.stdout)).toEqual([...header(c2, c3), 'Upgraded:', '  dpkg 1.21.22 -> 1.21.23', 'Removed:', '  htop 3.2.2-2', 'Added:', '  jq 1.6-2.1']);
    const j = JSON.parse((await db('diff', c2, c3, '--format=json')).stdout);
    expect(j).toEqual({
      from: { revision: c2, checksum: c2, source: 'status-file' },
      to: { revision: c3, checksum: c3, source: 'metadata' },
      added: [{ name: 'jq', version: '1.6-2.1', arch: 'amd64' }],
      removed: [{ name: 'htop', version: '3.2.2-2', arch: 'amd64' }],
      upgraded: [{ name: 'dpkg', arch: 'amd64', from: '1.21.22', to: '1.21.23' }],
      downgraded: [],
    });
  });

  it('without revisions, on a sysroot that is not booted: the rollback deployment against the default one', async () => {
    const r = await db('diff', '--format=diff');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual([...header(`rollback deployment (${c2})`, `default deployment (${c3})`), '!dpkg 1.21.22 -> 1.21.23', '-htop 3.2.2-2', '+jq 1.6-2.1']);
  });

  it('with one revision: the default deployment against it (rpm-ostree: booted against it)', async () => {
    const r = await db('diff', c2, '--format=diff');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual([...header(`default deployment (${c3})`, c2), '!dpkg 1.21.23 -> 1.21.22', '+htop 3.2.2-2', '-jq 1.6-2.1']);
  });

  it('resolves deployment:N, keywords, refs, REV^ / REV~N and checksum prefixes to the same lists', async () => {
    const want = lines((await db('diff', c1, c2, '--format=diff')).stdout).slice(2);
    const forms: Array<[string, string]> = [
      [c1.slice(0, 8), c2.slice(0, 10)],
      [`origin:${s.ref}~2`, `origin:${s.ref}^`],
      [`${s.ref}~2`, 'rollback'],
      [`${c2}^`, 'deployment:1'],
      [`deployment:0~2`, `deployment:0^`],
    ];
    for (const [a, b] of forms) {
      const r = await db('diff', a, b, '--format=diff');
      expect(r.code, `${a} ${b}: ${r.stderr}`).toBe(0);
      expect(lines(r.stdout).slice(2), `${a} ${b}`).toEqual(want);
    }
    const named = await db('diff', 'rollback', 'deployment:0', '--format=diff');
    expect(lines(named.stdout).slice(0, 2)).toEqual(header(`rollback deployment (${c2})`, `deployment 0 (${c3})`));
    const pending = await db('diff', 'deployment:1', 'pending', '--format=diff');
    expect(lines(pending.stdout)[1]).toBe(`ostree diff commit to:   pending deployment (${c3})`);
  });

  it('a deployment read from its checkout and the same commit read with ostree cat agree', async () => {
    const r = await db('diff', 'deployment:1', c2, '--format=json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ from: { source: 'status-file' }, added: [], removed: [], upgraded: [], downgraded: [] });
    const b = await db('diff', 'deployment:1', c2);
    expect(lines(b.stdout).at(-1)).toBe('No package changes.');
  });

  it('list prints a header and "name version arch" per package, for each revision', async () => {
    const r = await db('list', c1, 'deployment:0');
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout).map((l) => l.replace(/\s+/g, ' '));
    expect(out).toEqual([
      `ostree commit: ${c1}`,
      ' base-files 12.4 amd64', ' curl 7.88.1-10 amd64', ' dpkg 1.21.22 amd64', ' libc6 2.36-9 amd64', ' libc6 2.36-9 i386', ' nano 7.2-1 amd64', ' vim 2:9.0.1378-2 amd64',
      `ostree commit: deployment 0 (${c3})`,
      ' base-files 12.4+deb12u1 amd64', ' curl 7.88.1-10+deb12u5 amd64', ' dpkg 1.21.23 amd64', ' half 1.0 amd64', ' jq 1.6-2.1 amd64', ' libc6 2.36-9+deb12u4 amd64',
      ' tzdata 2024a-0+deb12u1 all', ' vim 2:9.0.1000-1 amd64', ' zlib1g 1:1.2.13.dfsg-1 amd64',
    ]);
    // Columns are aligned: in each block, every version starts at the same column.
    const block = lines(r.stdout).slice(1, 8);
    expect(new Set(block.map((l) => /^ \S+\s+/.exec(l)![0].length)).size).toBe(1);
    expect(new Set(block.map((l) => /^ \S+\s+\S+\s+/.exec(l)![0].length)).size).toBe(1);
  });

  it('list filters by positional patterns and --pattern', async () => {
    const r = await db('list', c2, 'lib*', 'c?rl');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout).map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '))).toEqual(['ostree commit:', 'curl 7.88.1-10+deb12u5', 'libc6 2.36-9+deb12u4']);
    const p = await db('list', c2, '--pattern', 'htop', '--pattern', 'zlib*', '--json');
    expect(JSON.parse(p.stdout)).toEqual([{ revision: c2, checksum: c2, packages: [{ name: 'htop', version: '3.2.2-2', arch: 'amd64' }, { name: 'zlib1g', version: '1:1.2.13.dfsg-1', arch: 'amd64' }] }]);
  });

  it('list of a metadata commit equals the installed packages of its status file', async () => {
    const meta = JSON.parse((await db('list', c3, '--json')).stdout)[0].packages;
    const copy = await commitSyntheticBase(s.repo, 'test/copy-of-3.0', '3.0-copy', tmp, undefined, { packages: V3 });
    expect(readCommit(s.repo, copy).metadata[META.pkglist]).toBeUndefined();
    const fromStatus = JSON.parse((await db('list', 'test/copy-of-3.0', '--json')).stdout)[0].packages;
    expect(fromStatus).toEqual(meta);
    expect(meta).toHaveLength(9);
    const v = await db('version', c3, 'test/copy-of-3.0');
    expect(v.code, v.stderr).toBe(0);
    const versions = [...v.stdout.matchAll(/dpkg database version: (\S+)/g)].map((m) => m[1]);
    expect(versions).toHaveLength(2);
    expect(versions[0]).toMatch(/^9:[0-9a-f]{16}$/);
    expect(versions[1]).toBe(versions[0]);
  });

  it('list A..B walks the history; version prints COUNT:HASH per revision', async () => {
    const r = await db('list', `${c1}..${c3}`, 'dpkg');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout).map((l) => l.trim().replace(/\s+/g, ' '))).toEqual([`ostree commit: ${c3}`, 'dpkg 1.21.23 amd64', `ostree commit: ${c2}`, 'dpkg 1.21.22 amd64']);
    const v = await db('version', c1, c2, '--json');
    expect(v.code, v.stderr).toBe(0);
    const j = JSON.parse(v.stdout);
    expect(j.map((x: { count: number }) => x.count)).toEqual([7, 9]);
    expect(j[0].version).toBe(`7:${j[0].sha256.slice(0, 16)}`);
    expect(j[0].version).not.toBe(j[1].version);
    const text = await db('version', c1);
    expect(lines(text.stdout)).toEqual([`ostree commit: ${c1}`, `  dpkg database version: ${j[0].version}`]);
  });

  it('unknown revisions fail with exit 1 naming them', async () => {
    for (const args of [['diff', 'nosuchref', c1], ['diff', c1, 'deadbeef00'], ['list', c1, 'deadbeef00'], ['list', 'No/Such:ref'], ['version', 'nosuchref'], ['version', c1, 'origin:nope']]) {
      const r = await db(...args);
      const bad = args.find((a) => /nosuch|deadbeef|No\/Such|nope/.test(a))!;
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toContain(`Unknown revision '${bad}'`);
      expect(r.stderr).toMatch(/deployment:N/); // the hint says what a revision is
      expect(r.stdout).toBe('');
    }
    const list = await db('list', 'htop');
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/No revision given/);
  });

  it('deployment keywords that do not apply fail clearly', async () => {
    const booted = await db('diff', 'booted', c1);
    expect(booted.code).toBe(1);
    expect(booted.stderr).toMatch(/There is no booted deployment: the sysroot is not the running system/);
    const nine = await db('list', 'deployment:9');
    expect(nine.code).toBe(1);
    expect(nine.stderr).toMatch(/There is no deployment 9: .* has 2 deployments \(0 to 1\)/);
    const fmt = await db('diff', c1, c2, '--format=yaml');
    expect(fmt.code).toBe(1);
    expect(fmt.stderr).toMatch(/yaml/);
  });

  it('a checksum prefix needs at least 6 hex digits', async () => {
    expect((await db('version', c1.slice(0, 6))).code).toBe(0);
    const short = await db('version', c1.slice(0, 5));
    expect(short.code).toBe(1);
    expect(short.stderr).toContain(`Unknown revision '${c1.slice(0, 5)}'`);
  });

  it('works for a user who is not root', async () => {
    for (const args of [['diff', c1, c2, '--format=diff'], ['diff', '--format=diff'], ['list', c3], ['version', 'deployment:1']]) {
      const r = await cli(['--sysroot', s.sysroot, 'db', ...args], { uid: 65534 });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    const r = await cli(['--sysroot', s.sysroot, 'db', 'diff', c1, c2, '--format=diff'], { uid: 65534 });
    expect(lines(r.stdout)).toEqual([...header(c1, c2), ...DIFF_1_2]);
  });
});

describe('apt-ostree db on a layered deployment', () => {
  let tmp: string;
  let s: TestSysroot;
  let base: string;
  let layered: string;
  beforeAll(async () => {
    tmp = makeTemp('db-layered-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0'], packages: { '1.0': V2 } });
    base = s.commits[0]!;
    // A layered commit as the layering code writes it: the base plus two packages, with
    // aptostree.base-checksum and aptostree.dpkg.pkglist.
    const tree = join(tmp, 'tree-layered');
    const packages: SyntheticPackage[] = [...V2, ['jq', '1.6-2.1'], ['libjq1', '1.6-2.1']];
    writeSyntheticTree(tree, { packages });
    layered = await ostreeCommit({
      repo: s.repo, branch: 'aptostree/layered/debian', tree, parent: 'none',
      metadata: {
        'aptostree.clientlayer': true,
        'aptostree.base-checksum': base,
        [META.pkglist]: pkglistMetadata(packages.map(([name, version, arch]) => ({ name, version, arch: arch ?? 'amd64' }))),
      },
    });
    await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'deploy', '--os=debian', '--karg=rw', layered]);
  });
  afterAll(async () => removeTemp(tmp));

  it('db diff between the base and the layered deployment lists exactly the layered packages', async () => {
    const r = await cli(['--sysroot', s.sysroot, 'db', 'diff', '--format=diff']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual([...header(`rollback deployment (${base})`, `default deployment (${layered})`), '+jq 1.6-2.1', '+libjq1 1.6-2.1']);
    const j = JSON.parse((await cli(['--sysroot', s.sysroot, 'db', 'diff', base, 'deployment:0', '--format=json'])).stdout);
    expect(j).toMatchObject({ to: { source: 'metadata' }, added: [{ name: 'jq' }, { name: 'libjq1' }], removed: [], upgraded: [], downgraded: [] });
  });

  it('--base compares the base images of deployments', async () => {
    const r = await cli(['--sysroot', s.sysroot, 'db', 'diff', '--base']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual([...header(`rollback deployment (${base})`, `base of default deployment (${base})`), 'No package changes.']);
  });
});
