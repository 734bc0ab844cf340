/**
 * apt-ostree running inside a booted OSTree system: a trixie image (whose nodejs runs
 * apt-ostree) with apt-ostree's own .deb layered on it from the host, booted under QEMU.
 * Inside the VM `apt-ostree install` stages a deployment on the booted system from a file:
 * apt repository in /var, the shutdown finalizes it, the next boot runs it, and
 * `apt-ostree rollback` plus one more boot bring the previous deployment back; then
 * `apt-ostree upgrade` inside the VM moves to a new base (from an OSTree repository in /var)
 * with the layer re-applied, and the last boot runs it.
 *
 * One disk for the whole story: what the VM changed stays on it. Every boot starts from UEFI
 * firmware (OVMF) and GRUB, whose menu the VM's ostree regenerated (grub-mkconfig with
 * ostree-boot's 15_ostree, ostree 2025.2) — so install + reboot and rollback + reboot go through
 * the boot loader; the default BLS entry read back from the disk (debugfs) says which deployment
 * GRUB had to boot.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DebSpec } from '../fixtures/debs.js';
import { bootFirmware, diskBootEntry, makeDisk, type BootEntryFiles, type BootResult } from '../fixtures/boot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';
import { expectReport, trixieVm, updateServer, VM_APT_REPO } from '../fixtures/trixie-vm.js';

const PACKAGES: DebSpec[] = [
  { name: 'vm-dep-ao', version: '1.0', files: { '/usr/share/vm-dep-ao/greeting': 'hello from a staged deployment\n' } },
  { name: 'vm-hello-ao', version: '2.1', depends: 'vm-dep-ao (>= 1.0)', files: { '/usr/bin/vm-hello-ao': '#!/bin/sh\ncat /usr/share/vm-dep-ao/greeting\n' } },
];

/**
 * Shell helper for the check scripts: FIELD of the booted deployment in `apt-ostree status`, run
 * once per boot (an apt-ostree start costs seconds under TCG; each check reads its fields in one
 * place, with no command in between that changes them; /run is new at every boot).
 */
const CHECK_PRELUDE = `booted_field() {
  [ -s /run/apt-ostree-test-status ] || apt-ostree status >/run/apt-ostree-test-status
  sed -n "/^●/,/^\\$/s/^ *$1: //p" /run/apt-ostree-test-status
}
`;

const times: string[] = [];

