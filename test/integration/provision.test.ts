/**
 * `apt-ostree admin provision`: a sysroot from nothing, from a local repository path and from
 * an HTTP URL on 127.0.0.1, checked against `ostree admin status` and `apt-ostree status`;
 * re-running changes nothing; failures leave nothing behind.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_OFFSET } from '../../src/image/disk.js';
import { serveDirectory, type StaticServer } from '../fixtures/apt-repo.js';
import { cli, fsckClean, sh } from '../fixtures/env.js';
import { minbaseRepo, minbaseSysroot, type CachedRepo } from '../fixtures/minbase.js';
import { writeSyntheticTree } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

/** Deployments as `ostree admin status` prints them, with their origin refspec. */
function parseOstreeStatus(text: string): Array<{ os: string; id: string; refspec?: string }> {
  const out: Array<{ os: string; id: string; refspec?: string }> = [];
  for (const line of text.split('\n')) {
    const m = /^[* ] (\S+) ([0-9a-f]{64}\.\d+)/.exec(line);
    if (m) out.push({ os: m[1]!, id: m[2]! });
    const o = /origin refspec: (\S+)/.exec(line);
    if (o && out.length) out.at(-1)!.refspec = o[1];
  }
  return out;
}

async function statusJson(sysroot: string): Promise<{ deployments: Array<Record<string, unknown>> }> {
  const r = await cli(['--sysroot', sysroot, 'status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function bootEntries(sysroot: string): Promise<string[]> {
  const dir = join(sysroot, 'boot', 'loader', 'entries');
  return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'utf8'));
}

