import { describe, expect, it } from 'vitest';
import { toplevelTmpfiles } from '../../../src/layout/rootfs.js';
import { sysusersConf } from '../../../src/layout/sysusers.js';
import { formatTmpfilesLine, parseTmpfiles, splitConfFields, tmpfilesField } from '../../../src/layout/tmpfiles.js';
import { VOLATILE_VAR_PATHS } from '../../../src/layout/var.js';

describe('tmpfiles.d lines', () => {
  it('formats d, L, C and f lines with dashes for unset fields', () => {
    expect(formatTmpfilesLine({ type: 'd', path: '/var/lib/apt', mode: '0755', uid: '0', gid: '0' })).toBe('d /var/lib/apt 0755 0 0 -');
    expect(formatTmpfilesLine({ type: 'L', path: '/var/lib/dpkg', arg: '../../usr/share/dpkg/database' })).toBe('L /var/lib/dpkg - - - - ../../usr/share/dpkg/database');
    expect(formatTmpfilesLine({ type: 'C', path: '/var/x', arg: '/usr/share/factory/var/x' })).toBe('C /var/x - - - - /usr/share/factory/var/x');
    expect(formatTmpfilesLine({ type: 'f', path: '/var/log/wtmp', mode: '0664', uid: '0', gid: '43' })).toBe('f /var/log/wtmp 0664 0 43 -');
  });

  it('escapes specifiers and quotes paths with spaces or quotes', () => {
    expect(tmpfilesField('/var/lib/50%')).toBe('/var/lib/50%%');
    expect(tmpfilesField('/var/lib/a b')).toBe('"/var/lib/a b"');
    expect(tmpfilesField('/var/lib/a"b')).toBe('"/var/lib/a\\"b"');
    expect(tmpfilesField('/var/lib/tab\there')).toBe('"/var/lib/tab\\x09here"');
  });

  it('parses what it writes back to the same entries', () => {
    const entries = [
      { type: 'd' as const, path: '/var/lib/a b', mode: '2775', uid: '0', gid: '50' },
      { type: 'L' as const, path: '/var/opt/vendor', arg: '/usr/lib/opt/vendor' },
      { type: 'C' as const, path: '/var/lib/50%', arg: '/usr/share/factory/var/lib/50%' },
      { type: 'd' as const, path: '/var/lib/q"uote', mode: '0700', uid: '42', gid: '0' },
    ];
    const text = entries.map(formatTmpfilesLine).join('\n');
    expect(parseTmpfiles(`# comment\n\n${text}\n`)).toEqual(entries.map((e) => ({ mode: undefined, uid: undefined, gid: undefined, arg: undefined, ...e })));
  });

  it('expands the directory specifiers that packages use in their own tmpfiles.d files', () => {
    const [a, b] = parseTmpfiles('d %S/foo 0755 root root -\nL %C/bar - - - - /x\n');
    expect(a!.path).toBe('/var/lib/foo');
    expect(b!.path).toBe('/var/cache/bar');
  });

  it('splits fields with quotes and escapes like systemd', () => {
    expect(splitConfFields('u  name 1:2 "Full Name" /home/x -')).toEqual(['u', 'name', '1:2', 'Full Name', '/home/x', '-']);
    expect(splitConfFields("d 'a b' 0755")).toEqual(['d', 'a b', '0755']);
  });

  it('declares the /var directories that the top-level links point to', () => {
    const byPath = new Map(toplevelTmpfiles().map((e) => [e.path, e]));
    expect(byPath.get('/var/roothome')!.mode).toBe('0700');
    expect(byPath.get('/var/tmp')!.mode).toBe('1777');
    for (const p of ['/var/home', '/var/opt', '/var/srv', '/var/mnt', '/var/usrlocal', '/var/usrlocal/bin', '/var/usrlocal/share/man']) expect(byPath.has(p), p).toBe(true);
    expect(byPath.get('/var/usrlocal/man')).toMatchObject({ type: 'L', arg: 'share/man' });
  });
});

describe('volatile /var paths', () => {
  const volatile = (p: string) => VOLATILE_VAR_PATHS.some((re) => re.test(p));
  it('drops apt caches, lists, logs with content and /var/tmp content', () => {
    for (const p of ['cache/apt/pkgcache.bin', 'cache/apt/srcpkgcache.bin', 'lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease', 'lib/apt/lists/lock',
      'cache/apt/archives/hello_2.10-3_amd64.deb', 'cache/apt/archives/partial/x.deb', 'log/dpkg.log', 'log/apt/term.log', 'log/apt/eipp.log.xz', 'tmp/x', 'tmp/dir/y']) {
      expect(volatile(p), p).toBe(true);
    }
  });
  it('keeps state and the directories apt needs', () => {
    for (const p of ['lib/apt/lists', 'lib/apt/lists/partial', 'cache/apt/archives', 'cache/apt/archives/partial', 'lib/apt/extended_states', 'cache/debconf/config.dat', 'tmp', 'log', 'log/apt', 'log/wtmp', 'lib/pam/seen']) {
      expect(volatile(p), p).toBe(false);
    }
  });
});

describe('sysusersConf', () => {
  const passwd = [
    'root:x:0:0:root:/root:/bin/bash',
    'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
    'list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin',
    '_apt:x:42:65534::/nonexistent:/usr/sbin/nologin',
    'svc:x:999:999:Say "hi":/var/lib/svc:',
  ].join('\n');
  const group = ['root:x:0:', 'daemon:x:1:', 'list:x:38:', 'video:x:44:svc,daemon', 'svc:x:999:', 'nogroup:x:65534:'].join('\n');

  it('writes g, u and m lines with the exact ids, root left out', () => {
    const text = sysusersConf(passwd, group);
    const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines).toEqual([
      'g daemon 1',
      'g list 38',
      'g video 44',
      'g svc 999',
      'g nogroup 65534',
      'u daemon 1:1 daemon /usr/sbin /usr/sbin/nologin',
      'u list 38:38 "Mailing List Manager" /var/list /usr/sbin/nologin',
      'u _apt 42:65534 - /nonexistent /usr/sbin/nologin',
      'u svc 999:999 "Say \\"hi\\"" /var/lib/svc -',
      'm svc video',
      'm daemon video',
    ]);
  });

  it('round-trips through the systemd field syntax', () => {
    const u = sysusersConf(passwd, group).split('\n').find((l) => l.startsWith('u svc'))!;
    expect(splitConfFields(u)).toEqual(['u', 'svc', '999:999', 'Say "hi"', '/var/lib/svc', '-']);
  });

  it('takes a filter (layering writes only the new users)', () => {
    const text = sysusersConf(passwd, group, (e) => e.name === 'svc' || e.group === 'svc');
    expect(text.split('\n').filter((l) => /^[gum] /.test(l))).toEqual(['g svc 999', 'u svc 999:999 "Say \\"hi\\"" /var/lib/svc -', 'm svc video']);
  });

  it('is empty for an empty database and ignores malformed and NIS lines', () => {
    expect(sysusersConf('', '')).toBe('');
    expect(sysusersConf('+::::::\nbad line\nx:x:notanumber:1::/:/bin/sh\n', '+:::\n')).toBe('');
  });
});
