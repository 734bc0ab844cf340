/**
 * The layout conversion (src/image/layout.ts) on real trees: a small synthetic Debian-like tree
 * with every case the conversion handles, and the real mmdebstrap minbase tree. The converted
 * synthetic tree is committed and deployed with the real ostree to prove ostree accepts it.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertRootfs, LAYER_CONF_NAME, PLACEHOLDER_KVER } from '../../src/layout/rootfs.js';
import { parseTmpfiles, type TmpfilesEntry } from '../../src/layout/tmpfiles.js';
import { createVarFromTmpfiles } from '../../src/layout/var.js';
import { fsckClean, sh } from '../fixtures/env.js';
import { minbaseTarball } from '../fixtures/minbase.js';
import { initSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const KVER = '6.1.0-99-test';

function put(root: string, rel: string, content: string, opts: { mode?: number; uid?: number; gid?: number } = {}): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content);
  chmodSync(p, opts.mode ?? 0o644);
  if (opts.uid !== undefined) chownSync(p, opts.uid, opts.gid ?? 0);
}

function dir(root: string, rel: string, mode = 0o755, uid = 0, gid = 0): void {
  const p = join(root, rel);
  mkdirSync(p, { recursive: true, mode });
  chownSync(p, uid, gid);
  chmodSync(p, mode);
}

/** A plain Debian-like tree with one example of everything the conversion handles. */
async function writePlainTree(root: string): Promise<void> {
  put(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nsvc:x:999:999:Service user:/var/lib/svc:/usr/sbin/nologin\n');
  put(root, 'etc/group', 'root:x:0:\nutmp:x:43:\nsvc:x:999:\nvideo:x:44:svc\n');
  put(root, 'etc/machine-id', '0123456789abcdef0123456789abcdef\n', { mode: 0o444 });
  put(root, 'etc/os-release', 'ID=debian\n');
  put(root, 'usr/bin/true', '#!/bin/sh\n', { mode: 0o755 });
  put(root, 'usr/lib/tmpfiles.d/pkg.conf', 'd /var/lib/declared-by-pkg 0700 root root -\n');
  put(root, 'var/lib/dpkg/status', 'Package: dpkg\nStatus: install ok installed\nVersion: 1.21.22\nArchitecture: amd64\n\nPackage: base-files\nStatus: install ok installed\nVersion: 12.4\nArchitecture: amd64\n');
  put(root, 'var/lib/dpkg/info/dpkg.list', '/usr/bin/dpkg\n');
  put(root, 'var/lib/dpkg/lock', '');
  put(root, 'var/lib/dpkg/status-old', 'old');
  dir(root, 'var/lib/svc', 0o750, 999, 999);
  put(root, 'var/lib/svc/state', 'state\n', { mode: 0o640, uid: 999, gid: 999 });
  dir(root, 'var/lib/declared-by-pkg', 0o700);
  dir(root, 'var/log', 0o755);
  put(root, 'var/log/wtmp', '', { mode: 0o664, uid: 0, gid: 43 });
  put(root, 'var/log/dpkg.log', 'installed things\n');
  put(root, 'var/cache/apt/pkgcache.bin', 'binary');
  put(root, 'var/cache/apt/archives/hello_1_amd64.deb', 'deb');
  dir(root, 'var/cache/apt/archives/partial', 0o700, 42, 0);
  put(root, 'var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease', 'lists');
  dir(root, 'var/lib/apt/lists/partial', 0o700, 42, 0);
  put(root, 'var/tmp/junk', 'junk');
  dir(root, 'var/tmp', 0o1777);
  symlinkSync('/run', join(root, 'var/run'));
  await sh('mkfifo', [join(root, 'var/lib/svc/fifo')]);
  put(root, 'var/lib/with space/50%', 'odd name\n');
  put(root, 'opt/vendor/bin/tool', '#!/bin/sh\necho tool\n', { mode: 0o755 });
  put(root, 'usr/local/bin/localtool', '#!/bin/sh\n', { mode: 0o755 });
  dir(root, 'usr/local/share/man');
  dir(root, 'usr/local/lib/python3/dist-packages');
  symlinkSync('share/man', join(root, 'usr/local/man'));
  put(root, `boot/vmlinuz-${KVER}`, 'kernel\n');
  put(root, `boot/initrd.img-${KVER}`, 'initrd\n');
  put(root, `boot/config-${KVER}`, 'CONFIG_X=y\n');
  put(root, 'boot/grub/grub.cfg', 'menu\n');
  symlinkSync(`boot/vmlinuz-${KVER}`, join(root, 'vmlinuz'));
  await sh('mknod', [join(root, 'dev-null-placeholder'), 'c', '1', '3']);
  dir(root, 'dev');
  await sh('mv', [join(root, 'dev-null-placeholder'), join(root, 'dev/null')]);
  dir(root, 'proc/1');
  dir(root, 'run/lock', 0o1777);
  put(root, 'tmp/x', 'x');
  put(root, 'home/alice/.profile', 'profile\n');
  put(root, 'root/.bashrc', 'bashrc\n');
  put(root, 'srv/www/index.html', 'hi\n');
  dir(root, 'media/cdrom');
  dir(root, 'mnt');
}

function tmpfiles(root: string, name = 'apt-ostree-base'): TmpfilesEntry[] {
  return parseTmpfiles(readFileSync(join(root, 'usr/lib/tmpfiles.d', `${name}.conf`), 'utf8'));
}

function entry(entries: TmpfilesEntry[], path: string): TmpfilesEntry | undefined {
  return entries.find((e) => e.path === path);
}

/** Every path of a tree with type, mode, owner, size and link target: equal listings mean equal trees. */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const n of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(join(root, r));
      out.push(`${r} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.isFile() ? st.size : ''} ${st.isSymbolicLink() ? readlinkSync(join(root, r)) : ''} ${st.isFile() ? readFileSync(join(root, r)).toString('base64').slice(0, 40) : ''}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

describe('convertRootfs on a synthetic tree', () => {
  let tmp: string;
  let root: string;
  const warnings: string[] = [];
  beforeAll(async () => {
    tmp = makeTemp('layout-');
    root = join(tmp, 'root');
    await writePlainTree(root);
    convertRootfs(root, { tmpfilesName: 'apt-ostree-base', sysusersName: 'apt-ostree-base', kernel: 'required', warn: (t) => warnings.push(t) });
  });
  afterAll(async () => removeTemp(tmp));

  it('moves /etc to /usr/etc with an empty machine-id', () => {
    expect(existsSync(join(root, 'etc'))).toBe(false);
    expect(readFileSync(join(root, 'usr/etc/os-release'), 'utf8')).toBe('ID=debian\n');
    expect(statSync(join(root, 'usr/etc/machine-id')).size).toBe(0);
  });

  it('moves the dpkg database to /usr/share/dpkg/database, linked from /var/lib/dpkg, without locks and backups', () => {
    expect(readFileSync(join(root, 'usr/share/dpkg/database/status'), 'utf8')).toContain('Package: dpkg');
    expect(existsSync(join(root, 'usr/share/dpkg/database/info/dpkg.list'))).toBe(true);
    expect(existsSync(join(root, 'usr/share/dpkg/database/lock'))).toBe(false);
    expect(existsSync(join(root, 'usr/share/dpkg/database/status-old'))).toBe(false);
    expect(entry(tmpfiles(root), '/var/lib/dpkg')).toMatchObject({ type: 'L', arg: '../../usr/share/dpkg/database' });
  });

  it('empties /var into tmpfiles.d lines and factory files, keeping modes and owners', () => {
    expect(readdirSync(join(root, 'var'))).toEqual([]);
    const t = tmpfiles(root);
    expect(entry(t, '/var/lib/svc')).toMatchObject({ type: 'd', mode: '0750', uid: '999', gid: '999' });
    expect(entry(t, '/var/lib/svc/state')).toMatchObject({ type: 'C', arg: '/usr/share/factory/var/lib/svc/state' });
    const factory = statSync(join(root, 'usr/share/factory/var/lib/svc/state'));
    expect([factory.mode & 0o7777, factory.uid, factory.gid]).toEqual([0o640, 999, 999]);
    expect(entry(t, '/var/log/wtmp')).toMatchObject({ type: 'f', mode: '0664', uid: '0', gid: '43' });
    expect(entry(t, '/var/run')).toMatchObject({ type: 'L', arg: '/run' });
    expect(entry(t, '/var/tmp')).toMatchObject({ type: 'd', mode: '1777' });
    expect(entry(t, '/var/cache/apt/archives/partial')).toMatchObject({ type: 'd', mode: '0700', uid: '42' });
    expect(entry(t, '/var/lib/apt/lists/partial')).toBeDefined();
    // An odd file name survives the quoting.
    expect(entry(t, '/var/lib/with space/50%')).toMatchObject({ type: 'C', arg: '/usr/share/factory/var/lib/with space/50%' });
    expect(readFileSync(join(root, 'usr/lib/tmpfiles.d/apt-ostree-base.conf'), 'utf8')).toContain('"/var/lib/with space/50%%"');
  });

  it('drops volatile build state and what cannot be represented', () => {
    const paths = tmpfiles(root).map((e) => e.path);
    for (const p of ['/var/log/dpkg.log', '/var/cache/apt/pkgcache.bin', '/var/cache/apt/archives/hello_1_amd64.deb', '/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease', '/var/tmp/junk', '/var/lib/svc/fifo']) {
      expect(paths, p).not.toContain(p);
    }
    expect(existsSync(join(root, 'usr/share/factory/var/log/dpkg.log'))).toBe(false);
    expect(warnings.join('\n')).toContain('/var/lib/svc/fifo');
  });

  it('does not declare again what a package\'s own tmpfiles.d file declares', () => {
    expect(entry(tmpfiles(root), '/var/lib/declared-by-pkg')).toBeUndefined();
  });

  it('moves /opt and /usr/local content into /usr/lib and links it back from /var', () => {
    expect(readFileSync(join(root, 'usr/lib/opt/vendor/bin/tool'), 'utf8')).toContain('echo tool');
    expect(readFileSync(join(root, 'usr/lib/usrlocal/bin/localtool'), 'utf8')).toBe('#!/bin/sh\n');
    const t = tmpfiles(root);
    expect(entry(t, '/var/opt/vendor')).toMatchObject({ type: 'L', arg: '/usr/lib/opt/vendor' });
    expect(entry(t, '/var/usrlocal/bin/localtool')).toMatchObject({ type: 'L', arg: '/usr/lib/usrlocal/bin/localtool' });
    // Standard and empty directories stay writable directories under /var/usrlocal.
    expect(entry(t, '/var/usrlocal/bin')).toMatchObject({ type: 'd' });
    expect(entry(t, '/var/usrlocal/lib/python3/dist-packages')).toMatchObject({ type: 'd' });
    expect(entry(t, '/var/usrlocal/man')).toMatchObject({ type: 'L', arg: 'share/man' });
    expect(readlinkSync(join(root, 'opt'))).toBe('var/opt');
    expect(readlinkSync(join(root, 'usr/local'))).toBe('../var/usrlocal');
  });

  it('moves the content of /home, /root and /srv into /var', () => {
    const t = tmpfiles(root);
    expect(entry(t, '/var/home/alice/.profile')).toMatchObject({ type: 'C' });
    expect(entry(t, '/var/roothome/.bashrc')).toMatchObject({ type: 'C' });
    expect(entry(t, '/var/roothome')).toMatchObject({ type: 'd', mode: '0700' });
    expect(entry(t, '/var/srv/www/index.html')).toMatchObject({ type: 'C' });
  });

  it('makes the top-level links and empties the API directories', () => {
    const links = { home: 'var/home', root: 'var/roothome', opt: 'var/opt', srv: 'var/srv', mnt: 'var/mnt', media: 'run/media', ostree: 'sysroot/ostree' };
    for (const [name, target] of Object.entries(links)) expect(readlinkSync(join(root, name)), name).toBe(target);
    for (const d of ['dev', 'proc', 'sys', 'run', 'tmp', 'sysroot']) expect(readdirSync(join(root, d)), d).toEqual([]);
    expect(statSync(join(root, 'tmp')).mode & 0o7777).toBe(0o1777);
  });

  it('moves the kernel and initramfs to /usr/lib/modules/KVER and empties /boot', () => {
    expect(readFileSync(join(root, `usr/lib/modules/${KVER}/vmlinuz`), 'utf8')).toBe('kernel\n');
    expect(readFileSync(join(root, `usr/lib/modules/${KVER}/initramfs.img`), 'utf8')).toBe('initrd\n');
    expect(existsSync(join(root, `usr/lib/modules/${KVER}/config`))).toBe(true);
    expect(readdirSync(join(root, 'boot'))).toEqual([]);
    expect(existsSync(join(root, 'vmlinuz'))).toBe(false);
  });

  it('writes the users and groups as sysusers.d lines with their ids, root left out', () => {
    const text = readFileSync(join(root, 'usr/lib/sysusers.d/apt-ostree-base.conf'), 'utf8');
    expect(text).toContain('u svc 999:999 "Service user" /var/lib/svc /usr/sbin/nologin');
    expect(text).toContain('g utmp 43');
    expect(text).toContain('m svc video');
    expect(text).not.toMatch(/^[ug] root /m);
  });

  it('is idempotent: converting the converted tree changes nothing', () => {
    const before = listing(root);
    convertRootfs(root, { tmpfilesName: 'apt-ostree-base', sysusersName: 'apt-ostree-base', kernel: 'required' });
    expect(listing(root)).toEqual(before);
  });

  it('gives a tree that ostree commits, fscks and deploys', async () => {
    const repo = join(tmp, 'repo');
    await sh('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
    await sh('ostree', [`--repo=${repo}`, 'commit', '--branch=test/layout', `--tree=dir=${root}`]);
    await fsckClean(repo);
    const sysroot = join(tmp, 'sysroot');
    await initSysroot(sysroot, 'debian');
    await sh('ostree', [`--repo=${sysroot}/ostree/repo`, 'pull-local', repo, 'test/layout']);
    await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'deploy', '--os=debian', 'test/layout']);
    const status = await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'status']);
    expect(status).toMatch(/debian [0-9a-f]{64}\.0/);
    const deployDir = join(sysroot, 'ostree/deploy/debian/deploy');
    const dep = join(deployDir, readdirSync(deployDir).find((n) => !n.endsWith('.origin'))!);
    // ostree's /etc is the image's /usr/etc.
    expect(readFileSync(join(dep, 'etc/os-release'), 'utf8')).toBe('ID=debian\n');
  });
});

describe('convertRootfs failures and kernel policies', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = makeTemp('layout-fail-');
  });
  afterAll(async () => removeTemp(tmp));

  function minimalTree(name: string): string {
    const root = join(tmp, name);
    put(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    put(root, 'var/lib/dpkg/status', '');
    dir(root, 'usr/bin');
    return root;
  }

  it('refuses kernel: required without a kernel, naming the fix', () => {
    const root = minimalTree('nokernel');
    expect(() => convertRootfs(root, { tmpfilesName: 'x', kernel: 'required' })).toThrow(/no kernel.*vmlinuz/);
  });

  it('refuses a kernel without initramfs when a kernel is required', () => {
    const root = minimalTree('noinitrd');
    put(root, `boot/vmlinuz-${KVER}`, 'k');
    expect(() => convertRootfs(root, { tmpfilesName: 'x', kernel: 'required' })).toThrow(/no initramfs/);
  });

  it('adds a placeholder kernel so that an image without one can be deployed', () => {
    const root = minimalTree('placeholder');
    const r = convertRootfs(root, { tmpfilesName: 'x', kernel: 'placeholder' });
    expect(r.kernel).toMatchObject({ version: PLACEHOLDER_KVER, placeholder: true });
    expect(existsSync(join(root, `usr/lib/modules/${PLACEHOLDER_KVER}/vmlinuz`))).toBe(true);
  });

  it('refuses a tree with both /etc and /usr/etc', () => {
    const root = minimalTree('both-etc');
    put(root, 'usr/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    expect(() => convertRootfs(root, { tmpfilesName: 'x' })).toThrow(/both \/etc and \/usr\/etc/);
  });
});

describe('layering on a converted tree (the install path)', () => {
  let tmp: string;
  let root: string;
  beforeAll(async () => {
    tmp = makeTemp('layout-layer-');
    root = join(tmp, 'root');
    await writePlainTree(root);
    convertRootfs(root, { tmpfilesName: 'apt-ostree-base', sysusersName: 'apt-ostree-base', kernel: 'required' });
  });
  afterAll(async () => removeTemp(tmp));

  it('recreates /var from the tmpfiles.d files, as systemd-tmpfiles would at boot', () => {
    createVarFromTmpfiles(root);
    expect(readlinkSync(join(root, 'var/lib/dpkg'))).toBe('../../usr/share/dpkg/database');
    expect(readlinkSync(join(root, 'var/opt/vendor'))).toBe('/usr/lib/opt/vendor');
    expect(readFileSync(join(root, 'var/lib/svc/state'), 'utf8')).toBe('state\n');
    const st = statSync(join(root, 'var/lib/svc'));
    expect([st.mode & 0o7777, st.uid]).toEqual([0o750, 999]);
    expect(statSync(join(root, 'var/tmp')).mode & 0o7777).toBe(0o1777);
  });

  it('turns what dpkg added under /var, /opt and /usr/local into the layer\'s own tmpfiles.d file', () => {
    // What dpkg does through the links: /opt/new → var/opt/new, /usr/local/bin/x → var/usrlocal/bin/x.
    put(root, 'var/opt/newvendor/bin/newtool', 'new\n', { mode: 0o755 });
    put(root, 'var/usrlocal/bin/newlocal', 'newlocal\n', { mode: 0o755 });
    put(root, 'var/lib/newpkg/data', 'data\n');
    put(root, 'usr/bin/newpkg', 'bin\n');
    convertRootfs(root, { tmpfilesName: LAYER_CONF_NAME, sysusersName: false, kernel: 'optional' });
    expect(readdirSync(join(root, 'var'))).toEqual([]);
    expect(readFileSync(join(root, 'usr/lib/opt/newvendor/bin/newtool'), 'utf8')).toBe('new\n');
    expect(readFileSync(join(root, 'usr/lib/usrlocal/bin/newlocal'), 'utf8')).toBe('newlocal\n');
    expect(readFileSync(join(root, 'usr/lib/opt/vendor/bin/tool'), 'utf8')).toContain('echo tool');
    const layer = tmpfiles(root, LAYER_CONF_NAME).map((e) => e.path).sort();
    expect(layer).toEqual(['/var/lib/newpkg', '/var/lib/newpkg/data', '/var/opt/newvendor', '/var/usrlocal/bin/newlocal']);
    // The base file is untouched.
    expect(entry(tmpfiles(root), '/var/opt/newvendor')).toBeUndefined();
    expect(readlinkSync(join(root, 'opt'))).toBe('var/opt');
  });
});

describe('convertRootfs on the real minbase tree', () => {
  let tmp: string;
  let root: string;
  let result: ReturnType<typeof convertRootfs>;
  beforeAll(async () => {
    tmp = makeTemp('layout-minbase-');
    root = join(tmp, 'root');
    mkdirSync(root);
    await sh('tar', ['-C', root, '-xf', await minbaseTarball()]);
    result = convertRootfs(root, { tmpfilesName: 'apt-ostree-base', sysusersName: 'apt-ostree-base', kernel: 'placeholder' });
  });
  afterAll(async () => removeTemp(tmp));

  it('leaves /var and /dev empty and /etc in /usr/etc', () => {
    expect(readdirSync(join(root, 'var'))).toEqual([]);
    expect(readdirSync(join(root, 'dev'))).toEqual([]);
    expect(existsSync(join(root, 'etc'))).toBe(false);
    expect(readFileSync(join(root, 'usr/etc/passwd'), 'utf8')).toContain('_apt:x:42:');
    expect(statSync(join(root, 'usr/etc/machine-id')).size).toBe(0);
  });

  it('keeps apt and debconf state as factory files and drops the package lists', () => {
    const t = tmpfiles(root);
    expect(entry(t, '/var/lib/dpkg')).toMatchObject({ type: 'L' });
    expect(entry(t, '/var/lib/apt/extended_states')).toMatchObject({ type: 'C' });
    expect(entry(t, '/var/cache/debconf/config.dat')).toMatchObject({ type: 'C' });
    expect(entry(t, '/var/mail')).toMatchObject({ type: 'd', mode: '2775', gid: '8' });
    expect(entry(t, '/var/roothome/.bashrc')).toMatchObject({ type: 'C' });
    expect(t.some((e) => e.path.startsWith('/var/lib/apt/lists/') && e.type !== 'd')).toBe(false);
    expect(result.factoryFiles).toContain('lib/apt/extended_states');
  });

  it('writes every user and group except root to sysusers.d', () => {
    const text = readFileSync(join(root, 'usr/lib/sysusers.d/apt-ostree-base.conf'), 'utf8');
    expect(text).toContain('u _apt 42:65534 - /nonexistent /usr/sbin/nologin');
    expect(text).toContain('g nogroup 65534');
    expect(text).not.toMatch(/^u root /m);
    const users = readFileSync(join(root, 'usr/etc/passwd'), 'utf8').split('\n').filter((l) => l && !l.startsWith('root:'));
    expect(text.split('\n').filter((l) => l.startsWith('u ')).length).toBe(users.length);
  });

  it('has the placeholder kernel and the dpkg database with every package', () => {
    expect(result.kernel?.placeholder).toBe(true);
    const status = readFileSync(join(root, 'usr/share/dpkg/database/status'), 'utf8');
    expect(status).toContain('Package: apt\n');
    expect(status).toContain('Package: dpkg\n');
  });

  it('is idempotent on the real tree too', () => {
    const before = listing(root);
    convertRootfs(root, { tmpfilesName: 'apt-ostree-base', sysusersName: 'apt-ostree-base', kernel: 'placeholder' });
    expect(listing(root)).toEqual(before);
  });
});
