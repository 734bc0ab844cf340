// apt's binary caches kept between transactions (AptDirs.binaryCaches): valid as long as the
// package lists and the status file are the same, dropped when an update changes a list, and
// never taken for another base's status. Real apt-get, flat file: repositories made here (an
// integration test because it needs apt).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptResolve, aptUpdate, writeAptConfig, type AptConfig } from '../../../src/system/apt.js';
import { baseStatusFile } from '../../../src/engine/layering/apt-setup.js';

let dir: string;

function stanza(name: string, version: string): string {
  return `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nMaintainer: T <t@example.org>\nFilename: ./${name}_${version.replace(/^\d+:/, '')}_amd64.deb\nSize: 1\nSHA256: ${'0'.repeat(64)}\nDescription: test\n\n`;
}

/** (Re)publish a flat repository: Packages and Release. */
function publish(repo: string, stanzas: string[]): void {
  mkdirSync(repo, { recursive: true });
  const packages = stanzas.join('');
  writeFileSync(join(repo, 'Packages'), packages);
  const sha = createHash('sha256').update(packages).digest('hex');
  writeFileSync(join(repo, 'Release'), `Origin: test\nLabel: test\nArchitectures: amd64\nSHA256:\n ${sha} ${Buffer.byteLength(packages)} Packages\n`);
}

function installed(name: string, version: string): string {
  return `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: test\n\n`;
}

/** apt for a status file, with its binary caches in the cache directory, as layering sets it up. */
async function aptFor(cacheDir: string, statusFile: string, name: string): Promise<AptConfig> {
  const root = join(dir, name);
  const etcApt = join(root, 'etc-apt');
  for (const d of ['apt.conf.d', 'preferences.d', 'sources.list.d']) mkdirSync(join(etcApt, d), { recursive: true });
  for (const d of ['lists/partial', 'archives/partial', 'state']) mkdirSync(join(cacheDir, d), { recursive: true });
  mkdirSync(join(root, 'log'), { recursive: true });
  writeFileSync(join(etcApt, 'sources.list'), `deb [trusted=yes] file:${join(dir, 'repo')} ./\n`);
  return writeAptConfig({
    etcApt, statusFile, cacheDir, workDir: root, architecture: 'amd64',
    binaryCaches: { pkgcache: join(cacheDir, 'pkgcache.bin'), srcpkgcache: join(cacheDir, 'srcpkgcache.bin') },
  });
}

/** What identifies a file for apt and for us: inode and mtime. */
const identity = (f: string) => {
  const st = statSync(f, { bigint: true });
  return `${st.ino} ${st.mtimeNs}`;
};
const caches = (cacheDir: string) => readdirSync(cacheDir).filter((f) => f.endsWith('.bin')).sort();

// Two bases whose status files have the same size: libx 1:1.0-1 installed, or 1:2.0-1.
const STATUS_A = installed('libx', '1:1.0-1');
const STATUS_B = installed('libx', '1:2.0-1');
const UPGRADE = { install: [{ name: 'libx', version: '1:2.0-1', architecture: 'amd64', oldVersion: '1:1.0-1' }], remove: [] };
const NOTHING = { install: [], remove: [] };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'apt-cache-'));
  publish(join(dir, 'repo'), [stanza('libx', '1:1.0-1'), stanza('libx', '1:2.0-1')]);
  expect(Buffer.byteLength(STATUS_A)).toBe(Buffer.byteLength(STATUS_B));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('binary caches between transactions', () => {
  it('survive an update of an unchanged repository; a changed list drops them, and the next run sees the change', async () => {
    const cacheDir = join(dir, 'cache-update');
    const apt = await aptFor(cacheDir, baseStatusFile(cacheDir, 'a'.repeat(64), STATUS_A), 'update');
    expect(await aptUpdate(apt)).toEqual({ changed: true });
    // apt did not build them after the update (we told it not to): the first resolution does.
    expect(caches(cacheDir)).toEqual([]);
    expect((await aptResolve(apt, ['libx'])).plan).toEqual(UPGRADE);
    expect(caches(cacheDir)).toEqual(['pkgcache.bin', 'srcpkgcache.bin']);
    const built = caches(cacheDir).map((f) => identity(join(cacheDir, f)));
    // Nothing new: the lists and the caches are left as they are, and reused as they are.
    expect(await aptUpdate(apt)).toEqual({ changed: false });
    expect((await aptResolve(apt, ['libx'])).plan).toEqual(UPGRADE);
    expect(caches(cacheDir).map((f) => identity(join(cacheDir, f)))).toEqual(built);
    // A new version, in a list of the same size with the same mtime: apt's own check of the
    // cache (size, mtime) would take it for the old one; the update drops the caches.
    const packages = join(dir, 'repo', 'Packages');
    const { atime, mtime } = statSync(packages);
    publish(join(dir, 'repo'), [stanza('libx', '1:1.0-1'), stanza('libx', '1:3.0-1')]);
    utimesSync(packages, atime, mtime);
    try {
      expect(await aptUpdate(apt)).toEqual({ changed: true });
      expect(caches(cacheDir)).toEqual([]);
      expect((await aptResolve(apt, ['libx'])).plan.install.map((p) => p.version)).toEqual(['1:3.0-1']);
    } finally {
      publish(join(dir, 'repo'), [stanza('libx', '1:1.0-1'), stanza('libx', '1:2.0-1')]);
    }
  });

  it("apt takes a status file of the same path, size and mtime as unchanged, whatever it holds (why bases get a path each)", async () => {
    const cacheDir = join(dir, 'cache-same-path');
    const status = join(dir, 'one-status-path');
    writeFileSync(status, STATUS_A);
    const apt = await aptFor(cacheDir, status, 'same-path');
    await aptUpdate(apt);
    expect((await aptResolve(apt, ['libx'])).plan).toEqual(UPGRADE);
    // Another base's status written at the same path, its mtime as before: apt keeps its cache.
    const { atime, mtime } = statSync(status);
    writeFileSync(status, STATUS_B);
    utimesSync(status, atime, mtime);
    expect((await aptResolve(apt, ['libx'])).plan).toEqual(UPGRADE); // stale: B has 1:2.0-1 already
  });

  it('are never used for another base: each base status has a path of its own, kept while its text is the same', async () => {
    const cacheDir = join(dir, 'cache-bases');
    const a = baseStatusFile(cacheDir, 'a'.repeat(64), STATUS_A);
    const b = baseStatusFile(cacheDir, 'b'.repeat(64), STATUS_B);
    // Same size and the same mtime: only the path tells them apart.
    const { atime, mtime } = statSync(a);
    utimesSync(b, atime, mtime);
    const aptA = await aptFor(cacheDir, a, 'base-a');
    await aptUpdate(aptA);
    expect((await aptResolve(aptA, ['libx'])).plan).toEqual(UPGRADE);
    expect((await aptResolve(await aptFor(cacheDir, b, 'base-b'), ['libx'])).plan).toEqual(NOTHING);
    expect((await aptResolve(aptA, ['libx'])).plan).toEqual(UPGRADE);
    // The same base again: the same file, not rewritten (its mtime keeps the cache valid).
    const before = identity(a);
    expect(baseStatusFile(cacheDir, 'a'.repeat(64), STATUS_A)).toBe(a);
    expect(identity(a)).toBe(before);
  });

});
