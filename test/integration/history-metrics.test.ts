/**
 * Issue 29's history and metrics on a sysroot directory: `apt-ostree history` after an upgrade,
 * a rollback, a failed upgrade and one stopped by SIGTERM (newest first, from/to, the packages that changed, the outcome
 * and its error), and the node exporter's textfile after a transaction and after a health
 * check, read with the Prometheus client library's own parser (python3-prometheus-client,
 * Debian's; `promtool` comes only with the whole prometheus server package).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_UNIT } from '../../src/engine/deployments/arm.js';
import { cli, sh } from '../fixtures/env.js';
import { sleepyEditor, startCli, waitUntil } from '../fixtures/faults.js';
import { commitSyntheticBase, makeSyntheticSysroot, syntheticPkglist, type SyntheticPackage, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const V1: SyntheticPackage[] = [['base-files', '12.4'], ['dpkg', '1.21.22'], ['nano', '7.2-1']];
const V2: SyntheticPackage[] = [['base-files', '12.5'], ['dpkg', '1.21.22'], ['htop', '3.2.2-2']];

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The file as the Prometheus client library parses it: every sample, and each family's type. */
async function parseExposition(text: string): Promise<{ samples: Sample[]; types: Record<string, string> }> {
  const program = [
    'import json, sys',
    'from prometheus_client.parser import text_string_to_metric_families',
    'fams = list(text_string_to_metric_families(sys.stdin.read()))',
    'print(json.dumps({"types": {f.name: f.type for f in fams}, "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for f in fams for s in f.samples]}))',
  ].join('\n');
  const r = await execa('/usr/bin/python3', ['-c', program], { input: text });
  return JSON.parse(r.stdout);
}

