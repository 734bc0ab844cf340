/** The configuration file read from the target deployment's /etc, checked with `apt-ostree reload`. */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deploymentEtcDir, loadConfig } from '../../src/engine/deployments/settings.js';
import { Sysroot } from '../../src/engine/deployments/sysroot.js';
import { cli } from '../fixtures/env.js';
import { initSysroot, makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('configuration of a sysroot', () => {
  let tmp: string;
  let s: TestSysroot;
  let defaultConf: string;
  let rollbackConf: string;

  function writeConf(path: string, text: string): void {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  }

  beforeAll(async () => {
    tmp = makeTemp('config-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0', '2.0'] });
    const sysroot = Sysroot.load(s.sysroot);
    defaultConf = join(sysroot.deployments[0]!.path, 'etc', 'apt-ostree', 'apt-ostree.conf');
    rollbackConf = join(sysroot.deployments[1]!.path, 'etc', 'apt-ostree', 'apt-ostree.conf');
  });
  afterAll(async () => removeTemp(tmp));
  beforeEach(() => {
    rmSync(defaultConf, { force: true });
    rmSync(rollbackConf, { force: true });
  });

  it('without a file, reload prints the defaults', async () => {
    const r = await cli(['--sysroot', s.sysroot, 'reload', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ file: defaultConf, exists: false, valid: true, warnings: [], explicit: [] });
    expect(json.settings.Daemon).toEqual({ AutomaticUpdatePolicy: 'none', LockLayering: false, DisableRecommends: false, MaxConcurrentDownloads: 5, DownloadTimeout: 300, PackageListsMaxAge: 86400 });
    const text = await cli(['--sysroot', s.sysroot, 'reload']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${defaultConf} does not exist`);
    expect(text.stdout).toContain('AutomaticUpdatePolicy=none  (default)');
  });

  it("reads the default deployment's /etc, not another deployment's", async () => {
    writeConf(defaultConf, '[Daemon]\nAutomaticUpdatePolicy=check\nLockLayering=true\n[Experimental]\nEnabled=yes\n');
    writeConf(rollbackConf, '[Daemon]\nAutomaticUpdatePolicy=stage\n');
    const r = await cli(['--sysroot', s.sysroot, 'reload', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.file).toBe(defaultConf);
    expect(json.exists).toBe(true);
    expect(json.settings).toEqual({
      Daemon: { AutomaticUpdatePolicy: 'check', LockLayering: true, DisableRecommends: false, MaxConcurrentDownloads: 5, DownloadTimeout: 300, PackageListsMaxAge: 86400 },
      Health: { BootTries: 3, CheckTimeout: 120, RebootOnFailure: true },
      Updates: { RebootStrategy: 'immediate', MaintenanceWindows: '', TimeZone: 'UTC', FleetLockURL: '', FleetLockGroup: 'default', KeepRollbacks: 1 },
      Experimental: { Enabled: true, LiveFs: false },
    });
    expect(json.explicit).toEqual(['Daemon.AutomaticUpdatePolicy', 'Daemon.LockLayering', 'Experimental.Enabled']);
    const text = await cli(['--sysroot', s.sysroot, 'reload']);
    expect(text.stdout).toMatch(/^AutomaticUpdatePolicy=check$/m);
    expect(text.stdout).toMatch(/^DisableRecommends=false {2}\(default\)$/m);
    // The library functions the other commands use agree with the command.
    const loaded = loadConfig(s.sysroot);
    expect(loaded.config.Daemon.AutomaticUpdatePolicy).toBe('check');
    expect(loadConfig(s.sysroot, deploymentEtcDir(Sysroot.load(s.sysroot), s.os)).path).toBe(defaultConf);
  });

  it('fails with exit 1 on a bad value, naming the file, line, key and allowed values', async () => {
    writeConf(defaultConf, '[Daemon]\nLockLayering=true\nMaxConcurrentDownloads=500\n');
    const r = await cli(['--sysroot', s.sysroot, 'reload']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error: ${defaultConf} line 3: MaxConcurrentDownloads=500 in [Daemon] is not valid`);
    expect(r.stderr).toContain('allowed: a whole number from 1 to 64');
    expect(r.stderr).toMatch(/apt-ostree reload/);
    expect(r.stderr).not.toMatch(/at .*\.js/);
    const json = await cli(['--sysroot', s.sysroot, 'reload', '--json']);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
  });

  it('warns about unknown keys and groups on stderr, and still succeeds', async () => {
    writeConf(defaultConf, '[Daemon]\nIdleExitTimeout=60\nDisableRecomends=true\n[Extra]\nA=1\n');
    const r = await cli(['--sysroot', s.sysroot, 'reload', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: ${defaultConf} line 2: IdleExitTimeout has no effect`);
    expect(r.stderr).toContain(`warning: ${defaultConf} line 3: unknown key DisableRecomends in [Daemon] is ignored`);
    expect(r.stderr).toContain(`warning: ${defaultConf} line 4: unknown group [Extra] is ignored`);
    expect(JSON.parse(r.stdout).warnings).toHaveLength(3);
  });

  it('works for a user who can read the file, and says so when they cannot', async () => {
    writeConf(defaultConf, '[Daemon]\nDisableRecommends=true\n');
    chmodSync(defaultConf, 0o644);
    const r = await cli(['--sysroot', s.sysroot, 'reload', '--json'], { uid: 65534 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).settings.Daemon.DisableRecommends).toBe(true);
    chmodSync(defaultConf, 0o600);
    const denied = await cli(['--sysroot', s.sysroot, 'reload'], { uid: 65534 });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(`Cannot read the configuration file ${defaultConf}: permission denied`);
  });

  it('on a sysroot with nothing deployed yet, every setting has its default', async () => {
    const empty = join(tmp, 'empty');
    await initSysroot(empty, 'debian');
    const r = await cli(['--sysroot', empty, 'reload', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ file: null, exists: false, settings: { Daemon: { AutomaticUpdatePolicy: 'none' } } });
    const text = await cli(['--sysroot', empty, 'reload']);
    expect(text.stdout).toMatch(/has no deployment yet: every setting has its default/);
  });

  it('rejects an unknown stateroot and a directory that is not a sysroot', async () => {
    const os = await cli(['--sysroot', s.sysroot, '--os', 'nope', 'reload']);
    expect(os.code).toBe(1);
    expect(os.stderr).toMatch(/no stateroot named 'nope'/);
    const notSysroot = await cli(['--sysroot', tmp, 'reload']);
    expect(notSysroot.code).toBe(1);
    expect(notSysroot.stderr).toMatch(/is not an OSTree sysroot/);
  });
});
