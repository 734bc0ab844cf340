// MaxConcurrentDownloads and DownloadTimeout of apt-ostree.conf: what the real apt-config reads and
// the installed ostree is given (needs apt and ostree, hence an integration test; the pull arguments
// alone are in test/unit/system/download-settings.test.ts).
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

describe('ostree pull with the installed ostree', () => {
  const opts = { repo: '/r', remote: 'origin', refs: ['os/base'], timeoutSeconds: 17 };

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
