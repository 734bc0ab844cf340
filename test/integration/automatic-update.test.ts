/**
 * `upgrade --trigger-automatic-update-policy` (what apt-ostree-automatic.timer runs) on a real
 * sysroot whose remote is a file:// update server: policy none, check (the cached update in
 * status), stage (a new default deployment), and the failure paths.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sysroot } from '../../src/engine/deployments/sysroot.js';
import { BIN, cli, fsckClean, PROJECT_ROOT, sh } from '../fixtures/env.js';
import { commitSyntheticBase, makeSyntheticSysroot, syntheticPkglist, type SyntheticPackage, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const PKGS_1: SyntheticPackage[] = [['base-files', '12.4'], ['dpkg', '1.21.22'], ['old-tool', '1.0']];
const PKGS_2: SyntheticPackage[] = [['base-files', '12.5'], ['dpkg', '1.21.22'], ['new-tool', '2.0']];
const PKGS_3: SyntheticPackage[] = [['base-files', '12.6'], ['dpkg', '1.21.23'], ['new-tool', '2.0']];

describe('automatic updates (upgrade --trigger-automatic-update-policy)', () => {
  let tmp: string;
  let s: TestSysroot;

  const status = async () => {
    const r = await cli(['--sysroot', s.sysroot, 'status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  const deploymentIds = async () => (await status()).deployments.map((d: { checksum: string; serial: number }) => `${d.checksum}.${d.serial}`);
  const trigger = (extra: string[] = [], opts: Parameters<typeof cli>[1] = {}) =>
    cli(['--sysroot', s.sysroot, 'upgrade', '--trigger-automatic-update-policy', '--quiet', ...extra], opts);
  /** The policy, in the default deployment's /etc (where commands on a sysroot read it). */
  const setPolicy = (policy: string | undefined) => {
    const conf = join(Sysroot.load(s.sysroot).deployments[0]!.path, 'etc', 'apt-ostree', 'apt-ostree.conf');
    if (policy === undefined) return rmSync(conf, { force: true });
    mkdirSync(join(conf, '..'), { recursive: true });
    writeFileSync(conf, `# written by the test\n[Daemon]\nAutomaticUpdatePolicy=${policy}\n`);
  };
  const publish = (version: string, packages: SyntheticPackage[]) =>
    commitSyntheticBase(s.srcRepo, s.ref, version, tmp, undefined, { packages, pkglistMetadata: syntheticPkglist(packages) });

  beforeAll(async () => {
    tmp = makeTemp('automatic-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0'], packages: { '1.0': PKGS_1 }, pkglistMetadata: ['1.0'] });
  });
  afterAll(async () => removeTemp(tmp));

  it('policy none (the default, and set explicitly) does nothing and says so', async () => {
    const before = await status();
    const r = await trigger();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/AutomaticUpdatePolicy is none .*does not exist; none is the default/);
    setPolicy('none');
    await publish('1.1', PKGS_1);
    const r2 = await trigger();
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(/AutomaticUpdatePolicy is none in .*apt-ostree\.conf: automatic updates are off/);
    // Not even the commit was fetched: the sysroot's ref still points at 1.0.
    expect((await sh('ostree', [`--repo=${s.repo}`, 'rev-parse', `${s.remote}:${s.ref}`])).trim()).toBe(s.commits[0]);
    expect(await status()).toEqual(before);
  });

  it('policy check records the update as cached-update, deploys nothing, and shows it in status', async () => {
    setPolicy('check');
    const c2 = await publish('2.0', PKGS_2);
    const before = await deploymentIds();
    const r = await trigger();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Update available for origin:/);
    expect(r.stdout).toMatch(/Version: 2\.0/);
    expect(r.stdout).toMatch(/base-files 12\.4 -> 12\.5/);
    expect(r.stdout).toMatch(/nothing was deployed/);
    const st = await status();
    expect(await deploymentIds()).toEqual(before);
    expect(st.deployments[0].checksum).toBe(s.commits[0]);
    const cu = st['cached-update'];
    expect(cu).toMatchObject({
      osname: s.os,
      origin: `${s.remote}:${s.ref}`,
      checksum: c2,
      version: '2.0',
      'base-checksum': s.commits[0],
      'base-version': '1.0',
      'ref-has-new-commit': true,
    });
    expect(cu.timestamp).toBeGreaterThan(1_700_000_000);
    expect(cu['package-diff'].counts).toEqual({ upgraded: 1, downgraded: 0, removed: 1, added: 1 });
    expect(cu['package-diff'].upgraded).toEqual([{ name: 'base-files', arch: 'amd64', from: '12.4', to: '12.5' }]);
    expect(cu['package-diff'].added.map((p: { name: string }) => p.name)).toEqual(['new-tool']);
    expect(cu['package-diff'].removed.map((p: { name: string }) => p.name)).toEqual(['old-tool']);
    const text = await cli(['--sysroot', s.sysroot, 'status']);
    expect(text.stdout).toContain(`AvailableUpdate: 2.0 (${c2.slice(0, 12)})\n           Diff: 1 upgraded, 1 removed, 1 added\n`);
    await fsckClean(s.repo);
  });

  it('refuses --check/--download-only with the trigger, and a bad policy value, before any work', async () => {
    const before = await status();
    const r = await trigger(['--check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot be combined with --check/);
    setPolicy('weekly');
    const bad = await trigger();
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/apt-ostree\.conf line 3: AutomaticUpdatePolicy=weekly in \[Daemon\] is not valid; allowed: none, check, stage or apply/);
    expect(await status()).toEqual(before);
  });

  it('logs plain lines: timestamps in pipes, none in the journal, never colour', async () => {
    setPolicy('check');
    const piped = await trigger([], { env: { NO_COLOR: '1' } });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).toMatch(/^\d\d:\d\d:\d\d Fetching origin:.*: done$/m);
    // The journal: systemd sets JOURNAL_STREAM to the device:inode of the service's stderr.
    const logFile = join(tmp, 'journal.log');
    const fd = openSync(logFile, 'w');
    const st = statSync(logFile);
    const r = await execa(process.execPath, [BIN, '--sysroot', s.sysroot, 'upgrade', '--trigger-automatic-update-policy', '--quiet'], {
      env: { NO_COLOR: '1', JOURNAL_STREAM: `${st.dev}:${st.ino}` },
      stderr: fd as 3, // execa takes any open descriptor; its types list 3 to 9 only
      reject: false,
    });
    closeSync(fd);
    const journal = readFileSync(logFile, 'utf8');
    expect(r.exitCode, journal).toBe(0);
    expect(journal).toMatch(/^Fetching origin:.*: done$/m);
    for (const out of [piped.stdout, piped.stderr, String(r.stdout), journal]) {
      expect(out).not.toMatch(/\x1b\[/);
      expect(out).not.toMatch(/[⠋⠙⠹⠸✔✖]/);
    }
  });

  it('policy stage makes the update the new default deployment, keeps the old one, never reboots, and drops the cached update', async () => {
    setPolicy('stage');
    const before = Sysroot.load(s.sysroot);
    const previous = before.deployments[0]!;
    const r = await trigger(['--reboot']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--reboot is ignored with --trigger-automatic-update-policy/);
    expect(r.stderr).not.toMatch(/not rebooting/); // the reboot step was never reached
    // A sysroot directory is not the running system: ostree writes the deployment directly
    // (on a booted system it is staged and becomes the default at the next boot).
    expect(r.stdout).toMatch(/New deployment: debian/);
    const after = Sysroot.load(s.sysroot);
    const target = (await sh('ostree', [`--repo=${s.srcRepo}`, 'rev-parse', s.ref])).trim();
    expect(after.deployments[0]!.checksum).toBe(target);
    expect(after.deployments[0]!.staged).toBe(false);
    expect(after.deployments.map((d) => d.path)).toContain(previous.path);
    expect(after.deployments[1]!.path).toBe(previous.path);
    // The /etc merge carried the configuration into the new deployment.
    expect(readFileSync(join(after.deployments[0]!.path, 'etc', 'apt-ostree', 'apt-ostree.conf'), 'utf8')).toMatch(/AutomaticUpdatePolicy=stage/);
    const st = await status();
    expect(st['cached-update']).toBeNull();
    await fsckClean(s.repo);
    const again = await trigger(['--unchanged-exit-77']);
    expect(again.code, again.stderr).toBe(77);
    expect(again.stdout).toMatch(/No upgrade available/);
  });

  it('a check that finds nothing new drops an old record; a plain upgrade drops the record it deployed', async () => {
    setPolicy('check');
    const c3 = await publish('3.0', PKGS_3);
    expect((await trigger()).code).toBe(0);
    expect((await status())['cached-update'].checksum).toBe(c3);
    const up = await cli(['--sysroot', s.sysroot, 'upgrade']);
    expect(up.code, up.stderr).toBe(0);
    const st = await status();
    expect(st.deployments[0].checksum).toBe(c3);
    expect(st['cached-update']).toBeNull();

    // A record whose update is no longer there (the server moved back, say) goes on the next check.
    const path = join(s.sysroot, 'ostree', 'apt-ostree', 'cached-update.json');
    writeFileSync(path, JSON.stringify({ osname: s.os, origin: `${s.remote}:${s.ref}`, checksum: 'f'.repeat(64), version: '9.9', timestamp: 1 }));
    expect((await status())['cached-update'].version).toBe('9.9');
    const none = await trigger();
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/No upgrade available/);
    expect((await status())['cached-update']).toBeNull();
  });

  it('a failed fetch leaves the sysroot, the lock and the record as they were', async () => {
    setPolicy('stage');
    await publish('4.0', PKGS_3);
    const hidden = `${s.srcRepo}.away`;
    renameSync(s.srcRepo, hidden);
    try {
      const before = await status();
      const r = await trigger();
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: /m);
      expect(await status()).toEqual(before);
      await fsckClean(s.repo);
    } finally {
      renameSync(hidden, s.srcRepo);
    }
    // The lock was released: the next run goes ahead at once.
    const r = await trigger(['--lock-wait', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect((await status()).deployments[0].version).toBe('4.0');
  });
});

