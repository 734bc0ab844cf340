// Resolution in one apt run (aptResolve: the plan from apt's JSON hook, the download list from
// --print-uris) and apt's resolution errors turned into one message, against the real apt-get:
// flat file: repositories and a dpkg status file made here (needs apt, hence an integration
// test). The parsers fed what a Debian 12 host's apt printed are in test/unit/system/apt.test.ts.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AptOstreeError, ToolError } from '../../../src/errors.js';
import { aptResolve, aptSimulate, aptUpdate, archiveFileName, writeAptConfig, type AptConfig } from '../../../src/system/apt.js';

let dir: string;

/** A Packages stanza (Filename, Size and SHA256 are never checked by a resolution). */
function stanza(name: string, version: string, arch: string, extra: Record<string, string> = {}): string {
  const file = `${name}_${version.replace(/^\d+:/, '')}_${arch}.deb`;
  const fields = { Package: name, Version: version, Architecture: arch, Maintainer: 'T <t@example.org>', ...extra, Filename: `./${file}`, Size: '1', SHA256: `${'0'.repeat(63)}1`, Description: 'test' };
  return Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n\n';
}

/** A flat repository: Packages, and a Release file whose Label/Version/Suite apt prints as the origin. */
function flatRepo(name: string, release: Record<string, string>, stanzas: string[]): string {
  const repo = join(dir, name);
  mkdirSync(repo, { recursive: true });
  const packages = stanzas.join('');
  writeFileSync(join(repo, 'Packages'), packages);
  const sha = createHash('sha256').update(packages).digest('hex');
  const fields = { Origin: 'Debian', ...release, Date: 'Sat, 01 Mar 2025 00:00:00 UTC', Architectures: 'amd64 i386 all' };
  writeFileSync(join(repo, 'Release'), Object.entries(fields).map(([k, v]) => `${k}: ${v}\n`).join('') + `SHA256:\n ${sha} ${Buffer.byteLength(packages)} Packages\n`);
  return `deb [trusted=yes] file:${repo} ./`;
}

function installed(name: string, version: string, extra: Record<string, string> = {}): string {
  const fields = { Package: name, Status: 'install ok installed', Version: version, Architecture: 'amd64', Maintainer: 'T <t@example.org>', ...extra, Description: 'test' };
  return Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n\n';
}

/** An apt configuration as layering writes it, for the given sources and apt.conf.d snippets. */
async function aptConfig(name: string, sources: string, confD: Record<string, string> = {}): Promise<AptConfig> {
  const root = join(dir, name);
  const etcApt = join(root, 'etc-apt');
  for (const d of ['apt.conf.d', 'preferences.d', 'sources.list.d', 'trusted.gpg.d']) mkdirSync(join(etcApt, d), { recursive: true });
  for (const d of ['lists/partial', 'archives/partial', 'state']) mkdirSync(join(root, 'cache', d), { recursive: true });
  writeFileSync(join(etcApt, 'sources.list'), sources);
  for (const [f, text] of Object.entries(confD)) writeFileSync(join(etcApt, 'apt.conf.d', f), text);
  return writeAptConfig({ etcApt, statusFile: join(dir, 'status'), cacheDir: join(root, 'cache'), workDir: root, architecture: 'amd64', foreignArchitectures: ['i386'] });
}

