// MaxConcurrentDownloads and DownloadTimeout of apt-ostree.conf: what apt and ostree are given.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAptConfig, type AptDirs } from '../../../src/system/apt.js';
import { hasPullLowSpeedOptions, ostreeVersion, pull, pullArgs, staticDeltasPayOff } from '../../../src/system/ostree.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'downloads-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What apt itself reads from the APT_CONFIG file we write. */
function aptDump(dirs: Partial<AptDirs>, name: string): string {
  const workDir = join(dir, name);
  mkdirSync(join(workDir, 'etc-apt', 'apt.conf.d'), { recursive: true });
  const cfg = writeAptConfig({ etcApt: join(workDir, 'etc-apt'), statusFile: join(workDir, 'status'), cacheDir: join(workDir, 'cache'), workDir, architecture: 'amd64', ...dirs });
  return execFileSync('apt-config', ['dump'], { env: { ...process.env, APT_CONFIG: cfg.file }, encoding: 'utf8' });
}

describe('apt', () => {
  it('gets MaxConcurrentDownloads as Acquire::QueueHost::Limit and DownloadTimeout as the methods\' Timeout', () => {
    const dump = aptDump({ downloads: { maxConcurrent: 3, timeoutSeconds: 17 } }, 'set');
    expect(dump).toMatch(/^Acquire::QueueHost::Limit "3";$/m);
    for (const m of ['http', 'https', 'ftp']) expect(dump).toMatch(new RegExp(`^Acquire::${m}::Timeout "17";$`, 'm'));
  });

  it("keeps apt's own defaults without settings (compose)", () => {
    const dump = aptDump({}, 'unset');
    expect(dump).not.toMatch(/^Acquire::(QueueHost::Limit|\w+::Timeout) /m);
  });
});

describe('ostree pull', () => {
  const opts = { repo: '/r', remote: 'origin', refs: ['os/base'], timeoutSeconds: 17 };

  it('passes DownloadTimeout as a low-speed limit where ostree has the options', async () => {
    const current = { staticDeltas: true };
    expect(await pullArgs(opts, { ...current, lowSpeedOptions: true })).toEqual(['--repo=/r', 'pull', '--low-speed-limit-bytes=1', '--low-speed-time-seconds=17', 'origin', 'os/base']);
    expect(await pullArgs(opts, { ...current, lowSpeedOptions: false })).toEqual(['--repo=/r', 'pull', 'origin', 'os/base']);
    expect(await pullArgs({ ...opts, localRepo: '/l' }, { ...current, lowSpeedOptions: true })).toEqual(['--repo=/r', 'pull-local', '/l', 'os/base']);
  });

  it('disables static deltas where ostree pulls them and the loose objects as well (before 2023.7, ostree #2053)', async () => {
    expect(await pullArgs(opts, { staticDeltas: false, lowSpeedOptions: false })).toEqual(['--repo=/r', 'pull', '--disable-static-deltas', 'origin', 'os/base']);
    expect(await pullArgs({ ...opts, commitOnly: true }, { staticDeltas: false, lowSpeedOptions: false })).toEqual(['--repo=/r', 'pull', '--commit-metadata-only', '--disable-static-deltas', 'origin', 'os/base']);
    expect(await pullArgs({ ...opts, localRepo: '/l' }, { staticDeltas: false })).toEqual(['--repo=/r', 'pull-local', '/l', 'os/base']);
    // The rule: the fix (ostree commit fc5aef6f) is first in 2023.7; Debian 12 has 2022.7, Debian 13 2025.2.
    for (const [version, pays] of [['2022.7', false], ['2023.6', false], ['2020.8', false], ['2023.7', true], ['2023.10', true], ['2024.1', true], ['2025.2', true], [undefined, true], ['unknown', true]] as const) {
      expect(staticDeltasPayOff(version), String(version)).toBe(pays);
    }
  });

  it('reads the installed ostree\'s version and applies the rule to it', async () => {
    const printed = /Version: '([^']+)'/.exec(execFileSync('ostree', ['--version'], { encoding: 'utf8' }))![1]!;
    expect(await ostreeVersion()).toBe(printed);
    const args = await pullArgs(opts);
    expect(args.includes('--disable-static-deltas')).toBe(!staticDeltasPayOff(printed));
  });

  it('asks the installed ostree, and pulls with the setting whatever its version', async () => {
    const help = execFileSync('ostree', ['pull', '--help'], { encoding: 'utf8' });
    expect(await hasPullLowSpeedOptions()).toBe(help.includes('--low-speed-time-seconds'));
    const src = join(dir, 'src');
    const dest = join(dir, 'dest');
    mkdirSync(join(dir, 'tree'));
    writeFileSync(join(dir, 'tree', 'f'), 'x\n');
    execFileSync('ostree', [`--repo=${src}`, 'init', '--mode=archive']);
    const commit = execFileSync('ostree', [`--repo=${src}`, 'commit', '--branch=os/base', `--tree=dir=${join(dir, 'tree')}`], { encoding: 'utf8' }).trim();
    execFileSync('ostree', [`--repo=${dest}`, 'init', '--mode=bare-user']);
    execFileSync('ostree', [`--repo=${dest}`, 'remote', 'add', '--no-gpg-verify', 'origin', `file://${src}`]);
    await pull({ repo: dest, remote: 'origin', refs: ['os/base'], timeoutSeconds: 17 });
    expect(execFileSync('ostree', [`--repo=${dest}`, 'rev-parse', 'origin:os/base'], { encoding: 'utf8' }).trim()).toBe(commit);
  });
});
