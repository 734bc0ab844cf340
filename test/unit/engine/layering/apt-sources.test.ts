// A deployment's apt sources as ListRepos lists them (one entry per deb822 stanza and per
// sources.list line, named FILE:N as apt's Sourcesentry), and what apt-cache showpkg says
// WhatProvides is built on. Files written here; apt itself checks the numbering in
// test/integration/dbus.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDeb822Sources, parseOneLineSources, readAptSources, sourceLine } from '../../../../src/engine/layering/apt-sources.js';
import { parseShowpkg, providedNames } from '../../../../src/engine/layering/apt-provides.js';

const dir = mkdtempSync(join(tmpdir(), 'apt-sources-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('apt sources', () => {
  it('reads deb822 stanzas, numbered as apt numbers them, Enabled: no included', () => {
    const text = [
      '# Debian',
      'Types: deb deb-src',
      '# a comment inside the stanza',
      'URIs: http://deb.debian.org/debian',
      'Suites: trixie trixie-updates',
      'Components: main contrib',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb',
      'URIs: http://deb.debian.org/debian-security',
      'Suites: trixie-security',
      'Components: main',
      'Enabled: no',
      'Architectures: amd64 i386',
      'X-Repolib-Name: Debian security updates',
      '',
    ].join('\n');
    const [a, b] = parseDeb822Sources(text, '/etc/apt/sources.list.d/debian.sources');
    expect(a).toEqual({
      id: '/etc/apt/sources.list.d/debian.sources:1',
      file: '/etc/apt/sources.list.d/debian.sources',
      format: 'deb822',
      types: ['deb', 'deb-src'],
      uris: ['http://deb.debian.org/debian'],
      suites: ['trixie', 'trixie-updates'],
      components: ['main', 'contrib'],
      enabled: true,
      signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg',
    });
    expect(sourceLine(a!)).toBe('deb deb-src http://deb.debian.org/debian trixie trixie-updates main contrib');
    expect(b).toMatchObject({ id: '/etc/apt/sources.list.d/debian.sources:2', enabled: false, architectures: ['amd64', 'i386'], name: 'Debian security updates' });
  });

  it('reads one-line entries by line number, options and trailing comments included, commented-out entries as disabled', () => {
    const text = [
      '# See https://wiki.debian.org/SourcesList',
      '#deb cdrom:[Debian GNU/Linux 13.0.0 _Trixie_]/ trixie main',
      '',
      'deb [arch=amd64,i386 signed-by=/usr/share/keyrings/x.gpg trusted=yes] http://deb.debian.org/debian trixie main non-free-firmware # the main archive',
      '# deb-src http://deb.debian.org/debian trixie main',
      'deb [trusted=yes] http://127.0.0.1:8080/ ./',
      'not a source line',
    ].join('\n');
    const entries = parseOneLineSources(text, '/etc/apt/sources.list');
    expect(entries.map((e) => [e.id, e.enabled, sourceLine(e)])).toEqual([
      ['/etc/apt/sources.list:4', true, 'deb http://deb.debian.org/debian trixie main non-free-firmware'],
      ['/etc/apt/sources.list:5', false, 'deb-src http://deb.debian.org/debian trixie main'],
      ['/etc/apt/sources.list:6', true, 'deb http://127.0.0.1:8080/ ./'],
    ]);
    expect(entries[0]).toMatchObject({ architectures: ['amd64', 'i386'], signedBy: '/usr/share/keyrings/x.gpg', format: 'one-line' });
  });

  it('reads sources.list, then the .list and .sources files of sources.list.d in name order, as apt does', () => {
    const etc = join(dir, 'etc-apt');
    mkdirSync(join(etc, 'sources.list.d'), { recursive: true });
    writeFileSync(join(etc, 'sources.list'), 'deb http://a.example/ x main\n');
    writeFileSync(join(etc, 'sources.list.d', 'z.list'), 'deb http://z.example/ x main\n');
    writeFileSync(join(etc, 'sources.list.d', 'b.sources'), 'Types: deb\nURIs: http://b.example/\nSuites: x\nComponents: main\n');
    writeFileSync(join(etc, 'sources.list.d', 'old.list.disabled'), 'deb http://old.example/ x main\n');
    writeFileSync(join(etc, 'sources.list.d', 'bad name.list'), 'deb http://bad.example/ x main\n');
    expect(readAptSources(etc).map((s) => s.id)).toEqual(['/etc/apt/sources.list:1', '/etc/apt/sources.list.d/b.sources:1', '/etc/apt/sources.list.d/z.list:1']);
    expect(readAptSources(join(dir, 'nowhere'))).toEqual([]);
  });
});

describe('apt-cache showpkg', () => {
  it('gives each package its versions with their files, and who provides it', () => {
    const text = [
      'Package: mail-transport-agent',
      'Versions: ',
      '',
      'Reverse Depends: ',
      '  mutt,mail-transport-agent',
      'Dependencies: ',
      'Provides: ',
      'Reverse Provides: ',
      'exim4-daemon-light 4.96-15+deb12u11 (= )',
      'postfix 3.7.11-0+deb12u1 (= )',
      'exim4-daemon-light 4.96-15+deb12u10 (= )',
      'Package: libc6',
      'Versions: ',
      '2.36-9+deb12u14 (/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4) (/var/lib/dpkg/status)',
      ' Description Language: ',
      '                 File: /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4',
      '                  MD5: 3522aa7b4374048d6450e348a5bb45d9',
      '',
      '2.36-9+deb12u7 (/var/lib/apt/lists/security_Packages)',
      '',
      'Reverse Depends: ',
      'Dependencies: ',
      '2.36-9+deb12u14 - libgcc-s1 (0 (null))',
      'Provides: ',
      '2.36-9+deb12u14 - libc6-x32 (= )',
      'Reverse Provides: ',
      '',
    ].join('\n');
    const m = parseShowpkg(text);
    expect([...m.keys()]).toEqual(['mail-transport-agent', 'libc6']);
    expect(m.get('mail-transport-agent')!.versions.size).toBe(0);
    expect(m.get('mail-transport-agent')!.reverseProvides).toEqual(['exim4-daemon-light', 'postfix']);
    expect([...m.get('libc6')!.versions]).toEqual([
      ['2.36-9+deb12u14', ['/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4', '/var/lib/dpkg/status']],
      ['2.36-9+deb12u7', ['/var/lib/apt/lists/security_Packages']],
    ]);
    expect(m.get('libc6')!.reverseProvides).toEqual([]);
  });

  it('reads the names of a Provides field', () => {
    expect(providedNames('mail-transport-agent, default-mta (= 1.0), foo:any')).toEqual(['mail-transport-agent', 'default-mta', 'foo']);
    expect(providedNames(undefined)).toEqual([]);
  });
});