describe('systemd units', () => {
  const root = PROJECT_ROOT;
  const service = readFileSync(join(root, 'systemd', 'apt-ostree-automatic.service'), 'utf8');
  const timer = readFileSync(join(root, 'systemd', 'apt-ostree-automatic.timer'), 'utf8');

  /** section → key → values, from a unit file (comments and blank lines skipped). */
  function parseUnit(text: string): Record<string, Record<string, string[]>> {
    const out: Record<string, Record<string, string[]>> = {};
    let section = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#') || line.startsWith(';')) continue;
      const h = /^\[(.+)\]$/.exec(line);
      if (h) {
        section = h[1]!;
        out[section] ??= {};
        continue;
      }
      const i = line.indexOf('=');
      expect(i, `not a key=value line: ${line}`).toBeGreaterThan(0);
      (out[section]![line.slice(0, i)] ??= []).push(line.slice(i + 1));
    }
    return out;
  }

  it('the service runs the trigger once, only on a booted OSTree system, hardened', () => {
    const u = parseUnit(service);
    expect(u.Service!.Type).toEqual(['oneshot']);
    expect(u.Service!.ExecStart).toEqual(['/usr/bin/apt-ostree upgrade --trigger-automatic-update-policy --quiet']);
    expect(u.Unit!.ConditionPathExists).toEqual(['/run/ostree-booted']);
    expect(u.Service!.Environment).toEqual(['NO_COLOR=1']);
    expect(u.Service!.ProtectSystem).toEqual(['strict']);
    // What the job writes stays writable.
    const rw = u.Service!.ReadWritePaths!.join(' ').split(/\s+/).map((p) => p.replace(/^-/, ''));
    for (const p of ['/sysroot', '/ostree', '/boot', '/var', '/etc', '/run']) expect(rw).toContain(p);
    // Every setting of the seed's unit is either kept or named in the "Left out" comment.
    const leftOut = service.slice(service.indexOf('# Left out'));
    for (const key of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'ReadWritePaths', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups', 'User', 'DynamicUser', 'Type', 'Restart', 'RestartSec', 'NotifyAccess', 'TimeoutStartSec', 'Environment', 'WantedBy']) {
      const kept = Object.values(u).some((sec) => key in sec);
      expect(kept || leftOut.includes(key), `${key} is neither set nor documented as left out`).toBe(true);
    }
    expect(u.Service!.User).toBeUndefined();
    expect(u.Service!.DynamicUser).toBeUndefined();
    expect(u.Install).toBeUndefined();
  });

  it('the health check runs after multi-user.target on booted systems, and the automatic update after it', () => {
    const h = parseUnit(readFileSync(join(root, 'systemd', 'apt-ostree-health-check.service'), 'utf8'));
    expect(h.Service!.ExecStart).toEqual(['/usr/bin/apt-ostree health-check --boot --quiet']);
    expect(h.Service!.Type).toEqual(['oneshot']);
    expect(h.Unit!.After).toContain('multi-user.target');
    expect(h.Unit!.ConditionPathExists).toEqual(['/run/ostree-booted']);
    expect(h.Install!.WantedBy).toEqual(['multi-user.target']);
    // A fallback is recorded before the timer's run could stage the failed commit again.
    expect(parseUnit(service).Unit!.After).toContain('apt-ostree-health-check.service');
  });

  it('the timer fires daily with a randomized delay and catches up on missed runs', () => {
    const t = parseUnit(timer);
    expect(t.Timer).toMatchObject({ OnCalendar: ['daily'], Persistent: ['true'] });
    expect(t.Timer!.RandomizedDelaySec![0]).toMatch(/^\d+(h|min|s)?$/);
    expect(t.Install!.WantedBy).toEqual(['timers.target']);
  });

  it('systemd-analyze verify accepts the units', async () => {
    // A root holding the system's own units (targets the units refer to), the two units, an
    // executable at the ExecStart path, and the man pages that Documentation= names.
    const dir = makeTemp('units-');
    try {
      const units = join(dir, 'usr/lib/systemd/system');
      mkdirSync(units, { recursive: true });
      await sh('cp', ['-a', '/usr/lib/systemd/system/.', units]);
      for (const f of ['apt-ostree-automatic.service', 'apt-ostree-automatic.timer', 'apt-ostree-health-check.service']) writeFileSync(join(units, f), readFileSync(join(root, 'systemd', f)));
      mkdirSync(join(dir, 'usr/bin'), { recursive: true });
      writeFileSync(join(dir, 'usr/bin/apt-ostree'), '#!/bin/sh\n', { mode: 0o755 });
      for (const [sec, page] of [['8', 'apt-ostree.8'], ['5', 'apt-ostree.conf.5']]) {
        mkdirSync(join(dir, `man/man${sec}`), { recursive: true });
        writeFileSync(join(dir, `man/man${sec}`, page), readFileSync(join(root, 'man', page)));
      }
      const r = await execa('systemd-analyze', ['verify', `--root=${dir}`, '/usr/lib/systemd/system/apt-ostree-automatic.service', '/usr/lib/systemd/system/apt-ostree-automatic.timer', '/usr/lib/systemd/system/apt-ostree-health-check.service'], {
        env: { MANPATH: join(dir, 'man') },
        reject: false,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      // Unknown keys are only warned about (exit 0): there must be no output at all.
      expect(r.stderr).toBe('');
      // And the check is real: a misspelt key is reported.
      writeFileSync(join(units, 'apt-ostree-automatic.service'), service.replace('PrivateTmp=yes', 'PrivateTemp=yes'));
      const bad = await execa('systemd-analyze', ['verify', `--root=${dir}`, '/usr/lib/systemd/system/apt-ostree-automatic.service'], { env: { MANPATH: join(dir, 'man') }, reject: false });
      expect(bad.stderr).toMatch(/Unknown key 'PrivateTemp'/);
    } finally {
      await removeTemp(dir);
    }
  });
});
