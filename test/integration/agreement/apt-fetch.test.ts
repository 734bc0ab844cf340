// aptFetch: the .debs of a resolution fetched by the real apt (apt-get download) into the
// archives cache, from a repository served over HTTP and from a file: repository, with apt's
// hash and signature checks; progress measured on the files. Needs apt and the repository fixture.
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolError } from '../../../src/errors.js';
import { aptFetch, aptResolve, aptUpdate, writeAptConfig, type AptConfig, type FetchProgress } from '../../../src/system/apt.js';
import { makeAptRepo, type AptRepo } from '../../fixtures/apt-repo.js';

let dir: string;
let repo: AptRepo;

/** apt set up as layering does, with its own cache, for one sources line. */
async function aptFor(name: string, sources: string): Promise<AptConfig> {
  const root = join(dir, name);
  const etcApt = join(root, 'etc-apt');
  for (const d of ['apt.conf.d', 'preferences.d', 'sources.list.d', 'trusted.gpg.d']) mkdirSync(join(etcApt, d), { recursive: true });
  for (const d of ['lists/partial', 'archives/partial', 'state']) mkdirSync(join(root, 'cache', d), { recursive: true });
  mkdirSync(join(root, 'work', 'log'), { recursive: true });
  writeFileSync(join(etcApt, 'sources.list'), `${sources}\n`);
  const cfg = await writeAptConfig({ etcApt, statusFile: join(dir, 'status'), cacheDir: join(root, 'cache'), workDir: join(root, 'work'), architecture: 'amd64' });
  await aptUpdate(cfg);
  return cfg;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const debsIn = (d: string) => readdirSync(d).filter((f) => f.endsWith('.deb')).sort();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'apt-fetch-'));
  writeFileSync(join(dir, 'status'), 'Package: base-ao\nStatus: install ok installed\nVersion: 1\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: test\n\n');
  repo = await makeAptRepo(join(dir, 'repo'), [
    // Random, so the .deb is about as large as its content.
    { name: 'big-ao', version: '1.0', files: { '/usr/share/big-ao/data': randomBytes(1_000_000).toString('base64') } },
    { name: 'epoch-ao', version: '2:1.5', depends: 'big-ao' },
  ]);
  await repo.serve();
});
afterAll(async () => {
  await repo?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('aptFetch', () => {
  it('fetches the download list over HTTP into the archives cache, checked, and reports the bytes in place', async () => {
    const apt = await aptFor('http', repo.sourcesLine());
    const { plan, downloads } = await aptResolve(apt, ['epoch-ao']);
    expect(plan.install.map((p) => p.name)).toEqual(['big-ao', 'epoch-ao']);
    expect(downloads.map((d) => [d.fileName, d.uri])).toEqual([
      ['big-ao_1.0_all.deb', `${repo.url}pool/big-ao_1.0_all.deb`],
      ['epoch-ao_2%3a1.5_all.deb', `${repo.url}pool/epoch-ao_2:1.5_all.deb`],
    ]);
    const progress: FetchProgress[] = [];
    await aptFetch(apt, downloads, { onProgress: (p) => progress.push(p) });
    expect(debsIn(apt.archivesDir)).toEqual(['big-ao_1.0_all.deb', 'epoch-ao_2%3a1.5_all.deb']);
    expect(readdirSync(join(apt.archivesDir, 'partial'))).toEqual([]);
    for (const d of downloads) expect(`SHA256:${sha256(join(apt.archivesDir, d.fileName))}`).toBe(d.hash);
    // From nothing to everything, never backwards, against the total of the download list.
    const total = downloads.reduce((n, d) => n + d.size, 0);
    expect(total).toBeGreaterThan(1_000_000);
    expect(progress[0]).toEqual({ bytes: 0, totalBytes: total, files: 0, totalFiles: 2 });
    expect(progress.at(-1)).toEqual({ bytes: total, totalBytes: total, files: 2, totalFiles: 2 });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.bytes).toBeGreaterThanOrEqual(progress[i - 1]!.bytes);
    // Cached now: the next resolution has the same plan and nothing to download.
    const again = await aptResolve(apt, ['epoch-ao']);
    expect(again.plan).toEqual(plan);
    expect(again.downloads).toEqual([]);
  });

  it('resumes what an interrupted run left in partial/', async () => {
    const apt = await aptFor('resume', repo.sourcesLine());
    const { downloads } = await aptResolve(apt, ['big-ao']);
    const big = downloads[0]!;
    writeFileSync(join(apt.archivesDir, 'partial', big.fileName), readFileSync(join(repo.dir, 'pool', 'big-ao_1.0_all.deb')).subarray(0, 100_000));
    await aptFetch(apt, downloads);
    expect(`SHA256:${sha256(join(apt.archivesDir, big.fileName))}`).toBe(big.hash);
  });

  it('copies the packages of a file: repository into the archives cache, checked against the index', async () => {
    const apt = await aptFor('file', `deb [trusted=yes] file:${repo.dir} ./`);
    const { downloads } = await aptResolve(apt, ['epoch-ao']);
    expect(downloads.map((d) => d.uri)).toEqual([`file:${repo.dir}/pool/big-ao_1.0_all.deb`, `file:${repo.dir}/pool/epoch-ao_2:1.5_all.deb`]);
    await aptFetch(apt, downloads);
    expect(debsIn(apt.archivesDir)).toEqual(['big-ao_1.0_all.deb', 'epoch-ao_2%3a1.5_all.deb']);
    for (const d of downloads) expect(`SHA256:${sha256(join(apt.archivesDir, d.fileName))}`).toBe(d.hash);
  });

  it('refuses a package that does not match its index (apt\'s own check), and keeps it out of the cache', async () => {
    const copy = await makeAptRepo(join(dir, 'tampered-repo'), [{ name: 'small-ao', version: '1.0' }]);
    const apt = await aptFor('tampered', `deb [trusted=yes] file:${copy.dir} ./`);
    const { downloads } = await aptResolve(apt, ['small-ao']);
    const deb = join(copy.dir, 'pool', 'small-ao_1.0_all.deb');
    copyFileSync(deb, `${deb}.good`);
    appendFileSync(deb, 'tampered');
    const e = (await aptFetch(apt, downloads).then(() => undefined, (err: unknown) => err)) as ToolError;
    expect(e).toBeInstanceOf(ToolError);
    expect(e.stderr).toMatch(/Hash Sum mismatch/);
    expect(debsIn(apt.archivesDir)).toEqual([]);
  });

  it('refuses packages of an unauthenticated repository, as apt-get install does', async () => {
    const apt = await aptFor('insecure', `deb [allow-insecure=yes] ${repo.url} ./`);
    // --print-uris does not check (it only prints): resolution lists them.
    const { downloads } = await aptResolve(apt, ['big-ao']);
    expect(downloads).toHaveLength(1);
    const e = (await aptFetch(apt, downloads).then(() => undefined, (err: unknown) => err)) as ToolError;
    expect(e).toBeInstanceOf(ToolError);
    expect(`${e.stdout}\n${e.stderr}`).toMatch(/could not be authenticated|cannot be authenticated/);
    expect(debsIn(apt.archivesDir)).toEqual([]);
  });
});
