import { describe, expect, it } from 'vitest';
import { dpkgPackages, installedPackages, parseDeb822 } from '../../../src/debian/deb822.js';
import { AptOstreeError } from '../../../src/errors.js';

const STATUS = `Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 340
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 12.4+deb12u5
Replaces: base, dpkg (<= 1.15.0), miscutils
Provides: base
Pre-Depends: awk
Breaks: debian-security-support (<< 2019.04.25), initscripts (<< 2.88dsf-13.3), sendfile (<< 2.1b.20080616-5.2~)
Conffiles:
 /etc/debian_version 2a5b8c3ba8d9e8cbc8ec3f8d5b8c2a0e
 /etc/dpkg/origins/debian c47b6815f67ad1aeccb0d4529bd0b990
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy of a Debian system, and
 several important miscellaneous files.
 .
 Second paragraph.

Package: half
Status: install reinstreq half-installed
Architecture: all
Version: 1.0

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 2.0-1
Conffiles:
 /etc/gone.conf 0123 obsolete

Package: libc6
Status: install ok triggers-pending
Architecture: i386
Version: 2.36-9+deb12u4

Package: held
Status: hold ok installed
Architecture: amd64
Version: 1:3.0

Package: unpacked-only
Status: install ok unpacked
Architecture: amd64
Version: 0.1
`;

describe('parseDeb822', () => {
  it('parses stanzas, multi-line fields and looks fields up case-insensitively', () => {
    const s = parseDeb822(STATUS);
    expect(s).toHaveLength(6);
    expect(s[0]!.get('package')).toBe('base-files');
    expect(s[0]!.get('PACKAGE')).toBe('base-files');
    expect(s[0]!.get('Version')).toBe('12.4+deb12u5');
    expect(s[0]!.get('Conffiles')).toBe('\n /etc/debian_version 2a5b8c3ba8d9e8cbc8ec3f8d5b8c2a0e\n /etc/dpkg/origins/debian c47b6815f67ad1aeccb0d4529bd0b990');
    expect(s[0]!.get('Description')).toBe('Debian base system miscellaneous files\n This package contains the basic filesystem hierarchy of a Debian system, and\n several important miscellaneous files.\n .\n Second paragraph.');
    expect(s[0]!.get('Nope')).toBeUndefined();
    expect(s[0]!.has('multi-arch')).toBe(true);
    expect(s[0]!.line).toBe(1);
    expect(s[1]!.line).toBe(24);
    expect(s[0]!.fields[0]).toEqual({ name: 'Package', value: 'base-files' });
  });

  it('handles comments (when asked), CRLF, several blank lines and whitespace-only separators', () => {
    const text = '# a comment\r\nSource: foo\r\nSection: admin\r\n# another\r\n\r\n\r\n  \r\nPackage: foo\r\nArchitecture: any\r\nDepends: a,\r\n  b\r\n';
    const s = parseDeb822(text, { comments: true });
    expect(s.map((x) => x.toObject())).toEqual([{ Source: 'foo', Section: 'admin' }, { Package: 'foo', Architecture: 'any', Depends: 'a,\n  b' }]);
    expect(() => parseDeb822(text)).toThrow(/line 1/); // dpkg's files have no comments
  });

  it('keeps values with colons, and field names with odd but legal characters', () => {
    const s = parseDeb822('X-Foo_Bar.Baz: a: b: c\nVcs-Git:https://x/y\n');
    expect(s[0]!.get('x-foo_bar.baz')).toBe('a: b: c');
    expect(s[0]!.get('vcs-git')).toBe('https://x/y');
  });

  it('rejects malformed text with its line number', () => {
    const cases: Array<[string, RegExp]> = [
      [' continuation first\n', /line 1: a continuation line comes before any field/],
      ['Package: a\nnot a field\n', /line 2: 'not a field' is not a "Field: value" line/],
      ['Package: a\npackage: b\n', /line 2: the field package appears twice/],
      ['Package: a\n-Foo: b\n', /line 2/],
      ['Package: a\n: b\n', /line 2/],
    ];
    for (const [t, re] of cases) {
      expect(() => parseDeb822(t, { source: 'the test file' })).toThrow(AptOstreeError);
      expect(() => parseDeb822(t, { source: 'the test file' })).toThrow(re);
      expect(() => parseDeb822(t, { source: 'the test file' })).toThrow(/the test file is malformed/);
    }
  });

  it('empty text has no stanzas', () => {
    expect(parseDeb822('')).toEqual([]);
    expect(parseDeb822('\n\n \n')).toEqual([]);
  });
});

describe('dpkg status', () => {
  it('lists every package with its state', () => {
    const all = dpkgPackages(STATUS);
    expect(all.map((p) => [p.name, p.status, p.want, p.installed])).toEqual([
      ['base-files', 'installed', 'install', true],
      ['half', 'half-installed', 'install', false],
      ['gone', 'config-files', 'deinstall', false],
      ['libc6', 'triggers-pending', 'install', true],
      ['held', 'installed', 'hold', true],
      ['unpacked-only', 'unpacked', 'install', false],
    ]);
  });

  it('installedPackages keeps installed ones (and those only waiting for triggers)', () => {
    expect(installedPackages(STATUS)).toEqual([
      { name: 'base-files', version: '12.4+deb12u5', architecture: 'amd64', status: 'installed', want: 'install', installed: true },
      { name: 'libc6', version: '2.36-9+deb12u4', architecture: 'i386', status: 'triggers-pending', want: 'install', installed: true },
      { name: 'held', version: '1:3.0', architecture: 'amd64', status: 'installed', want: 'hold', installed: true },
    ]);
  });

});