let cfg: AptConfig;
let purgeCfg: AptConfig;
let mainRepo: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'apt-resolve-'));
  const main = flatRepo('main', { Label: 'Debian', Suite: 'oldstable', Version: '12.15', Codename: 'bookworm' }, [
    stanza('g++', '4:12.2.0-3', 'amd64', { Depends: 'libstdc++6 (>= 12)' }),
    stanza('libstdc++6', '12.2.0-14+deb12u1', 'amd64', { 'Multi-Arch': 'same' }),
    stanza('libstdc++6', '12.2.0-14+deb12u1', 'i386', { 'Multi-Arch': 'same' }),
    stanza('init-system-helpers', '1.65.2+deb12u1', 'all', { Depends: 'perl-base' }),
    stanza('python3.11', '3.11.2-6+deb12u6', 'amd64', { Depends: 'init-system-helpers' }),
    stanza('libgcrypt20', '1.10.1-3+deb12u1', 'amd64'),
    stanza('libx', '1:1.0-1', 'amd64'),
    stanza('libx', '1:2.0-1', 'amd64'),
    stanza('newtool', '1.0', 'amd64', { Conflicts: 'oldtool', Replaces: 'oldtool' }),
    stanza('breaks-base', '1.0', 'amd64', { Conflicts: 'base-files' }),
    stanza('needs-missing', '1.0', 'amd64', { Depends: 'no-such-lib (>= 2)' }),
    stanza('refers-ghost', '1.0', 'amd64', { Recommends: 'ghost' }),
  ]);
  mainRepo = join(dir, 'main');
  // The same libgcrypt20 from a second archive.
  const security = flatRepo('security', { Label: 'Debian-Security', Suite: 'oldstable-security', Version: '12', Codename: 'bookworm-security' }, [stanza('libgcrypt20', '1.10.1-3+deb12u1', 'amd64')]);
  // A label with a space, and no Version.
  const backports = flatRepo('backports', { Label: 'Debian Backports', Suite: 'bookworm-backports', Codename: 'bookworm-backports' }, [stanza('htop', '3.3.0-4~bpo12+1', 'amd64')]);
  writeFileSync(
    join(dir, 'status'),
    installed('base-files', '12.4+deb12u11', { Essential: 'yes' }) +
      installed('perl-base', '5.36.0-7+deb12u2', { Essential: 'yes' }) +
      installed('libgcrypt20', '1.10.1-3') +
      installed('oldtool', '0.9') +
      installed('libx', '1:2.0-1'),
  );
  const sources = [main, security, backports].join('\n') + '\n';
  cfg = await aptConfig('cfg', sources);
  // A deployment whose apt.conf.d asks for purging, and has an install hook of its own.
  purgeCfg = await aptConfig('purge', sources, {
    '50purge': 'APT::Get::Purge "true";\n',
    '60hook': `AptCli::Hooks::Install { "touch ${join(dir, 'image-hook-ran')}"; };\n`,
  });
  await aptUpdate(cfg);
  await aptUpdate(purgeCfg);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the plan and the download list from one real apt-get run', () => {
  it('lists new packages and upgrades with version and architecture: epochs, "+" and "." in names, arch all, several origins', async () => {
    const { plan, downloads } = await aptResolve(cfg, ['g++', 'python3.11', 'libgcrypt20', 'htop']);
    const byName = Object.fromEntries(plan.install.map((p) => [p.name, p]));
    expect(byName).toEqual({
      'libstdc++6': { name: 'libstdc++6', version: '12.2.0-14+deb12u1', architecture: 'amd64', oldVersion: undefined },
      'g++': { name: 'g++', version: '4:12.2.0-3', architecture: 'amd64', oldVersion: undefined },
      'init-system-helpers': { name: 'init-system-helpers', version: '1.65.2+deb12u1', architecture: 'all', oldVersion: undefined },
      libgcrypt20: { name: 'libgcrypt20', version: '1.10.1-3+deb12u1', architecture: 'amd64', oldVersion: '1.10.1-3' },
      'python3.11': { name: 'python3.11', version: '3.11.2-6+deb12u6', architecture: 'amd64', oldVersion: undefined },
      htop: { name: 'htop', version: '3.3.0-4~bpo12+1', architecture: 'amd64', oldVersion: undefined },
    });
    expect(plan.install).toHaveLength(6);
    expect(plan.remove).toEqual([]);
    // Every .deb of the plan is missing from the archives cache: one download each, named as
    // apt names the file, with the size and hash of the index.
    expect(downloads.map((d) => d.fileName).sort()).toEqual(plan.install.map(archiveFileName).sort());
    const gpp = downloads.find((d) => d.name === 'g++')!;
    expect(gpp).toEqual({
      uri: `file:${mainRepo}/./g%2b%2b_12.2.0-3_amd64.deb`, // as apt escapes it
      fileName: 'g++_4%3a12.2.0-3_amd64.deb',
      size: 1,
      hash: `SHA256:${'0'.repeat(63)}1`,
      name: 'g++',
      version: '4:12.2.0-3',
      architecture: 'amd64',
    });
  });

  it('leaves .debs already in the archives cache out of the download list, not out of the plan', async () => {
    const cached = join(cfg.archivesDir, 'init-system-helpers_1.65.2+deb12u1_all.deb');
    writeFileSync(cached, 'x'); // the index's size (1)
    try {
      const { plan, downloads } = await aptResolve(cfg, ['python3.11']);
      expect(plan.install.map((p) => p.name).sort()).toEqual(['init-system-helpers', 'python3.11']);
      expect(downloads.map((d) => d.name)).toEqual(['python3.11']);
    } finally {
      rmSync(cached);
    }
  });

  it('passes --allow-downgrades: a downgrade is an install with the newer installed version as oldVersion', async () => {
    const { plan, downloads } = await aptResolve(cfg, ['libx=1:1.0-1']);
    expect(plan).toEqual({ install: [{ name: 'libx', version: '1:1.0-1', architecture: 'amd64', oldVersion: '1:2.0-1' }], remove: [] });
    expect(downloads.map((d) => d.fileName)).toEqual(['libx_1%3a1.0-1_amd64.deb']);
  });

  it('lists the packages apt removes, and purges alike; the deployment\'s own install hooks do not run', async () => {
    const { plan } = await aptResolve(cfg, ['newtool']);
    expect(plan.remove).toEqual([{ name: 'oldtool', version: '0.9' }]);
    expect(plan.install.map((p) => p.name)).toEqual(['newtool']);
    const purge = await aptResolve(purgeCfg, ['newtool']);
    expect(purge.plan.remove).toEqual([{ name: 'oldtool', version: '0.9' }]);
    // A hook of the image is a program of the image: never run on the host.
    expect(existsSync(join(dir, 'image-hook-ran'))).toBe(false);
  });

  it('gives an empty plan and nothing to download when there is nothing to do', async () => {
    expect(await aptResolve(cfg, ['libx'])).toEqual({ plan: { install: [], remove: [] }, downloads: [] });
  });

  it('reads a foreign-architecture package (name:arch) by its name alone, so its archive file is found', async () => {
    const { plan, downloads } = await aptResolve(cfg, ['libstdc++6:i386']);
    expect(plan.install).toEqual([{ name: 'libstdc++6', version: '12.2.0-14+deb12u1', architecture: 'i386', oldVersion: undefined }]);
    expect(archiveFileName(plan.install[0]!)).toBe('libstdc++6_12.2.0-14+deb12u1_i386.deb');
    expect(downloads.map((d) => [d.fileName, d.architecture])).toEqual([['libstdc++6_12.2.0-14+deb12u1_i386.deb', 'i386']]);
  });

  it('keeps aptSimulate, the plan alone (compose)', async () => {
    expect(await aptSimulate(cfg, ['libx=1:1.0-1'])).toEqual((await aptResolve(cfg, ['libx=1:1.0-1'])).plan);
  });
});

