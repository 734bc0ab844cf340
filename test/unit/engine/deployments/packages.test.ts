import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  diffPackages, displayName, isEmptyDiff, nativeArch, packageListVersion, packagesFromStatus, pkglistFromMetadata, pkglistMetadata,
  sortPackages, type PackageEntry,
} from '../../../../src/engine/deployments/packages.js';
import { renderDiffLines } from '../../../../src/cli/commands/db-diff.js';
import { globToRegExp } from '../../../../src/cli/commands/db-list.js';

const p = (name: string, version: string, arch = 'amd64'): PackageEntry => ({ name, version, arch });

describe('diffPackages', () => {
  it('finds added, removed, upgraded and downgraded packages, sorted by name', () => {
    const from = [p('zlib1g', '1:1.2.13'), p('curl', '7.88.1-10'), p('nano', '7.2-1'), p('bash', '5.2.15-2'), p('vim', '2:9.0.1378-2'), p('same', '1.0')];
    const to = [p('curl', '7.88.1-10+deb12u5'), p('htop', '3.2.2-2'), p('bash', '5.2.15-2'), p('vim', '2:9.0.1000-1'), p('zlib1g', '1:1.2.13.dfsg-1'), p('aaa', '1', 'all'), p('same', '1.00')];
    expect(diffPackages(from, to)).toEqual({
      added: [p('aaa', '1', 'all'), p('htop', '3.2.2-2')],
      removed: [p('nano', '7.2-1')],
      upgraded: [
        { name: 'curl', arch: 'amd64', from: '7.88.1-10', to: '7.88.1-10+deb12u5' },
        { name: 'zlib1g', arch: 'amd64', from: '1:1.2.13', to: '1:1.2.13.dfsg-1' },
      ],
      downgraded: [{ name: 'vim', arch: 'amd64', from: '2:9.0.1378-2', to: '2:9.0.1000-1' }],
    });
  });

  it('uses Debian version order, not string order', () => {
    const d = diffPackages([p('a', '1.9'), p('b', '1.0'), p('c', '2.0~rc1'), p('d', '1:0.1')], [p('a', '1.10'), p('b', '1.0~beta'), p('c', '2.0'), p('d', '9.9')]);
    expect(d.upgraded.map((c) => c.name)).toEqual(['a', 'c']);
    expect(d.downgraded.map((c) => c.name)).toEqual(['b', 'd']);
  });

  it('treats versions equal under dpkg (1.01 = 1.1) as unchanged', () => {
    expect(isEmptyDiff(diffPackages([p('a', '1.01')], [p('a', '1.1')]))).toBe(true);
  });

  it('pairs multi-arch packages by architecture', () => {
    const from = [p('libc6', '2.36-9'), p('libc6', '2.36-9', 'i386'), p('libfoo', '1.0', 'i386')];
    const to = [p('libc6', '2.36-9+deb12u4'), p('libc6', '2.36-9+deb12u4', 'armhf'), p('libfoo', '1.0', 'i386'), p('libfoo', '1.0')];
    expect(diffPackages(from, to)).toEqual({
      added: [p('libc6', '2.36-9+deb12u4', 'armhf'), p('libfoo', '1.0')],
      removed: [p('libc6', '2.36-9', 'i386')],
      upgraded: [{ name: 'libc6', arch: 'amd64', from: '2.36-9', to: '2.36-9+deb12u4' }],
      downgraded: [],
    });
  });

  it('records an architecture change of a package with one architecture', () => {
    expect(diffPackages([p('tzdata', '2023c-5')], [p('tzdata', '2024a-0+deb12u1', 'all')]).upgraded).toEqual([
      { name: 'tzdata', arch: 'all', previousArch: 'amd64', from: '2023c-5', to: '2024a-0+deb12u1' },
    ]);
  });

  it('empty lists, identical lists', () => {
    expect(isEmptyDiff(diffPackages([], []))).toBe(true);
    const l = [p('a', '1'), p('b', '2')];
    expect(isEmptyDiff(diffPackages(l, [...l].reverse()))).toBe(true);
    expect(diffPackages([], l).added).toEqual(l);
    expect(diffPackages(l, []).removed).toEqual(l);
  });

  it('does not fail on versions dpkg would refuse (foreign metadata)', () => {
    expect(diffPackages([p('a', '')], [p('a', '1.0')]).upgraded).toHaveLength(1);
  });
});