describe('apt-ostree inside a booted trixie VM', () => {
  let tmp: string;
  let disk: string;
  /** The deployment with apt-ostree layered, which the first VM boot runs. */
  let firstDeployment = '';
  /** The deployment the VM staged with `apt-ostree install`. */
  let stagedDeployment = '';
  /** The deployment the VM staged with `apt-ostree upgrade`, and the new base commit. */
  let upgradedDeployment = '';
  let newBase = '';

  /**
   * Boot the disk from UEFI firmware (OVMF) through GRUB, whose menu the VM's own ostree
   * regenerated (grub-mkconfig with 15_ostree) after the changes made inside it; ENTRY is the
   * default BLS entry on the disk, which GRUB's first menu entry must have booted. Attach the
   * report and console log to a failed expectation.
   */
  async function bootCase(name: string, check: string, expectations: (r: BootResult, entry: BootEntryFiles) => void, opts: { rebootsItself?: boolean } = {}): Promise<BootResult> {
    const entry = await diskBootEntry(disk, join(tmp, 'boot-files'));
    const r = await bootFirmware(disk, 'uefi', { check: CHECK_PRELUDE + check, name, timeoutSeconds: 900, ...opts });
    expectReport(r, name, times, () => expectations(r, entry));
    return r;
  }

  beforeAll(async () => {
    tmp = makeTemp('boot-vm-');
    const vm = await trixieVm(tmp, [{ vmPath: VM_APT_REPO, packages: PACKAGES }]);
    times.push(...vm.times);
    firstDeployment = vm.firstDeployment;
    const server = await updateServer(vm, tmp);
    newBase = await server.commit({ base: vm.image.checksum, version: '2.0', files: { '/usr/share/apt-ostree-test/version': '2.0\n' } });
    disk = join(tmp, 'disk.img');
    const t0 = Date.now();
    await makeDisk(vm.sysroot, disk);
    times.push(`disk: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    mkdirSync(join(tmp, 'boot-files'));
  }, 1_800_000);

  afterAll(async () => {
    console.log(`[boot] timings:\n  ${times.join('\n  ')}`);
    if (tmp) await removeTemp(tmp);
  });

  it('status shows the booted deployment with ●, and install stages a new deployment on the booted system', async () => {
    const check = `
echo "status-booted=$(apt-ostree status | grep '^●')"
echo "status-booted-id=$(apt-ostree status -v | sed -n '/^●/,/^$/s/^ *Id: //p')"
apt-ostree status --pending-exit-77 >/dev/null; echo "pending-exit-before=$?"
start=$(date +%s)
apt-ostree install vm-hello-ao >/tmp/install.log 2>&1
echo "install-exit=$?"
echo "install-seconds=$(( $(date +%s) - start ))"
sed 's/^/install: /' /tmp/install.log | tail -n 40
echo "staged=$(ostree admin status | grep -c '(staged)')"
echo "status-staged=$(apt-ostree status | grep -c 'Staged: yes')"
apt-ostree status --pending-exit-77 >/dev/null; echo "pending-exit-after=$?"
echo "usr-untouched=$(test -e /usr/bin/vm-hello-ao && echo no || echo yes)"
echo "pending-diff=$(apt-ostree db diff --format=diff | grep '^[-+!]' | sort | tr '\\n' ' ')"
`;
    const r = await bootCase('in the VM: status and install', check, (b, entry) => {
      expect(entry.deployment).toBe(firstDeployment);
      expect(b.report.deployment).toBe(firstDeployment);
      expect(b.report['status-booted']).toMatch(/^● debian:/);
      expect(b.report['status-booted-id']).toBe(`debian-${firstDeployment}`);
      expect(b.report['install-exit']).toBe('0');
      expect(b.report.staged).toBe('1');
      expect(b.report['status-staged']).toBe('1');
      expect(b.report['pending-exit-before']).toBe('0');
      expect(b.report['pending-exit-after']).toBe('77');
      expect(b.report['usr-untouched']).toBe('yes');
      // db diff on a booted system with a staged deployment: booted → pending.
      expect(b.report['pending-diff']).toBe('+vm-dep-ao 1.0 +vm-hello-ao 2.1');
    });
    times.push(`  apt-ostree install inside the VM: ${r.report['install-seconds']} s`);
    // The shutdown finalized the staged deployment: it is the disk's default entry now.
    stagedDeployment = (await diskBootEntry(disk, join(tmp, 'boot-files'))).deployment;
    expect(stagedDeployment).not.toBe(firstDeployment);
  });

  it('the next boot runs the staged deployment with the package; kargs stages, cleanup -p unstages; rollback makes the previous one the default', async () => {
    expect(stagedDeployment).not.toBe('');
    const check = `
echo "hello=$(vm-hello-ao)"
echo "layered=$(booted_field LayeredPackages)"
echo "local=$(booted_field LocalPackages)"
apt-ostree kargs --append=apt-ostree.test=1 >/tmp/kargs.log 2>&1
echo "kargs-exit=$?"
sed 's/^/kargs: /' /tmp/kargs.log
echo "kargs-staged=$(ostree admin status | grep -c '(staged)')"
apt-ostree cleanup -p >/tmp/cleanup.log 2>&1
echo "cleanup-exit=$?"
sed 's/^/cleanup: /' /tmp/cleanup.log
echo "cleanup-staged=$(ostree admin status | grep -c '(staged)')"
apt-ostree rollback >/tmp/rollback.log 2>&1
echo "rollback-exit=$?"
sed 's/^/rollback: /' /tmp/rollback.log
`;
    await bootCase('in the VM: staged deployment and rollback', check, (b, entry) => {
      expect(entry.deployment).toBe(stagedDeployment);
      expect(b.report.deployment).toBe(stagedDeployment);
      expect(b.report.hello).toBe('hello from a staged deployment');
      expect(b.report.layered).toBe('vm-hello-ao');
      expect(b.report.local).toMatch(/^apt-ostree_[0-9.]+_all$/);
      // kargs stages a deployment on the booted system; cleanup -p drops it before it is finalized.
      expect(b.report['kargs-exit']).toBe('0');
      expect(b.report['kargs-staged']).toBe('1');
      expect(b.report['cleanup-exit']).toBe('0');
      expect(b.report['cleanup-staged']).toBe('0');
      expect(b.report['rollback-exit']).toBe('0');
    });
    expect((await diskBootEntry(disk, join(tmp, 'boot-files'))).deployment).toBe(firstDeployment);
  });

  it('after the rollback the previous deployment runs again, without the package; cleanup -r removes the other one; usroverlay makes /usr writable; upgrade stages a new base', async () => {
    expect(stagedDeployment).not.toBe('');
    const check = `
echo "hello=$(command -v vm-hello-ao || echo absent)"
echo "status-booted=$(apt-ostree status | grep '^●')"
apt-ostree cleanup -r >/tmp/cleanup.log 2>&1
echo "cleanup-exit=$?"
sed 's/^/cleanup: /' /tmp/cleanup.log
echo "deployments=$(ostree admin status | grep -c '^[* ] debian ')"
apt-ostree upgrade --lock-finalization >/tmp/upgrade.log 2>&1
echo "upgrade-exit=$?"
sed 's/^/upgrade: /' /tmp/upgrade.log
echo "upgrade-staged=$(ostree admin status | grep -c '(staged)\\|(finalization locked)')"
echo "upgrade-locked=$(apt-ostree status --json | grep -c '"finalization-locked": true')"
echo "usr-locked=$(touch /usr/share/apt-ostree-usroverlay-test 2>/dev/null && echo no || echo yes)"
apt-ostree usroverlay >/tmp/usroverlay.log 2>&1
echo "usroverlay-exit=$?"
sed 's/^/usroverlay: /' /tmp/usroverlay.log
echo "usr-writable=$(touch /usr/share/apt-ostree-usroverlay-test 2>/dev/null && echo yes || echo no)"
echo "unlocked=$(booted_field Unlocked)"
`;
    await bootCase('in the VM: after rollback', check, (b, entry) => {
      expect(entry.deployment).toBe(firstDeployment);
      expect(b.report.deployment).toBe(firstDeployment);
      expect(b.report.hello).toBe('absent');
      expect(b.report.cmdline).not.toContain('apt-ostree.test=1');
      expect(b.report['status-booted']).toMatch(/^● debian:/);
      // The deployment rolled back from is the rollback deployment now: cleanup -r removes it.
      expect(b.report['cleanup-exit']).toBe('0');
      expect(b.report.deployments).toBe('1');
      // usroverlay: a writable overlay on /usr until the next reboot, shown by status.
      expect(b.report['usr-locked']).toBe('yes');
      expect(b.report['usroverlay-exit']).toBe('0');
      expect(b.report['usr-writable']).toBe('yes');
      expect(b.report.unlocked).toBe('development');
      // upgrade --lock-finalization on the running system: a new base from the remote, staged
      // and held back from finalization (what update drivers such as Zincati do).
      expect(b.report['upgrade-exit']).toBe('0');
      expect(b.report['upgrade-staged']).toBe('1');
      expect(b.report['upgrade-locked']).toBe('1');
    });
    // The shutdown left the locked deployment unfinalized: the disk still boots the same one.
    expect((await diskBootEntry(disk, join(tmp, 'boot-files'))).deployment).toBe(firstDeployment);
  });

  it('a locked staged deployment is not finalized by a reboot; finalize-deployment CHECKSUM lifts the lock and reboots into it', async () => {
    expect(newBase).not.toBe('');
    // Zincati's calls (src/rpm_ostree/cli_deploy.rs, cli_finalize.rs): stage locked, then
    // `rpm-ostree finalize-deployment CHECKSUM` with the base commit's checksum.
    const check = `
echo "staged-after-reboot=$(ostree admin status | grep -c '(staged)\\|(finalization locked)')"
apt-ostree upgrade --lock-finalization >/tmp/upgrade.log 2>&1
echo "upgrade-exit=$?"
sed 's/^/upgrade: /' /tmp/upgrade.log
# ostree marks a staged deployment "(finalization locked)" instead of "(staged)" while it is locked.
echo "staged=$(ostree admin status | grep -c '(staged)\\|(finalization locked)')"
echo "locked=$(apt-ostree status --json | grep -c '"finalization-locked": true')"
echo "locked-text=$(apt-ostree status | grep -c 'finalization locked')"
apt-ostree finalize-deployment ${'0'.repeat(64)} >/tmp/finalize-wrong.log 2>&1
echo "finalize-wrong-exit=$?"
sed 's/^/finalize-wrong: /' /tmp/finalize-wrong.log
echo "still-locked=$(apt-ostree status --json | grep -c '"finalization-locked": true')"
apt-ostree finalize-deployment ${newBase} >/var/tmp/apt-ostree-finalize.log 2>&1
echo "finalize-exit=$?"
`;
    await bootCase(
      'in the VM: finalize-deployment',
      check,
      (b, entry) => {
        expect(entry.deployment).toBe(firstDeployment);
        expect(b.report.deployment).toBe(firstDeployment);
        // The locked deployment of the previous boot is gone with /run, unfinalized.
        expect(b.report['staged-after-reboot']).toBe('0');
        expect(b.report['upgrade-exit']).toBe('0');
        expect(b.report.staged).toBe('1');
        expect(b.report.locked).toBe('1');
        expect(b.report['locked-text']).toBe('1');
        expect(b.report['finalize-wrong-exit']).toBe('1');
        expect(b.report['still-locked']).toBe('1');
      },
      { rebootsItself: true },
    );
    // finalize-deployment rebooted, and the shutdown finalized the staged deployment.
    upgradedDeployment = (await diskBootEntry(disk, join(tmp, 'boot-files'))).deployment;
    expect(upgradedDeployment).not.toBe(firstDeployment);
  });

  it('the upgrade staged inside the VM boots: new base, the layered apt-ostree kept and working', async () => {
    expect(upgradedDeployment).not.toBe('');
    const check = `
echo "base-version=$(cat /usr/share/apt-ostree-test/version 2>/dev/null || echo none)"
echo "base-commit=$(booted_field BaseCommit)"
echo "local=$(booted_field LocalPackages)"
echo "unlocked=$(booted_field Unlocked)"
echo "usroverlay-file=$(test -e /usr/share/apt-ostree-usroverlay-test && echo kept || echo gone)"
echo "finalize-log=$(tr '\\n' ' ' </var/tmp/apt-ostree-finalize.log)"
`;
    await bootCase('in the VM: after upgrade', check, (b, entry) => {
      expect(entry.deployment).toBe(upgradedDeployment);
      expect(b.report.deployment).toBe(upgradedDeployment);
      expect(b.report['base-version']).toBe('2.0');
      expect(b.report['base-commit']).toBe(newBase);
      expect(b.report.local).toMatch(/^apt-ostree_[0-9.]+_all$/);
      // The development overlay of the previous boot is gone with the reboot.
      expect(b.report.unlocked).toBe('');
      expect(b.report['usroverlay-file']).toBe('gone');
      expect(b.report['finalize-log']).toMatch(/Unlocked the staged deployment/);
    });
  });
});
