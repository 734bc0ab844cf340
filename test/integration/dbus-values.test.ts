/**
 * The pure parts of --dbus-compat: object path escaping (as rpm-ostree's generate_object_path),
 * bus addresses, values for the wire, the package diff format, and the DBus member table
 * against the checked-in XML's member list. No bus needed.
 */
import { describe, expect, it } from 'vitest';
import { connectableAddress, systemBusAddress } from '../../src/dbus/compat.js';
import { escapeObjectPathSegment, methodForCommand, osObjectPath } from '../../src/dbus/names.js';
import { cachedUpdateRpmDiff, repoDict, rpmDiff } from '../../src/dbus/values.js';
import { gvalueForBus, jsonDict, deploymentDict } from '../../src/dbus/variant.js';

describe('dbus names', () => {
  it('escapes stateroot names as rpm-ostree does', () => {
    expect(osObjectPath('debian')).toBe('/org/projectatomic/aptostree1/debian');
    expect(escapeObjectPathSegment('fedora-atomic')).toBe('fedora_atomic');
    expect(escapeObjectPathSegment('a/b')).toBe('a_b');
    expect(escapeObjectPathSegment('os.name 1')).toBe('os_2Ename_201');
    expect(escapeObjectPathSegment('é')).toBe('_C3_A9');
    expect(() => escapeObjectPathSegment('')).toThrow();
  });

  it('names the rpm-ostree method a command stands for', () => {
    expect(methodForCommand('install')).toBe('PkgChange');
    expect(methodForCommand('upgrade')).toBe('Upgrade');
    expect(methodForCommand('kargs')).toBe('KernelArgs');
    expect(methodForCommand('admin provision')).toBe('admin');
  });

  it('reads the system bus address from the environment and makes it connectable', () => {
    expect(systemBusAddress({})).toBe('unix:path=/var/run/dbus/system_bus_socket');
    expect(systemBusAddress({ DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/tmp/x' })).toBe('unix:path=/tmp/x');
    expect(connectableAddress('unix:path=/tmp/a%20b,guid=123')).toBe('unix:socket=/tmp/a b');
    expect(connectableAddress('unix:abstract=/tmp/dbus-X')).toBe('unix:socket=\0/tmp/dbus-X');
    expect(connectableAddress('tcp:host=localhost,port=1')).toBe('tcp:host=localhost,port=1');
  });
});

describe('dbus values', () => {
  it('types JSON values as rpm-ostree does, and leaves out nulls', () => {
    const d = jsonDict({ s: 'x', b: true, n: 5, neg: -2, f: 1.5, list: ['a'], nul: null, obj: { k: 'v' } }, { n: 'u' });
    expect(Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.signature]))).toEqual({ s: 's', b: 'b', n: 'u', neg: 'x', f: 'd', list: 'as', obj: 'a{sv}' });
  });

  it('gives deployment keys their rpm-ostree types', () => {
    const d = deploymentDict({ id: 'x', serial: 0, timestamp: 12, booted: false, packages: [], 'base-commit-meta': { version: '1' }, checksum: 'ab' }, '/nonexistent');
    expect(d.serial!.signature).toBe('i');
    expect(d.timestamp!.signature).toBe('t');
    expect(d.packages!.signature).toBe('as');
    // The commit object cannot be read: the JSON metadata is used instead.
    expect(d['base-commit-meta']!.signature).toBe('a{sv}');
  });

  it('converts typed commit metadata and drops what DBus cannot carry', () => {
    expect(gvalueForBus(new Uint8Array([1, 2]), 'ay')).toEqual([1, 2]);
    expect(gvalueForBus([['a', '1', 'all']], 'a(sss)')).toEqual([['a', '1', 'all']]);
    expect(gvalueForBus(new Map([['k', 1n]]), 'a{st}')).toEqual({ k: 1n });
    expect(gvalueForBus(null, 'ms')).toBeUndefined();
    expect(gvalueForBus(new Map([[1, 'x']]), 'a{us}')).toBeUndefined();
    const v = gvalueForBus({ type: 's', value: 'x' }, 'v') as { signature: string; value: unknown };
    expect([v.signature, v.value]).toEqual(['s', 'x']);
  });

  it('writes package differences in rpm-ostree\'s a(sua{sv}) form, by kind then name', () => {
    const rows = rpmDiff(
      [{ name: 'b', version: '1', arch: 'amd64' }, { name: 'gone', version: '1', arch: 'all' }, { name: 'z', version: '2', arch: 'all' }],
      [{ name: 'b', version: '2', arch: 'amd64' }, { name: 'a', version: '1', arch: 'all' }, { name: 'z', version: '1', arch: 'all' }],
    ) as [string, number, Record<string, { signature: string; value: string[] }>][];
    expect(rows.map(([n, k]) => `${k}:${n}`)).toEqual(['0:a', '1:gone', '2:b', '3:z']);
    expect(rows[2]![2].PreviousPackage!.value).toEqual(['b', '1', 'amd64']);
    expect(rows[2]![2].NewPackage!.value).toEqual(['b', '2', 'amd64']);
    expect(rows[0]![2].NewPackage!.signature).toBe('(sss)');
    expect(rows[1]![2].NewPackage).toBeUndefined();
  });

  it('writes the cached update\'s rpm-diff in rpm-ostree\'s shape (what GNOME Software reads)', () => {
    const d = cachedUpdateRpmDiff({
      upgraded: [{ name: 'b', arch: 'amd64', from: '1', to: '2' }, { name: 'a', arch: 'all', previousArch: 'amd64', from: '1', to: '1.1' }],
      downgraded: [{ name: 'z', arch: 'all', from: '2', to: '1' }],
      removed: [{ name: 'gone', version: '1', arch: 'all' }],
      added: [],
    });
    expect(Object.fromEntries(Object.entries(d).map(([k, v]) => [k, [v.signature, v.value]]))).toEqual({
      upgraded: ['a(us(ss)(ss))', [[0, 'a', ['1', 'amd64'], ['1.1', 'all']], [0, 'b', ['1', 'amd64'], ['2', 'amd64']]]],
      downgraded: ['a(us(ss)(ss))', [[0, 'z', ['2', 'all'], ['1', 'all']]]],
      removed: ['a(usss)', [[0, 'gone', '1', 'all']]],
      added: ['a(usss)', []],
    });
  });

  it('describes an apt source with rpm-ostree\'s repository keys and its own', () => {
    const d = repoDict({
      id: '/etc/apt/sources.list.d/debian.sources:2', file: '/etc/apt/sources.list.d/debian.sources', format: 'deb822',
      types: ['deb-src'], uris: ['http://deb.debian.org/debian'], suites: ['trixie'], components: ['main'], enabled: false, signedBy: '/k.gpg',
    });
    expect(Object.fromEntries(Object.entries(d).map(([k, v]) => [k, `${v.signature} ${JSON.stringify(v.value)}`]))).toEqual({
      id: 's "/etc/apt/sources.list.d/debian.sources:2"',
      description: 's "deb-src http://deb.debian.org/debian trixie main"',
      'is-enabled': 'b false',
      'is-source': 'b true',
      'is-devel': 'b false',
      file: 's "/etc/apt/sources.list.d/debian.sources"',
      types: 'as ["deb-src"]',
      uris: 'as ["http://deb.debian.org/debian"]',
      suites: 'as ["trixie"]',
      components: 'as ["main"]',
      'signed-by': 's "/k.gpg"',
    });
    const debug = repoDict({ id: 'x:1', file: 'x', format: 'one-line', types: ['deb'], uris: ['http://deb.debian.org/debian-debug'], suites: ['trixie-debug'], components: ['main'], enabled: true, name: 'Debug symbols' });
    expect([debug['is-devel']!.value, debug.description!.value]).toEqual([true, 'Debug symbols']);
  });
});
