/**
 * Health-checked updates (docs/health.md) on a real machine: a trixie VM with apt-ostree's own
 * .deb layered (as in-vm.test.ts), booted from UEFI firmware through GRUB, whose menu carries
 * apt-ostree's boot counting (08_apt-ostree-boot-counting in the VM's grub-mkconfig, the host's
 * generator for the deployments made before the disk). [Health] BootTries=2, so that GRUB
 * counts down through more than one try. AutomaticUpdatePolicy=apply with
 * RebootStrategy=fleet-lock (docs/fleet.md): the timer's command reboots only with a slot of the
 * FleetLock server that the test runs on the host (test/fixtures/fleetlock-server.ts, one slot,
 * reached from the VM through QEMU's user network), and a boot releases the slot only once it
 * passed its health checks.
 *
 * One disk, three QEMU runs (a run lasts until a boot reports; the VM may reboot on its own):
 *   1. the good update 2.0 (deployed by the automatic update on the host, which took the slot;
 *      on trial) boots, passes, is marked good and releases the slot; another node takes it;
 *      inside, the timer's command stages 3.0 (whose image carries a health check that fails),
 *      is refused the slot and does not reboot; the other node gives the slot back; the next
 *      run takes it and reboots into 3.0;
 *   2. 3.0 boots twice, fails, reboots each time; GRUB falls back to 2.0, whose health check
 *      rolls back and records why; the slot stays taken, so that the fleet's rollout stops; the
 *      automatic update does not stage 3.0 again; `kargs` stages 2.0 with a command line that
 *      panics before userspace (panic=1, no init), with BootTries=1;
 *   3. that deployment panics once; GRUB falls back; 4.0 is published, and the automatic
 *      update (policy stage now) stages it.
 */
import { execa } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appSpecificId } from '../../src/engine/updates/node-id.js';
import { bootFirmware, defaultBootEntry, diskBootEntry, makeDisk, type BootOptions, type BootResult } from '../fixtures/boot.js';
import { cli } from '../fixtures/env.js';
import { startFleetLockServer, type FleetLockServer } from '../fixtures/fleetlock-server.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';
import { enableVmNetwork, expectReport, HOST_FROM_VM, trixieVm, updateServer, VM_OSTREE_REPO } from '../fixtures/trixie-vm.js';

/** The VM's machine id, set from the host: its FleetLock node id is known before it boots. */
const MACHINE_ID = '5b0e1f3c9a7d4e21b6c8f0a2d4e6f801';
/** Another node of the FleetLock group, played by the test. */
const OTHER_NODE = 'f00df00df00df00df00df00df00df00d';

/** The admin's configuration, in /etc of the deployment (and so of those made from it). */
function config(fleetLockUrl: string): string {
  return `[Daemon]\nAutomaticUpdatePolicy=apply\n\n[Health]\nBootTries=2\n\n[Updates]\nRebootStrategy=fleet-lock\nFleetLockURL=${fleetLockUrl}\nFleetLockGroup=health-test\n`;
}

/** A command line that panics before userspace: no init in the initramfs, none on the root file system (which the kernel cannot even find by LABEL= alone). */
const PANIC_KARGS = ['panic=1', 'rdinit=/apt-ostree-test-no-init', 'init=/apt-ostree-test-no-init'];

const FAILING_CHECK = `#!/bin/sh
# A health check of the image 3.0 that always fails, as one whose service did not come up.
echo "web server did not answer on port 80"
exit 1
`;

