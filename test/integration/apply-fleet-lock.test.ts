/**
 * AutomaticUpdatePolicy=apply with RebootStrategy=fleet-lock on a sysroot directory, against the
 * loopback FleetLock server (test/fixtures/fleetlock-server.ts). A sysroot directory is not the
 * running system: the run writes the new default deployment, takes the slot and stops there,
 * saying so (the host is never rebooted); a denied slot leaves the reboot waiting, the next run
 * asks again; `health-check --boot` of the new deployment releases the slot (steady-state).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sysroot } from '../../src/engine/deployments/sysroot.js';
import { appSpecificId } from '../../src/engine/updates/node-id.js';
import { cli } from '../fixtures/env.js';
import { startFleetLockServer, type FleetLockServer } from '../fixtures/fleetlock-server.js';
import { commitSyntheticBase, makeSyntheticSysroot, syntheticPkglist, type SyntheticPackage, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const PKGS: SyntheticPackage[] = [['base-files', '12.4'], ['dpkg', '1.21.22']];
const MACHINE_ID = 'c988d2509fdf4cdcbed39037c56406fb';

describe('AutomaticUpdatePolicy=apply, RebootStrategy=fleet-lock, on a sysroot directory', () => {
  let tmp: string;
  let s: TestSysroot;
  let server: FleetLockServer;

  const status = async () => JSON.parse((await cli(['--sysroot', s.sysroot, 'status', '--json'])).stdout);
  const trigger = () => cli(['--sysroot', s.sysroot, 'upgrade', '--trigger-automatic-update-policy', '--quiet']);
  /** The reboot lock's state in the node exporter's textfile (docs/fleet.md, "Metrics"). */
  const lockMetric = () => /^apt_ostree_reboot_lock_state\{state="([a-z-]+)"\} 1$/m.exec(readFileSync(join(s.sysroot, 'ostree/deploy/debian/var/lib/prometheus/node-exporter/apt_ostree.prom'), 'utf8'))?.[1];

  beforeAll(async () => {
    tmp = makeTemp('apply-fleet-lock-');
    server = await startFleetLockServer({ slots: 1 });
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0'], packages: { '1.0': PKGS }, pkglistMetadata: ['1.0'] });
    const etc = join(Sysroot.load(s.sysroot).deployments[0]!.path, 'etc');
    mkdirSync(join(etc, 'apt-ostree'), { recursive: true });
    writeFileSync(join(etc, 'machine-id'), `${MACHINE_ID}\n`);
    writeFileSync(join(etc, 'apt-ostree', 'apt-ostree.conf'), `[Daemon]\nAutomaticUpdatePolicy=apply\n[Updates]\nRebootStrategy=fleet-lock\nFleetLockURL=${server.url}\nFleetLockGroup=workers\n`);
  });
  afterAll(async () => {
    await server.close();
    removeTemp(tmp);
  });

  it('a denied slot: the update is written but waits, and status says why', async () => {
    server.holders.add('another-node');
    await commitSyntheticBase(s.srcRepo, s.ref, '1.1', tmp, undefined, { packages: PKGS, pkglistMetadata: syntheticPkglist(PKGS) });
    const r = await trigger();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/The update is staged and waits: no reboot without the FleetLock slot \(pre-reboot: failed_lock_semaphore_full: semaphore currently full/);
    expect(server.requests.map((q) => q.path)).toEqual(['/base/v1/pre-reboot']);
    const body = JSON.parse(server.requests[0]!.body);
    expect(body).toEqual({ client_params: { id: appSpecificId(MACHINE_ID), group: 'workers' } });
    const st = await status();
    expect(st['reboot-state']['fleet-lock']).toMatchObject({ held: false, 'last-error': { api: 'pre-reboot', status: 409, kind: 'failed_lock_semaphore_full' } });
    expect(st['reboot-state'].waiting.why).toMatch(/no reboot without the FleetLock slot/);
    const text = await cli(['--sysroot', s.sysroot, 'status']);
    expect(text.stdout).toMatch(/FleetLock: not held; .* group workers id [0-9a-f]{32}/);
    expect(text.stdout).toMatch(/LastError: pre-reboot at .*HTTP 409 failed_lock_semaphore_full/);
    expect(lockMetric()).toBe('error');
  });

  it('the next run asks again; granted, it stops short of a reboot on a directory and says so', async () => {
    server.holders.clear();
    const r = await trigger();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/RebootStrategy=fleet-lock allows the reboot and the FleetLock slot is taken; not rebooting: .* is not the running system/);
    expect(server.holders).toEqual(new Set([appSpecificId(MACHINE_ID)]));
    const st = await status();
    const newBase = st.deployments[0]['base-checksum'] ?? st.deployments[0].checksum;
    expect(st['reboot-state']['fleet-lock']).toMatchObject({ held: true, 'for-checksum': newBase });
    expect(st['reboot-state']['fleet-lock']['last-error']).toBeUndefined();
    expect(st['reboot-state'].waiting).toBeUndefined();
    expect(lockMetric()).toBe('held');
  });

  it('health-check --boot of the new deployment that passes releases the slot (steady-state), at the server configured now', async () => {
    const checks = join(tmp, 'checks.d');
    mkdirSync(checks, { recursive: true });
    writeFileSync(join(checks, '10-ok'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    // The admin moved the lock server since the slot was taken: the release goes to the new one.
    const moved = await startFleetLockServer({ slots: 1 });
    try {
      moved.holders.add(appSpecificId(MACHINE_ID));
      const conf = join(Sysroot.load(s.sysroot).deployments[0]!.path, 'etc/apt-ostree/apt-ostree.conf');
      writeFileSync(conf, `[Daemon]\nAutomaticUpdatePolicy=apply\n[Updates]\nRebootStrategy=fleet-lock\nFleetLockURL=${moved.url}\nFleetLockGroup=workers\n`);
      const before = server.requests.length;
      const r = await cli(['--sysroot', s.sysroot, 'health-check', '--boot', '--checks-dir', checks]);
      expect(r.code, r.stderr).toBe(0);
      expect(server.requests.length).toBe(before);
      expect(moved.requests.map((q) => q.path)).toEqual(['/base/v1/steady-state']);
      expect(JSON.parse(moved.requests[0]!.body)).toEqual({ client_params: { id: appSpecificId(MACHINE_ID), group: 'workers' } });
      expect(moved.holders.size).toBe(0);
      expect((await status())['reboot-state']['fleet-lock']).toMatchObject({ held: false });
      expect(lockMetric()).toBe('unlocked');
    } finally {
      await moved.close();
    }
  });
});
