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

/** What apt itself reads from the APT_CONFIG file we write (the deployment's apt.conf.d holding `confD`). */
async function aptDump(dirs: Partial<AptDirs>, name: string, confD = ''): Promise<string> {
  const workDir = join(dir, name);
  mkdirSync(join(workDir, 'etc-apt', 'apt.conf.d'), { recursive: true });
  writeFileSync(join(workDir, 'etc-apt', 'apt.conf.d', '50image'), confD);
  const cfg = await writeAptConfig({ etcApt: join(workDir, 'etc-apt'), statusFile: join(workDir, 'status'), cacheDir: join(workDir, 'cache'), workDir, architecture: 'amd64', ...dirs });
  return execFileSync('apt-config', ['dump'], { env: { ...process.env, APT_CONFIG: cfg.file }, encoding: 'utf8' });
}

describe('apt', () => {
  it('gets MaxConcurrentDownloads as Acquire::QueueHost::Limit and DownloadTimeout as the methods\' Timeout', async () => {
    const dump = await aptDump({ downloads: { maxConcurrent: 3, timeoutSeconds: 17 } }, 'set');
    expect(dump).toMatch(/^Acquire::QueueHost::Limit "3";$/m);
    for (const m of ['http', 'https', 'ftp']) expect(dump).toMatch(new RegExp(`^Acquire::${m}::Timeout "17";$`, 'm'));
  });

  it("keeps apt's own defaults without settings (compose)", async () => {
    const dump = await aptDump({}, 'unset');
    expect(dump).not.toMatch(/^Acquire::(QueueHost::Limit|\w+::Timeout) /m);
  });

  it('takes the image\'s plain settings and none of its programs; apt-ostree.conf\'s timeout wins over the image\'s', async () => {
    const confD = [
      'Acquire::http::Proxy "http://proxy.example:3128";',
      'Acquire::http::Proxy::deb.example.org "DIRECT";',
      'Acquire::https::repo.example.org::Verify-Peer "false";',
      'Acquire::http::Timeout "99";',
      'Acquire::Check-Valid-Until "false";',
      'APT::Default-Release "bookworm";',
      'Acquire::CompressionTypes::Order { "xz"; "gz"; };',
      'APT::Update::Pre-Invoke { "touch /hostile/pre"; };',
      'Binary::apt-get::APT::Update::Post-Invoke { "touch /hostile/post"; };',
      'Acquire::http::Proxy-Auto-Detect "/hostile/detect";',
      'Dir::Bin::Methods "/hostile/methods/";',
      'Dir::State::Lists "/etc/cron.d/";',
      'APT::Solver "hostile";',
      '#clear APT::Architectures;',
      '',
    ].join('\n');
    const dump = await aptDump({ downloads: { maxConcurrent: 3, timeoutSeconds: 17 } }, 'image', confD);
    for (const line of [
      'Acquire::http::Proxy "http://proxy.example:3128";',
      'Acquire::http::Proxy::deb.example.org "DIRECT";',
      'Acquire::https::repo.example.org::Verify-Peer "false";',
      'Acquire::http::Timeout "17";',
      'Acquire::Check-Valid-Until "false";',
      'APT::Default-Release "bookworm";',
      'Acquire::CompressionTypes::Order:: "xz";',
      'Dir::Bin::methods "/usr/lib/apt/methods";',
      'APT::Architectures:: "amd64";',
    ]) expect(dump.split('\n')).toContain(line);
    expect(dump).not.toMatch(/Invoke|Proxy-Auto-Detect|cron|hostile/i);
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