describe('admin provision from a local repository path', () => {
  let tmp: string;
  let mb: CachedRepo;
  let sysroot: string;
  let first: Awaited<ReturnType<typeof cli>>;
  beforeAll(async () => {
    tmp = makeTemp('provision-');
    mb = await minbaseRepo();
    sysroot = join(tmp, 'sysroot');
    first = await cli(['--sysroot', sysroot, 'admin', 'provision', '--no-verify', '--repo', mb.repo, '--ref', mb.ref]);
  });
  afterAll(async () => removeTemp(tmp));

  it('creates the sysroot and deploys the ref with origin refspec origin:REF', async () => {
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`origin:${mb.ref}`);
    const ostree = parseOstreeStatus(await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'status']));
    expect(ostree).toEqual([{ os: 'debian', id: `${mb.checksum}.0`, refspec: `origin:${mb.ref}` }]);
    const st = await statusJson(sysroot);
    expect(st.deployments).toHaveLength(1);
    expect(st.deployments[0]).toMatchObject({ osname: 'debian', checksum: mb.checksum, origin: `origin:${mb.ref}`, version: '12.0' });
    expect((await sh('ostree', [`--repo=${sysroot}/ostree/repo`, 'remote', 'show-url', 'origin'])).trim()).toBe(`file://${mb.repo}`);
    expect((await sh('ostree', [`--repo=${sysroot}/ostree/repo`, 'config', 'get', 'sysroot.bootloader'])).trim()).toBe('grub2');
    // The GRUB menu ostree wrote (through apt-ostree's generator: not the host's grub-mkconfig) lists the deployment.
    expect(readlinkSync(join(sysroot, 'boot/grub/grub.cfg'))).toBe('../loader/grub.cfg');
    const menu = readFileSync(join(sysroot, 'boot/grub/grub.cfg'), 'utf8');
    expect(menu.match(/^menuentry /gm)).toHaveLength(1);
    expect(menu).toMatch(new RegExp(`^linux /boot/ostree/debian-[0-9a-f]{64}/vmlinuz\\S* root=LABEL=apt-ostree-root .*ostree=/ostree/boot\\.[01]/debian/[0-9a-f]{64}/0$`, 'm'));
    await fsckClean(join(sysroot, 'ostree', 'repo'));
  });

  it('gives a deployment whose /etc is the image\'s /usr/etc', () => {
    const dep = join(sysroot, 'ostree/deploy/debian/deploy', `${mb.checksum}.0`);
    expect(readFileSync(join(dep, 'etc/passwd'), 'utf8')).toContain('_apt:x:42:');
    expect(readFileSync(join(dep, 'usr/lib/tmpfiles.d/apt-ostree-base.conf'), 'utf8')).toContain('L /var/lib/dpkg');
  });

  it('changes nothing when run again with the same commit (exit 77 with --unchanged-exit-77)', async () => {
    const entries = await bootEntries(sysroot);
    const r = await cli(['--sysroot', sysroot, 'admin', 'provision', '--no-verify', '--repo', mb.repo, '--ref', mb.ref]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Nothing to do/);
    const r77 = await cli(['--sysroot', sysroot, 'admin', 'provision', '--no-verify', '--repo', mb.repo, '--ref', mb.ref, '--unchanged-exit-77']);
    expect(r77.code, r77.stderr).toBe(77);
    expect(await bootEntries(sysroot)).toEqual(entries);
    expect((await statusJson(sysroot)).deployments).toHaveLength(1);
  });

  it('--image also writes the sysroot into a disk image (even when the sysroot is unchanged)', async () => {
    const disk = join(tmp, 'disk.img');
    const r = await cli(['--sysroot', sysroot, 'admin', 'provision', '--no-verify', '--repo', mb.repo, '--ref', mb.ref, '--image', disk, '--image-size', '2G']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Wrote .*disk\.img: a GPT disk of 2048 MiB/);
    const entries = readdirSync(join(sysroot, 'boot/loader/entries'));
    expect(entries).toHaveLength(1);
    const inImage = await sh('debugfs', ['-R', `cat /boot/loader/entries/${entries[0]}`, `${disk}?offset=${ROOT_OFFSET}`]);
    expect(inImage).toBe(readFileSync(join(sysroot, 'boot/loader/entries', entries[0]!), 'utf8').replace(/\n$/, ''));
    // An existing image is refused before any work.
    const again = await cli(['--sysroot', sysroot, 'admin', 'provision', '--no-verify', '--repo', mb.repo, '--ref', mb.ref, '--image', disk]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/disk\.img already exists[\s\S]*another --image/);
  });

  it('leaves an existing sysroot as it was when the ref does not exist', async () => {
    const entries = await bootEntries(sysroot);
    const refsBefore = await sh('ostree', [`--repo=${sysroot}/ostree/repo`, 'refs']);
    // --not-as-default: a new ref may go beside the default (without it, it is refused before the pull).
    const r = await cli(['--sysroot', sysroot, 'admin', 'provision', '--no-verify', '--repo', mb.repo, '--ref', 'debian/no/such/ref', '--remote', 'other', '--not-as-default']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no ref debian\/no\/such\/ref|No such/);
    expect(await bootEntries(sysroot)).toEqual(entries);
    expect(await sh('ostree', [`--repo=${sysroot}/ostree/repo`, 'refs'])).toBe(refsBefore);
    expect((await sh('ostree', [`--repo=${sysroot}/ostree/repo`, 'remote', 'list'])).trim()).toBe('origin');
    await fsckClean(join(sysroot, 'ostree', 'repo'));
  });
});

describe('admin provision from an HTTP URL', () => {
  let tmp: string;
  let mb: CachedRepo;
  let server: StaticServer;
  beforeAll(async () => {
    tmp = makeTemp('provision-http-');
    mb = await minbaseRepo();
    server = await serveDirectory(mb.repo);
  });
  afterAll(async () => {
    await server?.close();
    await removeTemp(tmp);
  });

  it('pulls over HTTP and configures the remote for later upgrades', async () => {
    const sysroot = join(tmp, 'sysroot');
    const r = await cli(['--sysroot', sysroot, 'admin', 'provision', '--no-verify', '--url', server.url, '--ref', mb.ref, '--os', 'bookworm', '--remote', 'images']);
    expect(r.code, r.stderr).toBe(0);
    const ostree = parseOstreeStatus(await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'status']));
    expect(ostree).toEqual([{ os: 'bookworm', id: `${mb.checksum}.0`, refspec: `images:${mb.ref}` }]);
    const st = await statusJson(sysroot);
    expect(st.deployments).toHaveLength(1);
    expect(st.deployments[0]).toMatchObject({ osname: 'bookworm', checksum: mb.checksum, origin: `images:${mb.ref}` });
    expect((await sh('ostree', [`--repo=${sysroot}/ostree/repo`, 'remote', 'show-url', 'images'])).trim()).toBe(server.url);
  });

  it('accepts --remote NAME=URL as the source', async () => {
    const sysroot = join(tmp, 'sysroot2');
    const r = await cli(['--sysroot', sysroot, 'admin', 'provision', '--no-verify', '--remote', `srv=${server.url}`, '--ref', mb.ref]);
    expect(r.code, r.stderr).toBe(0);
    expect(parseOstreeStatus(await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'status']))[0]!.refspec).toBe(`srv:${mb.ref}`);
  });
});

