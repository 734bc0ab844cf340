/**
 * Health-checked updates on the host (issue 14; the boot loader half runs in the boot tests):
 * the check runner against check directories made here (real executables, a real timeout, the
 * /etc-over-/usr rule), and on a real sysroot booted by GRUB's environment block (made by
 * grub-editenv, GRUB's own tool): a new deployment gets its tries, a failed check is recorded,
 * GRUB's fallback (boot_counter=-1, what its save_env writes) is rolled back and recorded where
 * `status` shows it, and the automatic update does not stage the same commit again.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sysroot } from '../../src/engine/deployments/sysroot.js';
import { HEALTH_UNIT } from '../../src/engine/deployments/arm.js';
import { BIN, cli, fsckClean, sh } from '../fixtures/env.js';
import { findProcess, startCli, waitUntil } from '../fixtures/faults.js';
import { commitSyntheticBase, makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

/** A base with apt-ostree's health-check unit: only such a deployment is boot-counted (deployments/arm.ts). */
const COUNTED = { files: { [HEALTH_UNIT]: '[Unit]\nDescription=stand-in\n' } };

function script(dir: string, name: string, body: string, mode = 0o755): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, mode);
  return p;
}

/**
 * The processes whose command line matches PATTERN a moment after health-check ended: a process
 * sent SIGKILL can still be listed until the kernel has run it to its end, which on a loaded
 * machine takes a scheduling round or more. Empty once they are gone (2 s at the most).
 */