const CHECK_PRELUDE = `
# A boot on trial whose checks failed reboots: its report must not power the VM off first.
if grub-editenv /boot/grub/grubenv list | grep -qx 'boot_success=0'; then sleep 900; fi
booted_field() { apt-ostree status | sed -n "/^●/,/^\\$/s/^ *$1: //p"; }
grubenv() { echo "grubenv=$(grub-editenv /boot/grub/grubenv list | grep '^boot_' | sort | tr '\\n' ' ')"; }
log() { sed "s/^/$1: /" "/tmp/$1.log" | tail -n 20; }
# json KEY=EXPRESSION...: KEY=the expression's value, on the JSON of stdin as v.
cat >/tmp/json.js <<'EOF'
const v = JSON.parse(require('fs').readFileSync(0, 'utf8'));
for (const a of process.argv.slice(2)) {
  const i = a.indexOf('=');
  let r;
  try { r = eval(a.slice(i + 1)); } catch (e) { r = 'error: ' + e.message; }
  console.log(a.slice(0, i) + '=' + (typeof r === 'string' ? r : JSON.stringify(r)));
}
EOF
json() { node /tmp/json.js "$@"; }
auto_update() {
  apt-ostree upgrade --trigger-automatic-update-policy >/tmp/$1.log 2>&1; echo "$1-exit=$?"; log $1
  # ostree's record of a staged deployment, held back (finalization locked) or not.
  echo "$1-staged=$(test -e /run/ostree/staged-deployment && echo 1 || echo 0)"
  echo "$1-refused=$(grep -c 'Not updating to this commit again' /tmp/$1.log)"
}
`;

/**
 * The menu entries GRUB booted in a run, in order: for each kernel that started (its "Linux
 * version" line), the last `Booting `TITLE'` before it, as "VERSION (ostree:N)". (GRUB prints that
 * line once per terminal, so the lines themselves are not counted.)
 */