describe('rendering', () => {
  it('renders the diff format sorted by name, qualifying foreign architectures', () => {
    const d = diffPackages(
      [p('nano', '7.2-1'), p('curl', '7.88.1-10'), p('vim', '2:9.1-1'), p('libc6', '2.36-9', 'i386'), p('libc6', '2.36-9')],
      [p('curl', '7.88.1-10+deb12u5'), p('htop', '3.2.2-2'), p('vim', '2:9.0-1'), p('libc6', '2.36-9')],
    );
    expect(renderDiffLines(d)).toBe('!curl 7.88.1-10 -> 7.88.1-10+deb12u5\n+htop 3.2.2-2\n-libc6:i386 2.36-9\n-nano 7.2-1\n!vim 2:9.1-1 -> 2:9.0-1\n');
    expect(renderDiffLines(diffPackages([], []))).toBe('');
  });

  it('nativeArch is the most common architecture other than all; displayName qualifies the others', () => {
    expect(nativeArch([p('a', '1'), p('b', '1', 'all'), p('c', '1', 'all'), p('d', '1', 'i386')])).toBe('amd64');
    expect(nativeArch([])).toBeUndefined();
    expect(displayName(p('x', '1', 'i386'), 'amd64')).toBe('x:i386');
    expect(displayName(p('x', '1', 'all'), 'amd64')).toBe('x');
    expect(displayName(p('x', '1'), 'amd64')).toBe('x');
  });
});

describe('metadata and status lists', () => {
  it('pkglistMetadata writes sorted a(sss) tuples; pkglistFromMetadata reads them back', () => {
    const list = [p('zsh', '5.9-4'), { name: 'bash', version: '5.2', architecture: 'amd64' }, p('bash', '5.2', 'i386')];
    const meta = pkglistMetadata(list);
    expect(meta).toEqual([['bash', '5.2', 'amd64'], ['bash', '5.2', 'i386'], ['zsh', '5.9-4', 'amd64']]);
    expect(pkglistFromMetadata(meta)).toEqual([p('bash', '5.2'), p('bash', '5.2', 'i386'), p('zsh', '5.9-4')]);
  });

  it('pkglistFromMetadata refuses values of another type', () => {
    expect(pkglistFromMetadata(undefined)).toBeUndefined();
    expect(pkglistFromMetadata('a')).toBeUndefined();
    expect(pkglistFromMetadata(['a', 'b'])).toBeUndefined();
    expect(pkglistFromMetadata([['a', 'b']])).toBeUndefined();
    expect(pkglistFromMetadata([['a', 'b', 3]])).toBeUndefined();
    expect(pkglistFromMetadata([])).toEqual([]);
  });

  it('packagesFromStatus lists installed packages only, sorted', () => {
    const status = 'Package: b\nStatus: install ok installed\nArchitecture: all\nVersion: 2\n\nPackage: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n\nPackage: c\nStatus: install reinstreq half-installed\nArchitecture: amd64\nVersion: 3\n';
    expect(packagesFromStatus(status)).toEqual([p('a', '1'), p('b', '2', 'all')]);
  });

  it('sortPackages orders by name, then architecture', () => {
    expect(sortPackages([p('b', '1'), p('a', '1', 'i386'), p('a', '1')]).map((x) => `${x.name}:${x.arch}`)).toEqual(['a:amd64', 'a:i386', 'b:amd64']);
  });
});

describe('packageListVersion', () => {
  it('is COUNT:HASH of the sorted list, independent of order', () => {
    const a = packageListVersion([p('a', '1'), p('b', '2')]);
    const b = packageListVersion([p('b', '2'), p('a', '1')]);
    expect(a).toEqual(b);
    expect(a.count).toBe(2);
    expect(a.version).toMatch(/^2:[0-9a-f]{16}$/);
    // sha256 of "a 1 amd64\nb 2 amd64\n", computed independently
    expect(a.version).toBe(`2:${sha256Hex('a 1 amd64\nb 2 amd64\n').slice(0, 16)}`);
    expect(a.sha256).toBe(sha256Hex('a 1 amd64\nb 2 amd64\n'));
    expect(packageListVersion([p('a', '1'), p('b', '3')]).version).not.toBe(a.version);
    expect(packageListVersion([]).version).toMatch(/^0:/);
  });
});

describe('globToRegExp', () => {
  it('matches like the shell', () => {
    const m = (g: string, s: string) => globToRegExp(g).test(s);
    expect(m('lib*', 'libc6')).toBe(true);
    expect(m('lib*', 'glibc')).toBe(false);
    expect(m('libc?', 'libc6')).toBe(true);
    expect(m('libc[0-9]', 'libc6')).toBe(true);
    expect(m('libc[!0-9]', 'libc6')).toBe(false);
    expect(m('g++', 'g++')).toBe(true);
    expect(m('g++', 'gg')).toBe(false);
    expect(m('python3.11', 'python3x11')).toBe(false);
    expect(m('bash', 'bash-completion')).toBe(false);
  });
});

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
