/**
 * What layering makes of an image's tmpfiles.d files before dpkg runs (createVarFromTmpfiles):
 * every *.conf counts whatever its name, with systemd-tmpfiles' precedence, and no line can
 * write outside the tree. Owners and modes, which need root, are checked in
 * test/integration/tmpfiles-owners.test.ts.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveBeneath } from '../../../src/layout/files.js';
import { activeTmpfilesFiles, declaredTmpfilesPaths, effectiveTmpfiles, followTmpfilesLinks, readTmpfilesFiles, type TmpfilesFile } from '../../../src/layout/tmpfiles.js';
import { createVarFromTmpfiles } from '../../../src/layout/var.js';

const lib = (name: string, text: string): TmpfilesFile => ({ dir: 'usr/lib/tmpfiles.d', name, text });
const etc = (name: string, text?: string): TmpfilesFile => ({ dir: 'usr/etc/tmpfiles.d', name, text });
/** Files in the order readTmpfilesFiles returns them: the admin's directory first. */
const order = (files: TmpfilesFile[]) => [...files.filter((f) => f.dir !== 'usr/lib/tmpfiles.d'), ...files.filter((f) => f.dir === 'usr/lib/tmpfiles.d')];

describe('systemd-tmpfiles precedence', () => {
  it('reads every file whatever its name, in the lexical order of the names across directories', () => {
    const files = order([lib('zz-last.conf', 'd /var/z\n'), etc('10-admin.conf', 'd /var/a\n'), lib('00-first.conf', 'd /var/0\n')]);
    expect(activeTmpfilesFiles(files).map((f) => f.name)).toEqual(['00-first.conf', '10-admin.conf', 'zz-last.conf']);
  });

  it('lets a file of the admin directory override the one of the same name in usr/lib', () => {
    const items = effectiveTmpfiles(order([lib('50-state.conf', 'd /var/lib/state 0700 root root -\n'), etc('50-state.conf', 'd /var/lib/state 0750 root root -\n')]));
    expect(items).toEqual([expect.objectContaining({ path: '/var/lib/state', mode: '0750', source: 'usr/etc/tmpfiles.d/50-state.conf' })]);
  });

  it('masks a file with a link to /dev/null (text undefined)', () => {
    const items = effectiveTmpfiles(order([
      lib('00-legacy.conf', 'd /var/lib/dpkg 0755 root root -\n'),
      etc('00-legacy.conf'),
      lib('dpkg-database.conf', 'L /var/lib/dpkg - - - - ../../usr/share/dpkg/database\n'),
    ]));
    expect(items).toEqual([expect.objectContaining({ type: 'L', path: '/var/lib/dpkg', source: 'usr/lib/tmpfiles.d/dpkg-database.conf' })]);
  });

  it('keeps the first declaration of a path, by file name and then by line', () => {
    const items = effectiveTmpfiles(order([
      lib('b.conf', 'L /var/lib/dpkg - - - - /elsewhere\n'),
      lib('a.conf', 'd /var/x 0700\nd /var/x 0755\nL+ /var/lib/dpkg - - - - ../../usr/share/dpkg/database\n'),
    ]));
    expect(items.map((i) => [i.path, i.type, i.mode ?? i.arg, i.force])).toEqual([
      ['/var/lib/dpkg', 'L', '../../usr/share/dpkg/database', true],
      ['/var/x', 'd', '0700', false],
    ]);
  });

  it('ignores adjusting lines, relative paths and paths with ..', () => {
    const items = effectiveTmpfiles([lib('x.conf', 'z /var/a 0700\nr! /etc/passwd.lock\nd var/rel\nd /var/../etc/evil\nd /var/./lib//ok/\nx /var/tmp/*\n')]);
    expect(items.map((i) => i.path)).toEqual(['/var/lib/ok']);
  });

  it('sorts parents before their children', () => {
    const items = effectiveTmpfiles([lib('x.conf', 'd /var/lib/a/b\nd /var/lib/a\nd /var/lib/a-b\n')]);
    expect(items.map((i) => i.path)).toEqual(['/var/lib/a', '/var/lib/a/b', '/var/lib/a-b']);
  });

  it('follows L lines to where a path leads', () => {
    const items = effectiveTmpfiles([lib('x.conf', 'L /var/lib/dpkg - - - - ../../usr/share/dpkg/database\nL /var/lib2 - - - - /var/lib\n')]);
    expect(followTmpfilesLinks(items, '/var/lib/dpkg')).toBe('/usr/share/dpkg/database');
    expect(followTmpfilesLinks(items, '/var/lib2/dpkg/status')).toBe('/usr/share/dpkg/database/status');
    expect(followTmpfilesLinks(items, '/var/lib/other')).toBe('/var/lib/other');
    const loop = effectiveTmpfiles([lib('x.conf', 'L /var/a - - - - b\nL /var/b - - - - a\n')]);
    expect(typeof followTmpfilesLinks(loop, '/var/a')).toBe('string'); // a loop ends
  });
});