function grubBoots(r: BootResult): string[] {
  return r.console
    .split(/\] Linux version /)
    .slice(0, -1)
    .map((before) => [...before.matchAll(/Booting `[^']* (\S+ \(ostree:\d+\))'/g)].at(-1)?.[1] ?? 'no GRUB entry');
}

/** A deployment as status names it: checksum.serial → the checksum's first 12 digits, escaped for a RegExp. */
function short(deployment: string): string {
  const [checksum, serial] = deployment.split('.');
  return `${checksum!.slice(0, 12)}\\.${serial}`;
}

const times: string[] = [];

describe('health-checked updates in a booted trixie VM', () => {
  let tmp: string;
  let disk: string;
  let ref = '';
  /** The deployments: the good update, the one that fails its check, the one that panics. */
  let good = '';
  let failing = '';
  let panicking = '';
  /** Base commits on the update server. */
  let badBase = '';
  let newerBase = '';
  /** What the runs reported, for the automatic update's case. */
  const reports: Record<string, BootResult> = {};
  let fleet: FleetLockServer;
  const nodeId = appSpecificId(MACHINE_ID);
  /** The FleetLock requests so far, as "API ID". */
  const fleetRequests = () => fleet.requests.map((q) => `${q.path.split('/').pop()} ${(JSON.parse(q.body) as { client_params: { id: string } }).client_params.id}`);

  async function run(name: string, check: string, expectations: (r: BootResult) => void, opts: BootOptions = {}): Promise<BootResult> {
    const r = await bootFirmware(disk, 'uefi', { check: CHECK_PRELUDE + check, name, timeoutSeconds: 1200, ...opts });
    reports[name] = r;
    expectReport(r, name, times, () => expectations(r));
    return r;
  }
  const defaultOnDisk = async () => (await diskBootEntry(disk, join(tmp, 'boot-files'))).deployment;

  beforeAll(async () => {
    tmp = makeTemp('boot-health-');
    const vm = await trixieVm(tmp);
    times.push(...vm.times);
    ref = vm.image.ref;
    fleet = await startFleetLockServer({ slots: 1 });
    // The rest of the fleet: another node takes the slot as soon as this one released it, and
    // gives it back once this one was refused.
    fleet.onAnswer = (request, status) => {
      if (request.path.endsWith('/steady-state') && status === 200 && fleet.holders.size === 0) fleet.holders.add(OTHER_NODE);
      if (request.path.endsWith('/pre-reboot') && status === 409) fleet.holders.delete(OTHER_NODE);
    };
    const etc = join(vm.deployDir(vm.firstDeployment), 'etc');
    mkdirSync(join(etc, 'apt-ostree'), { recursive: true });
    // The host's own run below reaches the server on loopback; the VM's configuration is set after it.
    writeFileSync(join(etc, 'apt-ostree/apt-ostree.conf'), config(fleet.url));
    writeFileSync(join(etc, 'machine-id'), `${MACHINE_ID}\n`);
    enableVmNetwork(vm.deployDir(vm.firstDeployment));
    const server = await updateServer(vm, tmp);
    const goodBase = await server.commit({ base: vm.image.checksum, version: '2.0' });
    // The good update, deployed on the host: the new default on trial, armed with 2 tries. The
    // deployment's apt source is the VM's path already: fetched first, then deployed with the
    // package lists of the layering.
    await server.remoteFrom('host');
    await execa('ostree', [`--repo=${join(vm.sysroot, 'ostree/repo')}`, 'pull', 'origin', ref]);
    await server.remoteFrom('vm');
    // The automatic update on the host: 2.0 is written as the new default (a sysroot directory is
    // not the running system: the run stops after taking the slot, for the VM's node id).
    const u = await cli(['--sysroot', vm.sysroot, 'upgrade', '--trigger-automatic-update-policy', '--cache-only']);
    expect(u.code, u.stderr).toBe(0);
    expect(u.stdout).toMatch(/the FleetLock slot is taken; not rebooting: .* is not the running system/);
    expect(fleetRequests()).toEqual([`pre-reboot ${nodeId}`]);
    writeFileSync(join(vm.deployDir(defaultBootEntry(vm.sysroot).deployment), 'etc/apt-ostree/apt-ostree.conf'), config(fleet.url.replace('127.0.0.1', HOST_FROM_VM)));
    badBase = await server.commit({ base: goodBase, version: '3.0', files: { '/usr/lib/apt-ostree/health.d/50-web': { content: FAILING_CHECK, mode: 0o755 } } });
    // 4.0, which fixes 3.0: published (the ref moved to it) only in the last run.
    newerBase = await server.commit({ base: goodBase, version: '4.0', ref: 'apt-ostree-test/next' });
    const env = await execa('grub-editenv', [join(vm.sysroot, 'boot/grub/grubenv'), 'list']);
    expect(env.stdout.split('\n').sort()).toEqual(['boot_counter=2', 'boot_success=0']);
    disk = join(tmp, 'disk.img');
    const t0 = Date.now();
    await makeDisk(vm.sysroot, disk);
    times.push(`disk: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    mkdirSync(join(tmp, 'boot-files'));
    good = await defaultOnDisk();
  }, 1_800_000);

  afterAll(async () => {
    console.log(`[boot] timings:\n  ${times.join('\n  ')}`);
    await fleet?.close();
    if (tmp) await removeTemp(tmp);
  });

  it('a good update passes its checks and is marked good; upgrade inside stages the next one on trial', async () => {
    const check = `
grubenv
apt-ostree health-check --json | json 'hc-results=v.results.map(r => r.name + ":" + r.status).join(" ")' 'hc-passed=v.passed'
apt-ostree status --json | json 'last-deployment=v.health["last-check"].deployment' 'last-passed=v.health["last-check"].passed' 'fallbacks=v.health.fallbacks.length'
apt-ostree status >/tmp/status.log 2>&1
echo "status-health=$(grep 'HealthCheck:' /tmp/status.log)"
echo "fleet-lock=$(grep 'FleetLock:' /tmp/status.log)"
# The timer's command: 3.0 is staged, held back; the slot is refused (the other node has it).
auto_update auto-denied
echo "locked=$(test -e /run/ostree/staged-deployment-locked && echo yes || echo no)"
apt-ostree status >/tmp/status-denied.log 2>&1
echo "waits=$(sed -n 's/^RebootWaits: //p' /tmp/status-denied.log)"
echo "last-error=$(sed -n 's/^ *LastError: //p' /tmp/status-denied.log)"
echo "staged-$(grubenv)"
# The next run: the slot is free again; it is taken, and the system reboots into 3.0.
apt-ostree upgrade --trigger-automatic-update-policy >/tmp/auto-granted.log 2>&1
echo "auto-granted-exit=$?"; log auto-granted
`;
    await run('good update', check, (r) => {
      expect(r.report.deployment).toBe(good);
      expect(grubBoots(r)).toEqual(['2.0 (ostree:0)']);
      // Passed: boot_success=1 and no counter, so GRUB counts nothing any more.
      expect(r.report.grubenv).toBe('boot_success=1');
      expect(r.report['hc-results']).toBe('10-multi-user.units:passed 20-system-units.units:passed 30-usr-read-only:passed');
      expect(r.report['hc-passed']).toBe('true');
      expect(r.report['last-deployment']).toBe(good);
      expect(r.report['last-passed']).toBe('true');
      expect(r.report.fallbacks).toBe('0');
      expect(r.report['status-health']).toMatch(/^HealthCheck: passed \(3 checks\) on 2\.0 /);
      // The boot that passed released the slot the host's run had taken for it.
      expect(r.report['fleet-lock']).toMatch(new RegExp(`^FleetLock: not held \\(released .*; http://${HOST_FROM_VM}:\\d+/base/ group health-test id ${nodeId}$`));
      // Refused: staged, held back, waiting, and why; on trial from the boot that runs it, with 2 tries.
      expect(r.report['auto-denied-exit']).toBe('0');
      expect(r.report['auto-denied-staged']).toBe('1');
      expect(r.report.locked).toBe('yes');
      expect(r.report.waits).toMatch(/^no reboot without the FleetLock slot \(pre-reboot: failed_lock_semaphore_full: /);
      expect(r.report['last-error']).toMatch(/^pre-reboot at \S+: HTTP 409 failed_lock_semaphore_full: /);
      expect(r.report['staged-grubenv']).toBe('boot_counter=2 boot_success=0');
      // Granted: the command rebooted (the VM stopped with -no-reboot) before it could say more.
      expect(r.report['auto-granted-exit']).toBeUndefined();
      expect(fleetRequests()).toEqual([`pre-reboot ${nodeId}`, `steady-state ${nodeId}`, `pre-reboot ${nodeId}`, `pre-reboot ${nodeId}`]);
      expect(fleet.holders).toEqual(new Set([nodeId]));
    }, { rebootsItself: true });
    failing = await defaultOnDisk();
    expect(failing).not.toBe(good);
  });

  it('an update whose health check fails boots, fails, reboots, and GRUB falls back to the previous deployment after its tries; status says why', async () => {
    expect(failing).not.toBe('');
    const check = `
grubenv
echo "default=$(ostree admin status | sed -n 's/^\\* debian \\([0-9a-f]*\\.[0-9]*\\).*/\\1/p;q')"
apt-ostree status >/tmp/status.log 2>&1; log status
echo "fleet-lock-kept=$(sed -n 's/^ *Kept: //p' /tmp/status.log)"
echo "status-fallback=$(apt-ostree status | sed -n 's/^ *Fallback: //p')"
echo "status-output=$(apt-ostree status | sed -n 's/^ *Output: //p')"
apt-ostree status --json | json 'fb-deployment=v.health.fallbacks.at(-1).deployment' 'fb-reason=v.health.fallbacks.at(-1).reason' 'fb-check=v.health.fallbacks.at(-1)["failed-check"]' 'fb-output=v.health.fallbacks.at(-1).output.trim()' 'fb-back=v.health.fallbacks.at(-1)["rolled-back-to"]' 'last-deployment=v.health["last-check"].deployment' 'last-passed=v.health["last-check"].passed'
journalctl -b -1 -u apt-ostree-health-check.service --no-pager -o cat | tail -n 8 | sed 's/^/previous-boot: /'
auto_update auto-bad
# One try for the panicking command line: the countdown through two tries is this run's; a try
# of the next run costs a firmware boot up to the panic.
sed -i 's/^BootTries=2$/BootTries=1/' /etc/apt-ostree/apt-ostree.conf
apt-ostree kargs ${PANIC_KARGS.map((k) => `--append=${k}`).join(' ')} >/tmp/kargs.log 2>&1; echo "kargs-exit=$?"; log kargs
echo "kargs-$(grubenv)"
`;
    await run(
      'failing health check',
      check,
      (r) => {
        // GRUB booted 3.0 twice (its two tries), then entry 1: the previous deployment.
        expect(grubBoots(r)).toEqual(['3.0 (ostree:0)', '3.0 (ostree:0)', '2.0 (ostree:1)']);
        expect(r.report.deployment).toBe(good);
        // The fallback boot rolled back: the booted deployment is the default again, not counted.
        expect(r.report.default).toBe(good);
        expect(r.report.grubenv).toBe('boot_success=1');
        expect(r.report['status-fallback']).toMatch(new RegExp(`^3\\.0 \\(${short(failing)}\\) failed its health check 50-web; back on 2\\.0 since `));
        expect(r.report['status-output']).toBe('web server did not answer on port 80');
        expect(r.report['fb-deployment']).toBe(failing);
        expect(r.report['fb-reason']).toBe('failed-check');
        expect(r.report['fb-check']).toBe('50-web');
        expect(r.report['fb-output']).toBe('web server did not answer on port 80');
        expect(r.report['fb-back']).toBe(good);
        expect(r.report['last-deployment']).toBe(good);
        expect(r.report['last-passed']).toBe('true');
        // kargs stages the panicking command line on trial.
        expect(r.report['kargs-exit']).toBe('0');
        expect(r.report['kargs-grubenv']).toBe('boot_counter=1 boot_success=0');
        // The slot stays taken after the fallback: no steady-state, and status says why.
        expect(r.report['fleet-lock-kept']).toMatch(/did not stay booted \(health fallback\); the FleetLock slot is kept/);
        expect(fleetRequests()).toHaveLength(4);
        expect(fleet.holders).toEqual(new Set([nodeId]));
      },
      { reboots: true },
    );
    panicking = await defaultOnDisk();
    expect(panicking).not.toBe(good);
  });

  it('an update whose kernel panics before userspace falls back after its tries', async () => {
    expect(panicking).not.toBe('');
    const check = `
grubenv
echo "default=$(ostree admin status | sed -n 's/^\\* debian \\([0-9a-f]*\\.[0-9]*\\).*/\\1/p;q')"
echo "status-fallback=$(apt-ostree status | sed -n 's/^ *Fallback: //p')"
apt-ostree status --json | json 'fb-deployment=v.health.fallbacks.at(-1).deployment' 'fb-reason=v.health.fallbacks.at(-1).reason' 'fb-check=v.health.fallbacks.at(-1)["failed-check"] ?? "none"' 'fallbacks=v.health.fallbacks.length'
# The admin stops the automatic reboots while the rollout is held (the slot stays taken).
sed -i 's/^AutomaticUpdatePolicy=apply$/AutomaticUpdatePolicy=stage/' /etc/apt-ostree/apt-ostree.conf
auto_update auto-same
ostree --repo=${VM_OSTREE_REPO} reset ${ref} ${newerBase}; echo "publish-exit=$?"
auto_update auto-newer
apt-ostree status --json | json 'staged-base=v.deployments.find(d => d.staged)?.["base-checksum"] ?? "none"'
`;
    await run(
      'kernel panic',
      check,
      (r) => {
        expect(r.console).toMatch(/Kernel panic - not syncing/);
        expect(grubBoots(r)).toEqual(['2.0 (ostree:0)', '2.0 (ostree:1)']);
        expect(r.report.deployment).toBe(good);
        expect(r.report.cmdline).not.toContain('panic=1');
        expect(r.report.default).toBe(good);
        expect(r.report.grubenv).toBe('boot_success=1');
        // The same commit as the good deployment, with other kernel arguments: its serial tells them apart.
        expect(r.report['status-fallback']).toMatch(new RegExp(`^2\\.0 \\(${short(panicking)}\\) never reached its health checks; back on 2\\.0 since `));
        expect(r.report['fb-deployment']).toBe(panicking);
        expect(r.report['fb-reason']).toBe('no-check-result');
        expect(r.report['fb-check']).toBe('none');
        expect(r.report.fallbacks).toBe('2');
        expect(fleetRequests()).toHaveLength(4);
      },
      { reboots: true },
    );
  });

  it('the automatic update does not stage the commit that fell back again, and stages a newer one once it is published', () => {
    const bad = reports['failing health check']!.report;
    // Right after the fallback from 3.0, and again a boot later: 3.0 is still the newest commit.
    for (const [r, key] of [[bad, 'auto-bad'], [reports['kernel panic']!.report, 'auto-same']] as const) {
      expect(r[`${key}-exit`]).toBe('0');
      expect(r[`${key}-staged`]).toBe('0');
      expect(r[`${key}-refused`]).toBe('1');
    }
    const last = reports['kernel panic']!.report;
    expect(last['publish-exit']).toBe('0');
    expect(last['auto-newer-exit']).toBe('0');
    expect(last['auto-newer-staged']).toBe('1');
    expect(last['staged-base']).toBe(newerBase);
    expect(badBase).not.toBe(newerBase);
  });
});