describe('admin provision: kernel arguments, new commits, bad input', () => {
  let tmp: string;
  let repo: string;
  const ref = 'test/provision';
  beforeAll(async () => {
    tmp = makeTemp('provision-misc-');
    repo = join(tmp, 'repo');
    const tree = join(tmp, 'tree');
    writeSyntheticTree(tree, { marker: 'v1' });
    const r = await cli(['compose', 'commit', tree, '--in-place', '--repo', repo, '--ref', ref, '--version', '1', '--karg', 'console=ttyS0', '--karg', 'rw']);
    if (r.code !== 0) throw new Error(r.stderr);
  });
  afterAll(async () => removeTemp(tmp));

  it('deploys with the image\'s default kernel arguments, or the ones given', async () => {
    const a = join(tmp, 'a');
    expect((await cli(['--sysroot', a, 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', ref])).code).toBe(0);
    expect((await statusJson(a)).deployments).toHaveLength(1);
    // The image's own arguments, after the root file system that admin image labels.
    expect((await bootEntries(a)).join('')).toMatch(/options root=LABEL=apt-ostree-root console=ttyS0 rw/);
    const b = join(tmp, 'b');
    expect((await cli(['--sysroot', b, 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', ref, '--karg', 'root=/dev/vda', '--karg', 'quiet'])).code).toBe(0);
    const entry = (await bootEntries(b)).join('');
    expect(entry).toMatch(/options .*root=\/dev\/vda quiet/);
    expect(entry).not.toContain('console=ttyS0');
  });

  it('deploys a new commit of the ref as the new default with --as-default, keeping the old one', async () => {
    const a = join(tmp, 'a');
    const tree = join(tmp, 'tree2');
    writeSyntheticTree(tree, { marker: 'v2' });
    expect((await cli(['compose', 'commit', tree, '--in-place', '--repo', repo, '--ref', ref, '--version', '2', '--karg', 'console=ttyS0', '--karg', 'rw'])).code).toBe(0);
    const r = await cli(['--sysroot', a, 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', ref, '--as-default']);
    expect(r.code, r.stderr).toBe(0);
    const st = await statusJson(a);
    expect(st.deployments.map((d) => d.version)).toEqual(['2', '1']);
  });

  it('creates nothing when it fails on a new sysroot', async () => {
    const c = join(tmp, 'c');
    const r = await cli(['--sysroot', c, 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', 'test/missing']);
    expect(r.code).toBe(1);
    expect(existsSync(c)).toBe(false);
    const d = join(tmp, 'd-empty');
    mkdirSync(d);
    expect((await cli(['--sysroot', d, 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', 'test/missing'])).code).toBe(1);
    expect(readdirSync(d)).toEqual([]);
  });

  it('refuses bad arguments before touching anything', async () => {
    const e = join(tmp, 'e');
    const notRepo = join(tmp, 'not-a-repo');
    mkdirSync(notRepo);
    writeFileSync(join(notRepo, 'file'), 'x');
    const cases: Array<[string[], RegExp]> = [
      [['--sysroot', e, 'admin', 'provision', '--no-verify', '--repo', repo], /needs --ref/],
      [['--sysroot', e, 'admin', 'provision', '--no-verify', '--ref', ref], /needs a repository/],
      [['--sysroot', e, 'admin', 'provision', '--no-verify', '--repo', repo, '--url', 'http://127.0.0.1:1/', '--ref', ref], /only one of/],
      [['--sysroot', e, 'admin', 'provision', '--no-verify', '--repo', notRepo, '--ref', ref], /not an OSTree repository/],
      [['--sysroot', e, 'admin', 'provision', '--no-verify', '--url', 'ftp://example.org/repo', '--ref', ref], /not an http, https or file URL/],
      [['--sysroot', e, 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', '../etc'], /not a valid OSTree ref/],
      [['--sysroot', e, '--os', 'bad/name', 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', ref], /not a valid stateroot name/],
      [['--sysroot', e, 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', ref, '--karg', 'a b'], /not one kernel argument/],
      [['--sysroot', e, 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', ref, '--image', join(tmp, 'x.img'), '--image-size', '1K'], /too small/],
      [['--sysroot', e, 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', ref, '--image', join(e, 'disk.img')], /inside the sysroot/],
      // Verification is on by default: no key is refused, naming both ways out.
      [['--sysroot', e, 'admin', 'provision', '--repo', repo, '--ref', ref], /The remote origin \(file:\/\/.*\) has no key to verify its commits with[\s\S]*--gpg-import FILE, or pass --no-verify/],
      [['--sysroot', e, 'admin', 'provision', '--no-verify', '--gpg-import', join(tmp, 'tree', 'usr/etc/passwd'), '--repo', repo, '--ref', ref], /--no-verify turns verification off; it cannot be given with --gpg-import/],
      [['--sysroot', e, 'admin', 'provision', '--gpg-import', join(tmp, 'no-such.asc'), '--repo', repo, '--ref', ref], /The key file .*no-such\.asc does not exist/],
      [['--sysroot', e, 'admin', 'provision', '--sign-verify', join(tmp, 'ed25519.pub'), '--repo', repo, '--ref', ref], /sign-ed25519|--sign-verify is not supported/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
    expect(existsSync(e)).toBe(false);
    const r = await cli(['--sysroot', e, 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', ref], { uid: 65534 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/must run as root/);
  });
});

describe('admin provision on a sysroot that already has deployments', () => {
  let tmp: string;
  let repo: string;
  let sysroot: string;
  const ref = 'test/default';
  const commits: Record<string, string> = {};
  const provisionArgs = (...more: string[]) => ['--sysroot', sysroot, 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', ref, ...more];
  const versions = async () => (await statusJson(sysroot)).deployments.map((d) => `${d.osname}:${d.version}`);
  const sysrootRef = async () => (await sh('ostree', [`--repo=${sysroot}/ostree/repo`, 'rev-parse', `origin:${ref}`])).trim();

  async function commit(version: string): Promise<void> {
    const tree = join(tmp, `tree-${version}`);
    writeSyntheticTree(tree, { marker: `v${version}` });
    const r = await cli(['compose', 'commit', tree, '--in-place', '--repo', repo, '--ref', ref, '--version', version]);
    if (r.code !== 0) throw new Error(r.stderr);
    commits[version] = (await sh('ostree', [`--repo=${repo}`, 'rev-parse', ref])).trim();
  }

  beforeAll(async () => {
    tmp = makeTemp('provision-default-');
    repo = join(tmp, 'repo');
    sysroot = join(tmp, 'sysroot');
    await commit('1');
    const r = await cli(provisionArgs());
    if (r.code !== 0) throw new Error(r.stderr);
  });
  afterAll(async () => removeTemp(tmp));

  it('refuses to make a new commit the default without being told, and changes nothing', async () => {
    await commit('2');
    const entries = await bootEntries(sysroot);
    const r = await cli(provisionArgs());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already boots 1 \([0-9a-f]{12}\.0\) from origin:test\/default \(stateroot debian\) by default; admin provision does not replace an existing default unless asked\./);
    expect(r.stderr).toMatch(/Give --as-default .* or --not-as-default .*; no deployment is removed either way\. To update the default .* run `apt-ostree upgrade`/);
    expect(r.stderr).not.toMatch(/This is a bug/);
    expect(await bootEntries(sysroot)).toEqual(entries);
    expect(await versions()).toEqual(['debian:1']);
    // The pull was undone: the sysroot's ref still names the deployed commit.
    expect(await sysrootRef()).toBe(commits['1']);
  });

  it('--as-default makes it the default and removes no deployment, saying which were kept', async () => {
    const r2 = await cli(provisionArgs('--as-default'));
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(/Kept the existing deployment: 1 \([0-9a-f]{12}\.0\)/);
    await commit('3');
    const r3 = await cli(provisionArgs('--as-default'));
    expect(r3.code, r3.stderr).toBe(0);
    expect(r3.stdout).toContain(`deploys origin:${ref} 3 (${commits['3']!.slice(0, 12)})`);
    expect(r3.stdout).toMatch(/Kept the existing deployments: 2 \([0-9a-f]{12}\.0\), 1 \([0-9a-f]{12}\.0\)/);
    // A plain `ostree admin deploy` would have dropped 1 (neither booted nor the merge deployment).
    expect(await versions()).toEqual(['debian:3', 'debian:2', 'debian:1']);
    const again = await cli(provisionArgs('--as-default', '--unchanged-exit-77'));
    expect(again.code, again.stderr).toBe(77);
  });

  it('--not-as-default adds it after the default, which stays', async () => {
    await commit('4');
    const r = await cli(provisionArgs('--not-as-default'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/has origin:test\/default 4 \([0-9a-f]{12}\) with kernel arguments: root=LABEL=apt-ostree-root after the default; the default is still 3 \(/);
    expect(await versions()).toEqual(['debian:3', 'debian:4', 'debian:2', 'debian:1']);
    const ostreeIds = parseOstreeStatus(await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'status'])).map((d) => d.id.split('.')[0]);
    expect(ostreeIds).toEqual([commits['3'], commits['4'], commits['2'], commits['1']]);
    const again = await cli(provisionArgs('--not-as-default'));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Nothing to do/);
    await fsckClean(join(sysroot, 'ostree', 'repo'));
  });

  it('refuses to replace a default with other kernel arguments, or to put another stateroot first', async () => {
    const k = await cli(['--sysroot', sysroot, 'kargs', '--append', 'quiet']);
    expect(k.code, k.stderr).toBe(0);
    const entries = await bootEntries(sysroot);
    const before = await versions();
    const r = await cli(provisionArgs());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already boots 3 .* by default/);
    const other = await cli(provisionArgs('--os', 'other', '--remote', 'other'));
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/already boots 3 .*\(stateroot debian\) by default/);
    // Refused before anything was made or pulled.
    expect(existsSync(join(sysroot, 'ostree/deploy/other'))).toBe(false);
    expect((await sh('ostree', [`--repo=${sysroot}/ostree/repo`, 'remote', 'list'])).trim()).toBe('origin');
    expect(await bootEntries(sysroot)).toEqual(entries);
    expect(await versions()).toEqual(before);

    const beside = await cli(provisionArgs('--os', 'other', '--not-as-default'));
    expect(beside.code, beside.stderr).toBe(0);
    expect(beside.stdout).toMatch(new RegExp(`Kept the existing deployments: ${before.map((v) => `${v.split(':')[1]} \\([0-9a-f]{12}\\.\\d\\) of stateroot debian`).join(', ')} `));
    const after = await versions();
    expect(after[0]).toBe('debian:3');
    expect(after).toContain('other:4');
    expect(after).toHaveLength(before.length + 1);
  });

  it('refuses --as-default together with --not-as-default', async () => {
    const r = await cli(provisionArgs('--as-default', '--not-as-default'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Give only one of --as-default and --not-as-default/);
  });
});

describe('the minbaseSysroot fixture', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = makeTemp('provision-fixture-');
  });
  afterAll(async () => removeTemp(tmp));

  it('provisions a sysroot with an empty apt sources list', async () => {
    const s = await minbaseSysroot(join(tmp, 'sr'), { privateRepo: true });
    expect(readFileSync(join(s.deployment, 'etc/apt/sources.list'), 'utf8')).toBe('');
    expect(s.repo.repo).toBe(join(tmp, 'srv-repo'));
    expect(existsSync(join(dirname(s.deployment), `${s.repo.checksum}.0.origin`))).toBe(true);
  });
});
