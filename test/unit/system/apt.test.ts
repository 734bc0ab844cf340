// What apt sends its JSON hook and prints with --print-uris, pasted from a Debian 12 host (apt 2.6):
// the parsers of system/apt.ts on their own. test/integration/agreement/apt-resolve.test.ts runs
// the real apt-get.
import { describe, expect, it } from 'vitest';
import { parseDownloads, parseHookPlan } from '../../../src/system/apt.js';

describe('what apt sends its JSON hook and prints with --print-uris (pasted from apt 2.6)', () => {
  // apt-get install --print-uris hello libx newtool foo:i386 --allow-downgrades, protocol 0.2,
  // shortened to the fields read; then the notifications apt sends after it.
  const pkg = (name: string, arch: string, mode: string, versions: Record<string, { version: string; architecture: string }>) => ({ id: 0, name, architecture: arch, mode, automatic: false, versions });
  const v = (version: string, architecture: string) => ({ id: 1, version, architecture, pin: 500, origins: [{ site: '127.0.0.1' }] });
  const prePrompt = {
    jsonrpc: '2.0',
    method: 'org.debian.apt.hooks.install.pre-prompt',
    params: {
      command: 'install',
      'search-terms': ['hello', 'libx', 'newtool', 'foo:i386'],
      'unknown-packages': [],
      packages: [
        pkg('dep', 'amd64', 'install', { candidate: v('2.0', 'all'), install: v('2.0', 'all') }),
        pkg('foo', 'i386', 'install', { candidate: v('1.0', 'i386'), install: v('1.0', 'i386') }),
        pkg('libx', 'amd64', 'upgrade', { candidate: v('1:2.0-1', 'amd64'), install: v('1:2.0-1', 'amd64'), current: v('1:1.0-1', 'amd64') }),
        pkg('liby', 'amd64', 'downgrade', { candidate: v('2.0', 'amd64'), install: v('1.0', 'amd64'), current: v('2.0', 'amd64') }),
        pkg('g++', 'amd64', 'reinstall', { candidate: v('4:12.2.0-3', 'amd64'), install: v('4:12.2.0-3', 'amd64'), current: v('4:12.2.0-3', 'amd64') }),
        pkg('oldtool', 'amd64', 'deinstall', { current: v('0.9', 'amd64') }),
        pkg('oldlib', 'amd64', 'purge', { current: v('3', 'amd64') }),
      ],
    },
  };
  const messages = [
    prePrompt,
    { jsonrpc: '2.0', method: 'org.debian.apt.hooks.bye', params: {} },
    { ...prePrompt, method: 'org.debian.apt.hooks.install.package-list', params: { ...prePrompt.params, packages: [] } },
    { jsonrpc: '2.0', method: 'org.debian.apt.hooks.bye', params: {} },
  ]
    .map((m) => `${JSON.stringify(m)}\n\n`)
    .join('');

  it('reads the plan from the pre-prompt notification: installs, upgrades, downgrades, reinstalls, removals and purges', () => {
    expect(parseHookPlan(messages)).toEqual({
      install: [
        { name: 'dep', version: '2.0', architecture: 'all', oldVersion: undefined },
        { name: 'foo', version: '1.0', architecture: 'i386', oldVersion: undefined },
        { name: 'libx', version: '1:2.0-1', architecture: 'amd64', oldVersion: '1:1.0-1' },
        { name: 'liby', version: '1.0', architecture: 'amd64', oldVersion: '2.0' },
        { name: 'g++', version: '4:12.2.0-3', architecture: 'amd64', oldVersion: '4:12.2.0-3' },
      ],
      remove: [
        { name: 'oldtool', version: '0.9' },
        { name: 'oldlib', version: '3' },
      ],
    });
  });

  it('reads protocol 0.1 alike (every install is mode "install"), and says when there is no plan', () => {
    const v01 = messages.replace(/"mode":"(upgrade|downgrade|reinstall)"/g, '"mode":"install"');
    expect(parseHookPlan(v01)).toEqual(parseHookPlan(messages));
    expect(parseHookPlan('')).toBeUndefined();
    expect(parseHookPlan('{"jsonrpc":"2.0","method":"org.debian.apt.hooks.install.fail","params":{"packages":[]}}\n\n')).toBeUndefined();
  });

  it('matches every --print-uris line to its package by file name, and skips the other lines', () => {
    const plan = parseHookPlan(messages)!;
    const stdout = [
      'Reading package lists...',
      'Need to get 3,576 B of archives.',
      "'http://deb.debian.org/debian/pool/main/d/dep/dep_2.0_all.deb' dep_2.0_all.deb 700 SHA256:b85b5cced0d67e68cd87e8a13ea3d1c47d55994b41f777cabf8760eb3075c781",
      "'http://127.0.0.1:8765/repo/pool/libx_2.0-1_amd64.deb' libx_1%3a2.0-1_amd64.deb 716 SHA256:6247f13e283706208d3d55538e1f275daa1dc65e86713b16e065181f5a047c68",
      // Not in the plan (never happens): read from the file name.
      "'file:/srv/repo/./other_1%3a3.1_arm64.deb' other_1%3a3.1_arm64.deb 12 ",
      '',
    ].join('\n');
    expect(parseDownloads(stdout, plan)).toEqual([
      { uri: 'http://deb.debian.org/debian/pool/main/d/dep/dep_2.0_all.deb', fileName: 'dep_2.0_all.deb', size: 700, hash: 'SHA256:b85b5cced0d67e68cd87e8a13ea3d1c47d55994b41f777cabf8760eb3075c781', name: 'dep', version: '2.0', architecture: 'all' },
      { uri: 'http://127.0.0.1:8765/repo/pool/libx_2.0-1_amd64.deb', fileName: 'libx_1%3a2.0-1_amd64.deb', size: 716, hash: 'SHA256:6247f13e283706208d3d55538e1f275daa1dc65e86713b16e065181f5a047c68', name: 'libx', version: '1:2.0-1', architecture: 'amd64' },
      { uri: 'file:/srv/repo/./other_1%3a3.1_arm64.deb', fileName: 'other_1%3a3.1_arm64.deb', size: 12, hash: '', name: 'other', version: '1:3.1', architecture: 'arm64' },
    ]);
  });
});
