// apt's simulation (`apt-get install --simulate`) read into an install plan, and apt's resolution
// errors turned into one message. The parser (parseSimulation) and the error translation are
// not exported: both are reached through aptSimulate. Most cases run the real apt-get against
// flat file: repositories and a dpkg status file made here; lines pasted from a Debian 12 host's
// `apt-get -s upgrade` are fed in where apt is hard to lead into printing them.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AptOstreeError, ToolError } from '../../../src/errors.js';
import { aptSimulate, aptUpdate, archiveFileName, writeAptConfig, type AptConfig } from '../../../src/system/apt.js';
import { run } from '../../../src/system/run.js';

// run() is the real one unless a test hands it apt's output (mockResolvedValueOnce).
vi.mock('../../../src/system/run.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/system/run.js')>();
  return { ...real, run: vi.fn(real.run) };
});

let dir: string;

/** A Packages stanza (Filename, Size and SHA256 are never checked by a simulation). */
function stanza(name: string, version: string, arch: string, extra: Record<string, string> = {}): string {
  const file = `${name}_${version.replace(/^\d+:/, '')}_${arch}.deb`;
  const fields = { Package: name, Version: version, Architecture: arch, Maintainer: 'T <t@example.org>', ...extra, Filename: `./${file}`, Size: '1', SHA256: '0'.repeat(64), Description: 'test' };
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
function aptConfig(name: string, sources: string, confD: Record<string, string> = {}): AptConfig {
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

/** What the last real apt-get run printed: the text the plan was read from. */
async function lastStdout(): Promise<string> {
  return (await vi.mocked(run).mock.results.at(-1)!.value).stdout;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'apt-sim-'));
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
  // The same libgcrypt20 from a second archive: apt names both origins.
  const security = flatRepo('security', { Label: 'Debian-Security', Suite: 'oldstable-security', Version: '12', Codename: 'bookworm-security' }, [stanza('libgcrypt20', '1.10.1-3+deb12u1', 'amd64')]);
  // A label with a space, and no Version: apt prints "Debian Backports:bookworm-backports".
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
  cfg = aptConfig('cfg', sources);
  purgeCfg = aptConfig('purge', sources, { '50purge': 'APT::Get::Purge "true";\n' });
  await aptUpdate(cfg);
  await aptUpdate(purgeCfg);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the install plan from a real apt-get simulation', () => {
  it('lists new packages and upgrades with version and architecture: epochs, "+" and "." in names, arch all, several origins', async () => {
    const plan = await aptSimulate(cfg, ['g++', 'python3.11', 'libgcrypt20', 'htop']);
    const byName = Object.fromEntries(plan.install.map((p) => [p.name, p]));
    expect(byName).toEqual({
      'libstdc++6': { name: 'libstdc++6', version: '12.2.0-14+deb12u1', architecture: 'amd64', oldVersion: undefined },
      'g++': { name: 'g++', version: '4:12.2.0-3', architecture: 'amd64', oldVersion: undefined },
      'init-system-helpers': { name: 'init-system-helpers', version: '1.65.2+deb12u1', architecture: 'all', oldVersion: undefined },
      // Inst libgcrypt20 [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
      libgcrypt20: { name: 'libgcrypt20', version: '1.10.1-3+deb12u1', architecture: 'amd64', oldVersion: '1.10.1-3' },
      'python3.11': { name: 'python3.11', version: '3.11.2-6+deb12u6', architecture: 'amd64', oldVersion: undefined },
      // Inst htop (3.3.0-4~bpo12+1 Debian Backports:bookworm-backports [amd64])
      htop: { name: 'htop', version: '3.3.0-4~bpo12+1', architecture: 'amd64', oldVersion: undefined },
    });
    const printed = await lastStdout();
    expect(printed).toContain('Inst libgcrypt20 [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])\n');
    expect(printed).toContain('Inst htop (3.3.0-4~bpo12+1 Debian Backports:bookworm-backports [amd64])\n');
    expect(printed).toContain('Conf g++ (4:12.2.0-3 Debian:12.15/oldstable [amd64])\n');
    expect(plan.install).toHaveLength(6); // the Conf lines are not read as more installs
    expect(plan.remove).toEqual([]);
    // The names apt gives the downloaded files.
    expect(archiveFileName(byName['g++']!)).toBe('g++_4%3a12.2.0-3_amd64.deb');
    expect(archiveFileName(byName['init-system-helpers']!)).toBe('init-system-helpers_1.65.2+deb12u1_all.deb');
  });

  it('passes --allow-downgrades: a downgrade is an install with the newer installed version as oldVersion', async () => {
    const plan = await aptSimulate(cfg, ['libx=1:1.0-1']);
    expect(await lastStdout()).toContain('Inst libx [1:2.0-1] (1:1.0-1 Debian:12.15/oldstable [amd64])\n');
    expect(plan).toEqual({ install: [{ name: 'libx', version: '1:1.0-1', architecture: 'amd64', oldVersion: '1:2.0-1' }], remove: [] });
  });

  it('lists the packages apt removes ("Remv oldtool [0.9]"), and purges ("Purg …") alike', async () => {
    const plan = await aptSimulate(cfg, ['newtool']);
    expect(await lastStdout()).toContain('Remv oldtool [0.9]\n');
    expect(plan.remove).toEqual([{ name: 'oldtool', version: '0.9' }]);
    expect(plan.install.map((p) => p.name)).toEqual(['newtool']);
    // A deployment whose apt.conf.d asks for purging.
    const purge = await aptSimulate(purgeCfg, ['newtool']);
    expect(await lastStdout()).toContain('Purg oldtool [0.9]\n');
    expect(purge.remove).toEqual([{ name: 'oldtool', version: '0.9' }]);
  });

  it('gives an empty plan when there is nothing to do', async () => {
    expect(await aptSimulate(cfg, ['libx'])).toEqual({ install: [], remove: [] });
  });

  it('reads a foreign-architecture package (name:arch) by its name alone, so its archive file is found', async () => {
    const plan = await aptSimulate(cfg, ['libstdc++6:i386']);
    expect(await lastStdout()).toContain('Inst libstdc++6:i386 (12.2.0-14+deb12u1 Debian:12.15/oldstable [i386])');
    expect(plan.install).toEqual([{ name: 'libstdc++6', version: '12.2.0-14+deb12u1', architecture: 'i386', oldVersion: undefined }]);
    expect(archiveFileName(plan.install[0]!)).toBe('libstdc++6_12.2.0-14+deb12u1_i386.deb');
  });
});

