// When a layering transaction refreshes the package lists: --refresh, no lists, no record,
// changed sources or keys, an age past PackageListsMaxAge; never with --cache-only. Files
// written here; that a transaction obeys the decision (and retries once a package missing from
// stale lists) is run for real in test/integration/install.test.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { decideListsRefresh, recordListsRefresh, sourcesDigest } from '../../../../src/engine/layering/lists-freshness.js';
import type { AptConfig } from '../../../../src/system/apt.js';

const root = mkdtempSync(join(tmpdir(), 'lists-freshness-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const etcApt = join(root, 'etc-apt');
const cacheDir = join(root, 'cache');
const apt = { file: '', archivesDir: join(cacheDir, 'archives'), listsDir: join(cacheDir, 'lists'), dirs: { etcApt, cacheDir } } as unknown as AptConfig;
const DAY = 86400;
const NOW = 1_700_000_000_000;

function freshSetup(): void {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(etcApt, 'sources.list.d'), { recursive: true });
  mkdirSync(apt.listsDir, { recursive: true });
  writeFileSync(join(etcApt, 'sources.list.d', 'debian.sources'), 'Types: deb\nURIs: http://deb.example/debian\nSuites: stable\nComponents: main\n');
  writeFileSync(join(apt.listsDir, 'deb.example_debian_dists_stable_main_binary-amd64_Packages'), 'Package: a\n');
}

describe('package lists freshness', () => {
  beforeEach(freshSetup);

  it('uses lists refreshed within PackageListsMaxAge, and refreshes past it', () => {
    recordListsRefresh(apt, sourcesDigest(etcApt), NOW);
    const young = decideListsRefresh(apt, { maxAgeSeconds: DAY, now: NOW + (DAY - 60) * 1000 });
    expect(young).toEqual({ refresh: false, reason: 'package lists: using those refreshed 24 h ago (PackageListsMaxAge=86400 s; --refresh forces one)' });
    const old = decideListsRefresh(apt, { maxAgeSeconds: DAY, now: NOW + DAY * 1000 });
    expect(old).toEqual({ refresh: true, reason: 'package lists: refreshing (last refreshed 24 h ago, PackageListsMaxAge=86400 s)' });
    // 0: every transaction refreshes.
    expect(decideListsRefresh(apt, { maxAgeSeconds: 0, now: NOW }).refresh).toBe(true);
    // A clock set back is no reason to trust the lists.
    expect(decideListsRefresh(apt, { maxAgeSeconds: DAY, now: NOW - 1000 }).reason).toMatch(/in the future/);
  });

  it('--refresh forces one; --cache-only never refreshes, even without lists', () => {
    recordListsRefresh(apt, sourcesDigest(etcApt), NOW);
    expect(decideListsRefresh(apt, { force: '--refresh', maxAgeSeconds: DAY, now: NOW }).reason).toBe('package lists: refreshing (--refresh)');
    rmSync(apt.listsDir, { recursive: true });
    expect(decideListsRefresh(apt, { cacheOnly: true, maxAgeSeconds: DAY, now: NOW })).toEqual({ refresh: false, reason: 'package lists: not refreshed (--cache-only)' });
  });

  it('refreshes without lists or without the record of a refresh', () => {
    expect(decideListsRefresh(apt, { maxAgeSeconds: DAY, now: NOW }).reason).toMatch(/no record of the last refresh/);
    recordListsRefresh(apt, sourcesDigest(etcApt), NOW);
    rmSync(join(apt.listsDir, 'deb.example_debian_dists_stable_main_binary-amd64_Packages'));
    expect(decideListsRefresh(apt, { maxAgeSeconds: DAY, now: NOW }).reason).toMatch(/none downloaded yet/);
  });

  it.each([
    ['a source file added', () => writeFileSync(join(etcApt, 'sources.list.d', 'extra.list'), 'deb http://other.example/debian stable main\n')],
    ['a source file edited', () => writeFileSync(join(etcApt, 'sources.list.d', 'debian.sources'), 'Types: deb\nURIs: http://deb.example/debian\nSuites: testing\nComponents: main\n')],
    ['sources.list written', () => writeFileSync(join(etcApt, 'sources.list'), 'deb http://deb.example/debian stable main\n')],
    ['a key added to keyrings', () => { mkdirSync(join(etcApt, 'keyrings')); writeFileSync(join(etcApt, 'keyrings', 'vendor.gpg'), 'key'); }],
    ['a key added to trusted.gpg.d', () => { mkdirSync(join(etcApt, 'trusted.gpg.d')); writeFileSync(join(etcApt, 'trusted.gpg.d', 'vendor.gpg'), 'key'); }],
  ])('refreshes young lists when the sources changed: %s', (_what, change) => {
    recordListsRefresh(apt, sourcesDigest(etcApt), NOW);
    change();
    expect(decideListsRefresh(apt, { maxAgeSeconds: DAY, now: NOW + 1000 }).reason).toMatch(/apt sources or keys changed/);
  });

  it('ignores what does not change the lists (preferences, apt.conf.d)', () => {
    recordListsRefresh(apt, sourcesDigest(etcApt), NOW);
    writeFileSync(join(etcApt, 'preferences'), 'Package: *\nPin: release a=stable\nPin-Priority: 900\n');
    mkdirSync(join(etcApt, 'apt.conf.d'));
    writeFileSync(join(etcApt, 'apt.conf.d', '10local'), 'APT::Install-Recommends "false";\n');
    expect(decideListsRefresh(apt, { maxAgeSeconds: DAY, now: NOW + 1000 }).refresh).toBe(false);
  });
});