describe('createVarFromTmpfiles on a tree', () => {
  let tmp: string;
  let root: string;
  let outside: string;
  const put = (rel: string, content: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  };
  const link = (rel: string, target: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    symlinkSync(target, join(root, rel));
  };
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tmpfiles-prepare-'));
    root = join(tmp, 'root');
    outside = join(tmp, 'outside');
    mkdirSync(join(root, 'var'), { recursive: true });
    mkdirSync(join(root, 'usr/share/dpkg/database'), { recursive: true });
    put('usr/share/dpkg/database/status', 'Package: dpkg\n');
    put('usr/etc/passwd', 'root:x:0:0::/root:/bin/sh\nsvc:x:901:902::/:/bin/false\n');
    put('usr/etc/group', 'root:x:0:\nsvc:x:902:\nmail:x:8:\n');
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('applies a file of any name, honouring masks and overrides', () => {
    put('usr/lib/tmpfiles.d/dpkg-database.conf', 'L /var/lib/dpkg - - - - ../../usr/share/dpkg/database\n');
    put('usr/lib/tmpfiles.d/00-legacy-dpkg.conf', 'd /var/lib/dpkg 0755 root root -\n');
    link('usr/etc/tmpfiles.d/00-legacy-dpkg.conf', '/dev/null');
    put('usr/lib/tmpfiles.d/50-state.conf', 'd /var/lib/state 0700 root root -\n');
    put('usr/etc/tmpfiles.d/50-state.conf', 'd /var/lib/state 0750 svc svc -\n');
    createVarFromTmpfiles(root);
    expect(readlinkSync(join(root, 'var/lib/dpkg'))).toBe('../../usr/share/dpkg/database');
    expect(readFileSync(join(root, 'var/lib/dpkg/status'), 'utf8')).toBe('Package: dpkg\n');
    // The mode and owner the override gives need root: test/integration/tmpfiles-owners.test.ts.
    expect(statSync(join(root, 'var/lib/state')).isDirectory()).toBe(true);
  });

  it('copies files and whole directories (C), with systemd\'s default source /usr/share/factory', () => {
    put('usr/share/factory/var/cache/debconf/config.dat', 'config\n');
    put('usr/share/factory/var/cache/debconf/sub/templates.dat', 'templates\n');
    link('usr/share/factory/var/cache/debconf/link', 'config.dat');
    put('usr/share/factory/var/lib/one', 'one\n');
    put('usr/lib/tmpfiles.d/x.conf', 'C /var/cache/debconf - - - -\nC /var/lib/copied - - - - /usr/share/factory/var/lib/one\nC /var/lib/missing-source\n');
    createVarFromTmpfiles(root);
    expect(readFileSync(join(root, 'var/cache/debconf/config.dat'), 'utf8')).toBe('config\n');
    expect(readFileSync(join(root, 'var/cache/debconf/sub/templates.dat'), 'utf8')).toBe('templates\n');
    expect(readlinkSync(join(root, 'var/cache/debconf/link'))).toBe('config.dat');
    expect(readFileSync(join(root, 'var/lib/copied'), 'utf8')).toBe('one\n');
    expect(existsSync(join(root, 'var/lib/missing-source'))).toBe(false);
  });

  it('creates only what is missing, except L+ which replaces', () => {
    put('var/lib/kept', 'kept\n');
    mkdirSync(join(root, 'var/lib/dpkg'));
    put('usr/lib/tmpfiles.d/x.conf', 'f /var/lib/kept 0600 - - - new\nf /var/log/wtmp 0664 root mail -\nL+ /var/lib/dpkg - - - - ../../usr/share/dpkg/database\nL /var/lib/kept2 - - - - /x\n');
    put('var/lib/kept2', 'not a link\n');
    createVarFromTmpfiles(root);
    expect(readFileSync(join(root, 'var/lib/kept'), 'utf8')).toBe('kept\n');
    expect(statSync(join(root, 'var/log/wtmp')).isFile()).toBe(true); // its mode: test/integration/tmpfiles-owners.test.ts
    expect(readlinkSync(join(root, 'var/lib/dpkg'))).toBe('../../usr/share/dpkg/database');
    expect(lstatSync(join(root, 'var/lib/kept2')).isFile()).toBe(true);
  });

  it('never writes outside the tree, whatever the links lead to', () => {
    mkdirSync(outside);
    put('usr/lib/tmpfiles.d/evil.conf', [
      `L /var/escape - - - - ${outside}`, // absolute: inside the tree it is ROOT${outside}
      'd /var/escape/made-through-link 0755',
      'L /var/up - - - - ../../../../../../..',
      `f /var/up${outside}/file-through-dotdot - - - - x`,
      `d /var/../..${outside}/dotdot-in-path`,
      `C /var/stolen - - - - ${join(tmp, 'secret')}`,
      'C /var/lib/into-itself - - - - /var/lib', // a copy into itself ends at once
      '',
    ].join('\n'));
    writeFileSync(join(tmp, 'secret'), 'host file\n');
    createVarFromTmpfiles(root);
    expect(existsSync(join(outside, 'made-through-link'))).toBe(false);
    expect(existsSync(join(outside, 'file-through-dotdot'))).toBe(false);
    expect(existsSync(join(outside, 'dotdot-in-path'))).toBe(false);
    expect(existsSync(join(root, outside, 'made-through-link'))).toBe(true);
    expect(existsSync(join(root, outside, 'file-through-dotdot'))).toBe(true);
    expect(existsSync(join(root, 'var/stolen'))).toBe(false); // the source is looked up inside the tree
    expect(existsSync(join(root, 'var/lib/into-itself'))).toBe(false);
  });

  it('reads configuration files through links inside the tree only', () => {
    writeFileSync(join(tmp, 'host.conf'), 'd /var/from-host-file\n');
    put(`${tmp.slice(1)}/host.conf`, 'd /var/from-tree-file\n'); // the same absolute path, inside the tree
    link('usr/lib/tmpfiles.d/linked.conf', join(tmp, 'host.conf'));
    createVarFromTmpfiles(root);
    expect(existsSync(join(root, 'var/from-tree-file'))).toBe(true);
    expect(existsSync(join(root, 'var/from-host-file'))).toBe(false);
    expect(readTmpfilesFiles(root).map((f) => f.name)).toEqual(['linked.conf']);
  });

  it('resolveBeneath keeps absolute links and .. inside the root', () => {
    link('a/abs', '/b');
    link('a/up', '../../../../b');
    mkdirSync(join(root, 'b'));
    expect(resolveBeneath(root, '/a/abs/x')).toBe(join(root, 'b/x'));
    expect(resolveBeneath(root, '/a/up/x')).toBe(join(root, 'b/x'));
    expect(resolveBeneath(root, '/missing/x')).toBeUndefined();
    expect(resolveBeneath(root, '/made/on/the/way', { create: true })).toBe(join(root, 'made/on/the/way'));
    expect(statSync(join(root, 'made/on/the/way')).isDirectory()).toBe(true);
    link('loop', 'loop');
    expect(resolveBeneath(root, '/loop/x')).toBeUndefined();
  });

  it('declaredTmpfilesPaths (compose) leaves out masked files', () => {
    put('usr/lib/tmpfiles.d/pkg.conf', 'd /var/lib/pkg\n');
    put('usr/lib/tmpfiles.d/masked.conf', 'd /var/lib/masked\n');
    link('usr/etc/tmpfiles.d/masked.conf', '/dev/null');
    expect([...declaredTmpfilesPaths(root)].sort()).toEqual(['/var/lib/pkg']);
  });
});