describe('history and metrics', () => {
  let tmp: string;
  let s: TestSysroot;
  const metricsFile = () => join(s.sysroot, 'ostree', 'deploy', s.os, 'var', 'lib', 'prometheus', 'node-exporter', 'apt_ostree.prom');
  const history = async (...args: string[]) => {
    const r = await cli(['--sysroot', s.sysroot, 'history', '--json', ...args]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };
  const metrics = async () => parseExposition(readFileSync(metricsFile(), 'utf8'));
  const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
    samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;

  beforeAll(async () => {
    tmp = makeTemp('history-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0'], packages: { '1.0': V1 }, pkglistMetadata: ['1.0'] });
    await commitSyntheticBase(s.srcRepo, s.ref, '2.0', tmp, undefined, { packages: V2, pkglistMetadata: syntheticPkglist(V2), files: { [HEALTH_UNIT]: '[Unit]\nDescription=stand-in\n' } });
  });
  afterAll(async () => removeTemp(tmp));

  it('records an upgrade with its deployments and package changes, and a rollback, newest first', async () => {
    expect(await history()).toEqual([]);
    expect((await cli(['--sysroot', s.sysroot, 'history'])).stdout.trim()).toBe('No transactions recorded yet.');
    const up = await cli(['--sysroot', s.sysroot, 'upgrade']);
    expect(up.code, up.stderr).toBe(0);
    const back = await cli(['--sysroot', s.sysroot, 'rollback']);
    expect(back.code, back.stderr).toBe(0);

    const [rollback, upgrade] = await history();
    expect(upgrade).toMatchObject({
      title: 'upgrade', user: 'root', trigger: 'command', outcome: 'succeeded',
      from: { osname: s.os, version: '1.0', checksum: s.commits[0] }, to: { osname: s.os, version: '2.0' },
      packages: { changed: ['base-files 12.4→12.5'], added: ['htop 3.2.2-2'], removed: ['nano 7.2-1'] },
    });
    expect(upgrade.command).toMatch(/ upgrade$/);
    expect(upgrade['duration-seconds']).toBeGreaterThanOrEqual(0);
    expect(upgrade.error).toBeUndefined();
    expect(rollback).toMatchObject({ title: 'rollback', outcome: 'succeeded', from: { version: '2.0' }, to: { version: '1.0', checksum: s.commits[0] }, packages: { changed: ['base-files 12.5→12.4'] } });
    expect(Date.parse(rollback.start)).toBeGreaterThanOrEqual(Date.parse(upgrade.start));
    expect(await history('-n', '1')).toEqual([rollback]);

    const text = (await cli(['--sysroot', s.sysroot, 'history'])).stdout;
    expect(text.indexOf('rollback  (succeeded')).toBeLessThan(text.indexOf('upgrade  (succeeded'));
    expect(text).toMatch(/Deployment: debian 1\.0 \([0-9a-f]{12}\.0\) → debian 2\.0 \([0-9a-f]{12}\.0\)/);
    expect(text).toContain('Added: htop 3.2.2-2');
  });

  it('records a failed transaction with its error; the metrics file says when it failed', async () => {
    // The update server is gone: the upgrade fails while it pulls, inside the transaction.
    renameSync(s.srcRepo, `${s.srcRepo}.away`);
    try {
      await commitSyntheticBase(`${s.srcRepo}.away`, s.ref, '3.0', tmp);
      const r = await cli(['--sysroot', s.sysroot, 'upgrade']);
      expect(r.code).toBe(1);
    } finally {
      renameSync(`${s.srcRepo}.away`, s.srcRepo);
    }
    const [failed] = await history();
    expect(failed).toMatchObject({ title: 'upgrade', outcome: 'failed', from: { version: '1.0' }, to: { version: '1.0' } });
    expect(failed.error).toMatch(/\S/);
    expect(failed.packages).toBeUndefined();

    const { samples, types } = await metrics();
    expect(types.apt_ostree_deployment_info).toBe('gauge');
    expect(value(samples, 'apt_ostree_deployment_info', { role: 'default', version: '1.0', checksum: s.commits[0]! })).toBe(1);
    const failedAt = Date.parse(failed.start) / 1000;
    expect(value(samples, 'apt_ostree_last_failure_timestamp_seconds')).toBeGreaterThanOrEqual(failedAt);
    // The last change of the next boot's deployment is the rollback, before the failure.
    const success = value(samples, 'apt_ostree_last_update_success_timestamp_seconds')!;
    expect(success).toBeGreaterThan(0);
    expect(success).toBeLessThanOrEqual(failedAt + 1);
    expect(value(samples, 'apt_ostree_reboot_pending', { reason: 'none' })).toBe(0);
    expect(value(samples, 'apt_ostree_reboot_lock_state', { state: 'none' })).toBe(1);
    expect(value(samples, 'apt_ostree_deployments', { pinned: 'false' })).toBe(2);
  });

  it('records a transaction stopped by SIGTERM as cancelled', async () => {
    const ed = sleepyEditor(tmp, 'slow', 30);
    const run = startCli(['--sysroot', s.sysroot, 'kargs', '--editor'], { env: { EDITOR: ed.path, VISUAL: '' } });
    await waitUntil(() => existsSync(ed.pidFile), 'the editor');
    run.signal('SIGTERM');
    const r = await run.result;
    expect(r.code).not.toBe(0);
    const [cancelled] = await history();
    expect(cancelled).toMatchObject({ title: 'kargs', outcome: 'cancelled', from: { version: '1.0' }, to: { version: '1.0' } });
    expect(cancelled.error).toMatch(/terminated/);
  });

  it('the metrics after a health check: its result, the failed check; no reboot lock in use', async () => {
    const grubenv = join(s.sysroot, 'boot', 'grub', 'grubenv');
    mkdirSync(join(s.sysroot, 'boot', 'grub'), { recursive: true });
    await sh('grub-editenv', [grubenv, 'create']);
    // Back to 2.0 (the deployment on trial, boot-counted), then its check fails.
    expect((await cli(['--sysroot', s.sysroot, 'rollback'])).code).toBe(0);
    const bad = join(tmp, 'bad.d');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, '10-service'), '#!/bin/sh\necho "nginx did not start"; exit 1\n');
    chmodSync(join(bad, '10-service'), 0o755);
    const r = await cli(['--sysroot', s.sysroot, 'health-check', '--boot', '--checks-dir', bad]);
    expect(r.code).toBe(1);
    const { samples } = await metrics();
    expect(value(samples, 'apt_ostree_health_check_passed', { version: '2.0' })).toBe(0);
    expect(value(samples, 'apt_ostree_health_check_failures', { check: '10-service', status: 'failed' })).toBe(1);
    expect(value(samples, 'apt_ostree_health_check_timestamp_seconds')).toBeGreaterThan(0);
    // No FleetLock strategy here (apply-fleet-lock.test.ts has the others).
    expect(value(samples, 'apt_ostree_reboot_lock_state', { state: 'none' })).toBe(1);
    expect(value(samples, 'apt_ostree_reboot_lock_state', { state: 'held' })).toBe(0);
    // Written whole under a temporary name, renamed over the old file: no temporary is left.
    expect(readdirSync(dirname(metricsFile())).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});