async function survivors(pattern: string): Promise<string> {
  let left = '';
  for (const deadline = Date.now() + 2000; ; ) {
    left = (await execa('pgrep', ['-f', pattern], { reject: false })).stdout;
    if (!left || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('health checks', () => {
  let tmp: string;
  let s: TestSysroot;
  let grubenv: string;

  const defaultEtc = () => join(Sysroot.load(s.sysroot).deployments[0]!.path, 'etc', 'apt-ostree');
  const setConf = (text: string) => {
    mkdirSync(defaultEtc(), { recursive: true });
    writeFileSync(join(defaultEtc(), 'apt-ostree.conf'), text);
  };
  const env = async () => Object.fromEntries((await sh('grub-editenv', [grubenv, 'list'])).trim().split('\n').filter(Boolean).map((l) => l.split('=')));
  const status = async () => {
    const r = await cli(['--sysroot', s.sysroot, 'status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  const ids = async () => (await status()).deployments.map((d: { version: string }) => d.version);

  beforeAll(async () => {
    tmp = makeTemp('health-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0'] });
    grubenv = join(s.sysroot, 'boot', 'grub', 'grubenv');
  });
  afterAll(async () => removeTemp(tmp));

  it('runs every check in name order, /etc over /usr, with a timeout, and says what failed', async () => {
    const usr = join(tmp, 'usr-health.d');
    const etc = join(tmp, 'etc-health.d');
    script(usr, '10-ok', 'echo fine');
    script(usr, '20-fail', 'echo "disk /data is missing" >&2; exit 3');
    // Stopped at the timeout with what it started; its output is kept.
    script(usr, '30-hang', `echo waiting; sleep 300 & sleep 301`);
    script(usr, '40-replaced', 'exit 1');
    script(etc, '40-replaced', 'echo the admin fixed it');
    script(usr, '50-masked', 'exit 1');
    symlinkSync('/dev/null', join(etc, '50-masked'));
    script(etc, '60-not-executable', 'exit 1', 0o644);
    script(etc, '70-backup~', 'exit 1');
    setConf('[Health]\nCheckTimeout=2\n');
    const started = Date.now();
    const r = await cli(['--sysroot', s.sysroot, 'health-check', '--checks-dir', usr, '--checks-dir', etc, '--json']);
    expect(r.code, r.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    const out = JSON.parse(r.stdout);
    expect(out.results.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['10-ok', 'passed'], ['20-fail', 'failed'], ['30-hang', 'timed-out'], ['40-replaced', 'passed'],
    ]);
    expect(out.results[1]).toMatchObject({ 'exit-code': 3, output: 'disk /data is missing\n' });
    expect(out.results[2].output).toMatch(/^waiting\n.*stopped after 2 seconds/s);
    expect(out.results[3].path).toBe(join(etc, '40-replaced'));
    expect(out.skipped).toEqual([
      { name: '50-masked', path: join(etc, '50-masked'), why: 'masked' },
      { name: '60-not-executable', path: join(etc, '60-not-executable'), why: 'not executable' },
      { name: '70-backup~', path: join(etc, '70-backup~'), why: 'backup or hidden file' },
    ]);
    // The hanging check's process group is gone, the child it left running too.
    expect(await survivors('^sleep 30[01]$')).toBe('');
    // The plain form says the same in lines.
    const text = await cli(['--sysroot', s.sysroot, 'health-check', '--checks-dir', usr, '--checks-dir', etc]);
    expect(text.stdout).toMatch(/^ok {3}10-ok: passed/m);
    expect(text.stdout).toMatch(/^FAIL 20-fail: failed \(exit status 3\)/m);
    expect(text.stdout).toMatch(/\| disk \/data is missing/);
    expect(text.stdout).toMatch(/^skip 50-masked: masked$/m);
    // Not run, and warned about with the fix (a forgotten chmod would otherwise go unseen).
    expect(text.stdout + text.stderr).toContain(`warning: the health check ${join(etc, '60-not-executable')} is not executable, so it was not run; make it executable (chmod +x)`);
    // Without --boot nothing is recorded.
    expect((await status()).health).toBeNull();
    // The checks a sysroot directory's deployment ships are that system's, not the host's.
    const dep = Sysroot.load(s.sysroot).deployments[0]!.path;
    script(join(dep, 'etc', 'apt-ostree', 'health.d'), '10-image-check', 'exit 1');
    const own = await cli(['--sysroot', s.sysroot, 'health-check']);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toMatch(/No health checks were run: the checks of .* are not run on this host; give --checks-dir DIR/);
    // A directory that is not there fails, naming it (it passed as "no health checks to run").
    for (const args of [['health-check'], ['health-check', '--boot']]) {
      const none = await cli(['--sysroot', s.sysroot, ...args, '--checks-dir', usr, '--checks-dir', join(tmp, 'no-such.d')]);
      expect(none.code, none.stderr).toBe(1);
      expect(none.stderr).toContain(`error: The health check directory ${join(tmp, 'no-such.d')} does not exist or is not a directory.`);
      expect(none.stdout).not.toMatch(/No health checks/);
    }
  });

  it('a check that leaves helpers running, in its group or in a new session, ends with them', async () => {
    const dir = join(tmp, 'helpers.d');
    // Each helper keeps the check's stdout and stderr open.
    script(dir, '10-background', 'sleep 1000 & echo started');
    script(dir, '20-new-session', 'setsid sleep 1001 & echo started');
    script(dir, '30-daemon', `(setsid sh -c 'sleep 1002 & exit 0' &); echo started`);
    script(dir, '40-new-session-hangs', 'setsid sleep 1003 & sleep 1004');
    setConf('[Health]\nCheckTimeout=3\n');
    const started = Date.now();
    const r = await cli(['--sysroot', s.sysroot, 'health-check', '--checks-dir', dir, '--json']);
    const seconds = (Date.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.results.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['10-background', 'passed'], ['20-new-session', 'passed'], ['30-daemon', 'passed'], ['40-new-session-hangs', 'timed-out'],
    ]);
    expect(out.results[0].output).toBe('started\n');
    // Three checks that end at once and one stopped after its 3 s: not the helpers' 1000 s.
    expect(seconds).toBeLessThan(3 + 8);
    expect(await survivors('^sleep 100[0-4]$')).toBe('');
  });

  it('gives a new default deployment its tries in GRUB\'s environment block', async () => {
    mkdirSync(join(s.sysroot, 'boot', 'grub'), { recursive: true });
    await sh('grub-editenv', [grubenv, 'create']);
    setConf('[Health]\nBootTries=2\n');
    await commitSyntheticBase(s.srcRepo, s.ref, '2.0', tmp, undefined, COUNTED);
    const r = await cli(['--sysroot', s.sysroot, 'upgrade']);
    expect(r.code, r.stderr).toBe(0);
    expect(await ids()).toEqual(['2.0', '1.0']);
    expect(await env()).toEqual({ boot_counter: '2', boot_success: '0' });
  });

  it('records a failed check of the deployment on trial, and reboots only the running system', async () => {
    const bad = join(tmp, 'bad.d');
    script(bad, '10-service', 'echo "nginx did not start: port 80 in use"; exit 1');
    const r = await cli(['--sysroot', s.sysroot, 'health-check', '--boot', '--checks-dir', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not rebooting: --sysroot .* is not the running system/);
    const st = await status();
    expect(st.health['last-check']).toMatchObject({ version: '2.0', passed: false, checks: [{ name: '10-service', status: 'failed' }] });
    expect(st.health.fallbacks).toEqual([]);
    // The loader's counter is the loader's: a failed check writes nothing to it.
    expect(await env()).toEqual({ boot_counter: '2', boot_success: '0' });
  });

  it('after GRUB fell back, rolls back, records why, and status shows it', async () => {
    // GRUB's save_env after the tries ran out (grubBootCountingScript): boot_counter=-1, entry 1 booted.
    await sh('grub-editenv', [grubenv, 'set', 'boot_counter=-1']);
    const good = join(tmp, 'good.d');
    script(good, '10-service', 'echo up');
    const r = await cli(['--sysroot', s.sysroot, 'health-check', '--boot', '--checks-dir', good]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Fallback: 2\.0 \([0-9a-f]{12}\.0\) failed its health check 10-service; back on 1\.0/);
    expect(await ids()).toEqual(['1.0', '2.0']);
    expect(await env()).toEqual({ boot_success: '1' });
    const st = await status();
    expect(st.health.fallbacks).toHaveLength(1);
    expect(st.health.fallbacks[0]).toMatchObject({
      version: '2.0', reason: 'failed-check', 'failed-check': '10-service', output: 'nginx did not start: port 80 in use\n', 'rolled-back-to-version': '1.0',
    });
    expect(st.health['last-check']).toMatchObject({ version: '1.0', passed: true });
    const text = await cli(['--sysroot', s.sysroot, 'status']);
    expect(text.stdout).toMatch(/^ {3}Fallback: 2\.0 .* failed its health check 10-service; back on 1\.0 since /m);
    expect(text.stdout).toMatch(/^ {5}Output: nginx did not start: port 80 in use$/m);
    await fsckClean(s.repo);
  });

  it('the automatic update does not stage the commit that fell back, and stages a newer one', async () => {
    setConf('[Daemon]\nAutomaticUpdatePolicy=stage\n[Health]\nBootTries=2\n');
    const again = await cli(['--sysroot', s.sysroot, 'upgrade', '--trigger-automatic-update-policy', '--quiet']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Not updating to this commit again: 2\.0 .* failed its health check 10-service/);
    expect(await ids()).toEqual(['1.0', '2.0']);
    expect(await env()).toEqual({ boot_success: '1' });
    await commitSyntheticBase(s.srcRepo, s.ref, '2.1', tmp, undefined, COUNTED);
    const newer = await cli(['--sysroot', s.sysroot, 'upgrade', '--trigger-automatic-update-policy', '--quiet']);
    expect(newer.code, newer.stderr).toBe(0);
    expect((await ids())[0]).toBe('2.1');
    expect(await env()).toEqual({ boot_counter: '2', boot_success: '0' });
  });

  it('records a deployment that never reached its checks, and a damaged record is named, not trusted', async () => {
    await sh('grub-editenv', [grubenv, 'set', 'boot_counter=-1']);
    const r = await cli(['--sysroot', s.sysroot, 'health-check', '--boot', '--checks-dir', join(tmp, 'good.d'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).fallback).toMatchObject({ version: '2.1', reason: 'no-check-result' });
    expect((await status()).health.fallbacks.map((f: { version: string }) => f.version)).toEqual(['2.0', '2.1']);
    const record = join(s.sysroot, 'ostree', 'apt-ostree', 'health.json');
    writeFileSync(record, readFileSync(record, 'utf8').replace(/"reason": "no-check-result"/, '"reason": 7'));
    expect((await status()).health.error).toMatch(/health record .*health\.json is damaged \(fallbacks\.1\.reason/);
    const timer = await cli(['--sysroot', s.sysroot, 'upgrade', '--trigger-automatic-update-policy', '--quiet']);
    expect(timer.code).toBe(1);
    expect(timer.stderr).toMatch(/health\.json is damaged/);
    rmSync(record);
  });

  it('a rollback stops the counting of the deployment it leaves', async () => {
    await commitSyntheticBase(s.srcRepo, s.ref, '3.0', tmp, undefined, COUNTED);
    expect((await cli(['--sysroot', s.sysroot, 'upgrade'])).code).toBe(0);
    expect(await env()).toEqual({ boot_counter: '2', boot_success: '0' });
    const r = await cli(['--sysroot', s.sysroot, 'rollback']);
    expect(r.code, r.stderr).toBe(0);
    expect((await ids())[1]).toBe('3.0');
    expect(await env()).toEqual({ boot_success: '0' });
    await fsckClean(s.repo);
  });

  it('does not mark good a deployment made while the checks ran', async () => {
    await commitSyntheticBase(s.srcRepo, s.ref, '4.0', tmp, undefined, COUNTED);
    expect((await cli(['--sysroot', s.sysroot, 'upgrade'])).code).toBe(0);
    await commitSyntheticBase(s.srcRepo, s.ref, '5.0', tmp, undefined, COUNTED);
    // The check passes, and meanwhile the admin upgrades again (the checks run without the lock).
    const racing = join(tmp, 'racing.d');
    script(racing, '10-upgrade-meanwhile', `${BIN} --sysroot ${s.sysroot} upgrade --quiet >/dev/null`);
    const r = await cli(['--sysroot', s.sysroot, 'health-check', '--boot', '--checks-dir', racing]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/a new deployment was made while the checks ran/);
    expect((await ids())[0]).toBe('5.0');
    expect(await env()).toEqual({ boot_counter: '2', boot_success: '0' });
  });

  it('does not count a deployment that cannot run the health check, nor leaves the counter of the one before', async () => {
    await commitSyntheticBase(s.srcRepo, s.ref, '6.0', tmp);
    const r = await cli(['--sysroot', s.sysroot, 'upgrade']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toMatch(/The new deployment is not boot-counted: it has no \/usr\/lib\/systemd\/system\/apt-ostree-health-check\.service/);
    expect((await ids())[0]).toBe('6.0');
    expect(await env()).toEqual({ boot_success: '0' });
  });

  it('a damaged record does not stop the boot\'s assessment: it is set aside, the checks run and the boot is marked good', async () => {
    const record = join(s.sysroot, 'ostree', 'apt-ostree', 'health.json');
    const aside = `${record}.damaged`;
    const damages: Array<[string, () => void, RegExp]> = [
      ['garbage', () => writeFileSync(record, '{"fallbacks": [\u0000 garbage'), /is damaged \(not JSON\)/],
      ['empty', () => writeFileSync(record, ''), /is damaged \(not JSON\)/],
      ['wrong schema', () => writeFileSync(record, '{"fallbacks": 7, "last-check": "yesterday"}'), /is damaged \((fallbacks|last-check): /],
      ['a directory', () => mkdirSync(join(record, 'sub'), { recursive: true }), /Cannot read the health record .*health\.json: EISDIR/],
    ];
    for (const [what, damage, why] of damages) {
      rmSync(record, { recursive: true, force: true });
      damage();
      await sh('grub-editenv', [grubenv, 'set', 'boot_counter=2', 'boot_success=0']);
      const r = await cli(['--sysroot', s.sysroot, 'health-check', '--boot', '--checks-dir', join(tmp, 'good.d')]);
      expect(r.code, `${what}: ${r.stderr}`).toBe(0);
      expect(r.stderr, what).toMatch(why);
      expect(r.stderr, what).toContain(`set it aside as ${aside} and started a new record`);
      expect(r.stdout, what).toMatch(/^ok {3}10-service: passed/m);
      expect(await env(), what).toEqual({ boot_success: '1' });
      const st = await status();
      expect(st.health.error, what).toBeUndefined();
      expect(st.health['last-check'], what).toMatchObject({ passed: true, checks: [{ name: '10-service', status: 'passed' }] });
      expect(existsSync(aside), what).toBe(true);
    }
    // After GRUB fell back, too: the rollback and its record go through a damaged file.
    writeFileSync(record, 'garbage');
    await sh('grub-editenv', [grubenv, 'set', 'boot_counter=-1']);
    const before = await ids();
    const r = await cli(['--sysroot', s.sysroot, 'health-check', '--boot', '--checks-dir', join(tmp, 'good.d')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`set it aside as ${aside}`);
    expect(await ids()).toEqual([before[1], before[0], ...before.slice(2)]);
    expect(await env()).toEqual({ boot_success: '1' });
    expect((await status()).health.fallbacks).toMatchObject([{ version: before[0], reason: 'no-check-result' }]);
    expect(readFileSync(aside, 'utf8')).toBe('garbage');
  });

  it('SIGKILL during a rollback never leaves the counter armed for the deployment rolled back to', async () => {
    await commitSyntheticBase(s.srcRepo, s.ref, '7.0', tmp, undefined, COUNTED);
    expect((await cli(['--sysroot', s.sysroot, 'upgrade'])).code).toBe(0);
    expect(await env()).toMatchObject({ boot_counter: '2', boot_success: '0' });
    const [newest, known] = await ids();
    expect(newest).toBe('7.0');
    const run = startCli(['--sysroot', s.sysroot, 'rollback']);
    await run.waitForOutput(/Writing the new boot order/);
    run.signal('SIGKILL');
    expect((await run.result).signal).toBe('SIGKILL');
    // An ostree it started may finish the switch by itself (it is atomic); wait for it.
    await waitUntil(() => findProcess(new RegExp(`ostree .*${s.sysroot}`)) === undefined, 'the ostree rollback started to end');
    const [first] = await ids();
    // Rolled back or not, nothing is counted: the old default (7.0) is left uncounted when the
    // switch did not happen, and the deployment rolled back to is never on trial.
    expect(await env()).toEqual({ boot_success: '0' });
    expect([newest, known]).toContain(first);
    // The next command finds the sysroot usable.
    const again = await cli(['--sysroot', s.sysroot, 'rollback']);
    expect(again.code, again.stderr).toBe(0);
    expect(await env()).toEqual({ boot_success: '0' });
  });
});