describe('lines pasted from a Debian 12 host (apt 2.6)', () => {
  function aptPrints(stdout: string): void {
    vi.mocked(run).mockResolvedValueOnce({ stdout, stderr: '', exitCode: 0 });
  }

  it('ignores the bracketed notes after the origin, and the Conf lines', async () => {
    aptPrints(
      [
        'Reading package lists...',
        'Inst libpam-modules-bin [1.5.2-6+deb12u1] (1.5.2-6+deb12u3 Debian-Security:12/oldstable-security [amd64]) [libpam-modules:amd64 on libpam-modules-bin:amd64] [libpam-modules:amd64 ]',
        'Conf libpam-modules-bin (1.5.2-6+deb12u3 Debian-Security:12/oldstable-security [amd64]) [libpam-modules:amd64 ]',
        'Inst libnss-systemd [252.38-1~deb12u1] (252.39-1~deb12u2 Debian:12.15/oldstable [amd64]) []',
        'Inst libcap2 [1:2.66-4+deb12u2+b2] (1:2.66-4+deb12u3+b1 Debian:12.15/oldstable [amd64])',
        'Inst libpam-runtime [1.5.2-6+deb12u1] (1.5.2-6+deb12u3 Debian-Security:12/oldstable-security [all]) []',
        'Inst g++ [4:12.2.0-3] (4:12.2.0-3 Debian:12.15/oldstable [amd64])',
        'Remv libfoo2 [2.0-1] [libfoo-dev:amd64 ]',
        '',
      ].join('\n'),
    );
    const plan = await aptSimulate(cfg, ['whatever']);
    expect(plan.install).toEqual([
      { name: 'libpam-modules-bin', oldVersion: '1.5.2-6+deb12u1', version: '1.5.2-6+deb12u3', architecture: 'amd64' },
      { name: 'libnss-systemd', oldVersion: '252.38-1~deb12u1', version: '252.39-1~deb12u2', architecture: 'amd64' },
      { name: 'libcap2', oldVersion: '1:2.66-4+deb12u2+b2', version: '1:2.66-4+deb12u3+b1', architecture: 'amd64' },
      { name: 'libpam-runtime', oldVersion: '1.5.2-6+deb12u1', version: '1.5.2-6+deb12u3', architecture: 'all' },
      // A reinstall: same version before and after.
      { name: 'g++', oldVersion: '4:12.2.0-3', version: '4:12.2.0-3', architecture: 'amd64' },
    ]);
    expect(plan.remove).toEqual([{ name: 'libfoo2', version: '2.0-1' }]);
  });

  it('runs apt-get install --simulate with the requests after the options, in the apt environment', async () => {
    aptPrints('');
    await aptSimulate(cfg, ['htop', 'vim=2:9.0.1378-2']);
    const [tool, args, opts] = vi.mocked(run).mock.lastCall!;
    expect(tool).toBe('apt-get');
    expect(args).toEqual(['install', '--simulate', '--yes', '--quiet', '--allow-downgrades', 'htop', 'vim=2:9.0.1378-2']);
    expect(opts?.env).toMatchObject({ APT_CONFIG: cfg.file, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8' });
  });
});

describe("apt's resolution errors (real apt-get)", () => {
  async function failure(requests: string[], c = cfg): Promise<unknown> {
    try {
      await aptSimulate(c, requests);
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
    const bad = aptConfig('bad', 'garbage\n');
    const e = (await failure(['htop'], bad)) as ToolError;
    expect(e).toBeInstanceOf(ToolError);
    expect(e.tool).toBe('apt-get');
    expect(e.stderr).toMatch(/Malformed line 1 in source list/);
    expect(readFileSync(bad.file, 'utf8')).toContain('APT::Architectures { "amd64"; "i386"; };');
  });
});