describe("apt's resolution errors (real apt-get)", () => {
  async function failure(requests: string[], c = cfg): Promise<unknown> {
    try {
      await aptResolve(c, requests);
    } catch (e) {
      return e;
    }
    throw new Error(`${requests.join(' ')} resolved`);
  }

  it('names every package apt cannot find: unknown, without candidate, version or release not found', async () => {
    const e = (await failure(['nosuchpkg', 'ghost', 'g++=9.9', 'g++/nosuch'])) as AptOstreeError;
    expect(e).toBeInstanceOf(AptOstreeError);
    expect(e).not.toBeInstanceOf(ToolError);
    expect(e.message).toBe('Packages not found in the apt repositories: nosuchpkg, ghost, g++=9.9, g++/nosuch.');
    expect(e.hint).toMatch(/apt-ostree search/);
    expect(((await failure(['nosuchpkg', 'htop'])) as Error).message).toBe('Package not found in the apt repositories: nosuchpkg.');
  });

  it('reports unmet dependencies with the lines apt printed about them', async () => {
    const missing = (await failure(['needs-missing'])) as AptOstreeError;
    expect(missing.message).toBe('apt cannot satisfy the request without breaking the base image.');
    expect(missing.detail).toBe('needs-missing : Depends: no-such-lib (>= 2) but it is not installable');
    // A conflict with an essential package of the base: apt will not remove it to resolve.
    const conflict = (await failure(['breaks-base'])) as AptOstreeError;
    expect(conflict.message).toBe('apt cannot satisfy the request without breaking the base image.');
    expect(conflict.detail).toBe('breaks-base : Conflicts: base-files but 12.4+deb12u11 is to be installed');
  });

  it('reports the removal of essential packages, naming them', async () => {
    const e = (await failure(['perl-base-', 'newtool'])) as AptOstreeError;
    expect(e.message).toBe('apt cannot satisfy the request without breaking the base image.');
    expect(e.detail).toBe('perl-base');
    expect(e.hint).toMatch(/essential/);
  });

  it('passes any other failure on as the ToolError of apt-get', async () => {
    const bad = await aptConfig('bad', 'garbage\n');
    const e = (await failure(['htop'], bad)) as ToolError;
    expect(e).toBeInstanceOf(ToolError);
    expect(e.tool).toBe('apt-get');
    expect(e.stderr).toMatch(/Malformed line 1 in source list/);
    expect(readFileSync(bad.file, 'utf8')).toContain('APT::Architectures { "amd64"; "i386"; };');
  });
});
