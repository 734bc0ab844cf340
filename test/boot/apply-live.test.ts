/**
 * apply-live inside a booted trixie VM (the image and apt-ostree's .deb as in-vm.test.ts):
 * two boots of one disk.
 *   1. LiveFs off → refused; on → `install --apply-live` of a package with a binary, a systemd
 *      unit, a sysusers.d and a tmpfiles.d file and an /etc default: the binary runs and the
 *      unit starts without a reboot, although a package layered on the host comes from a
 *      repository the VM does not have (it is re-layered from the kept packages, issue 32);
 *      status shows the live commit (text and --json); rollback
 *      is refused; an upgrade of a package is refused without --allow-replacement and applied
 *      with it; an apply that meets a clashing entry midway leaves /usr as it was.
 *   2. The reboot runs the pending deployment: the packages are there, from the deployment,
 *      with no overlay and no live commit.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DebSpec } from '../fixtures/debs.js';
import { boot, BOOT_KARGS, diskBootEntry, makeDisk, type BootResult } from '../fixtures/boot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';
import { expectReport, trixieVm, VM_APT_REPO } from '../fixtures/trixie-vm.js';

/** The second apt repository inside the VM (in the stateroot's /var, as VM_APT_REPO, the first one): added by the check. */
const VM_REPO_2 = '/var/lib/apt-ostree-test/apt2';

const TOOL_UNIT = `[Unit]
Description=apt-ostree live test tool

[Service]
Type=oneshot
RemainAfterExit=yes
User=liveao
ExecStart=/bin/sh -c '/usr/bin/live-tool-ao > /run/live-tool-ao/out'
`;

const FIRST: DebSpec[] = [
  { name: 'live-dep-ao', version: '1.0', files: { '/usr/share/live-dep-ao/version': '1.0\n' } },
  {
    name: 'live-tool-ao',
    version: '1.0',
    depends: 'live-dep-ao',
    conffiles: ['/etc/live-tool-ao.conf'],
    files: {
      '/usr/bin/live-tool-ao': '#!/bin/sh\necho "live-tool $(cat /usr/share/live-dep-ao/version) as $(id -un)"\n',
      '/usr/lib/systemd/system/live-tool-ao.service': TOOL_UNIT,
      '/usr/lib/sysusers.d/live-tool-ao.conf': 'u liveao - "apt-ostree live test" /nonexistent\n',
      '/usr/lib/tmpfiles.d/live-tool-ao.conf': 'd /run/live-tool-ao 0755 liveao liveao -\n',
      '/etc/live-tool-ao.conf': 'greeting=hello\n',
    },
  },
];

/** Layered on the host from a repository the VM never has (test/fixtures/trixie-vm.ts). */
const HOST_ONLY: DebSpec[] = [{ name: 'live-host-ao', version: '1.0', files: { '/usr/share/live-host-ao/origin': 'the host\'s repository\n' } }];

const SECOND: DebSpec[] = [
  { name: 'live-dep-ao', version: '2.0', files: { '/usr/share/live-dep-ao/version': '2.0\n' } },
  { name: 'live-extra-ao', version: '1.0', depends: 'live-dep-ao (>= 2.0)', files: { '/usr/share/live-extra-ao/readme': 'extra\n' } },
  // bin/ sorts before share/: the binary is switched in before the clash on share/zz-live-clash-ao.
  { name: 'live-clash-ao', version: '1.0', files: { '/usr/bin/live-clash-ao': '#!/bin/sh\necho clash\n', '/usr/share/zz-live-clash-ao/file': 'from the package\n' } },
];

const CHECK_PRELUDE = `booted_field() { apt-ostree status | sed -n "/^●/,/^\\$/s/^ *$1: //p"; }
staged_commit() { ostree admin status | sed -n 's/^  debian \\([0-9a-f]*\\)\\.[0-9]* (staged)$/\\1/p'; }
json_live() { apt-ostree status --json | sed -n 's/.*"live-replaced": "\\([0-9a-f]*\\)".*/\\1/p'; }
usr_state() { find /usr/bin /usr/share/dpkg /usr/lib/systemd/system /usr/share/live-dep-ao -printf '%p %y %s %m\\n' 2>&1 | sort | sha256sum | cut -c1-16; }
log() { sed "s/^/$1: /" "/tmp/$1.log" | tail -n 30; }
`;

const times: string[] = [];

describe('apply-live inside a booted trixie VM', () => {
  let tmp: string;
  let disk: string;
  let firstDeployment = '';
  /** What the first boot left staged, which the second boot runs. */
  let pendingDeployment = '';

  async function bootCase(name: string, check: string, expectations: (r: BootResult) => void, opts: { timeoutSeconds: number }): Promise<BootResult> {
    const entry = await diskBootEntry(disk, join(tmp, 'boot-files'));
    const r = await boot(entry, disk, { check: CHECK_PRELUDE + check, name, timeoutSeconds: opts.timeoutSeconds });
    expectReport(r, name, times, () => expectations(r));
    return r;
  }

  beforeAll(async () => {
    tmp = makeTemp('boot-live-');
    const vm = await trixieVm(tmp, [
      { vmPath: VM_APT_REPO, packages: FIRST },
      { vmPath: VM_REPO_2, packages: SECOND },
    ], HOST_ONLY);
    times.push(...vm.times);
    firstDeployment = vm.firstDeployment;
    disk = join(tmp, 'disk.img');
    await makeDisk(vm.sysroot, disk);
    mkdirSync(join(tmp, 'boot-files'));
  }, 1_800_000);

  afterAll(async () => {
    console.log(`[boot] timings:\n  ${times.join('\n  ')}`);
    if (tmp) await removeTemp(tmp);
  });

  it('install --apply-live makes a binary and a unit usable at once; status shows the live commit; replacement needs --allow-replacement; a clash midway leaves /usr as it was', async () => {
    const check = `
apt-ostree apply-live >/tmp/off.log 2>&1; echo "off-exit=$?"; log off
mkdir -p /etc/apt-ostree
printf '[Experimental]\\nEnabled=true\\nLiveFs=true\\n' >/etc/apt-ostree/apt-ostree.conf
start=$(date +%s)
apt-ostree install --apply-live live-tool-ao >/tmp/install.log 2>&1; echo "install-exit=$?"; log install
echo "kept-line=$(grep -o 'Taken from the kept packages.*' /tmp/install.log)"
echo "install-seconds=$(( $(date +%s) - start ))"
echo "tool=$(live-tool-ao)"
systemctl start live-tool-ao.service; echo "unit-exit=$?"
echo "unit-out=$(cat /run/live-tool-ao/out)"
echo "etc-conf=$(cat /etc/live-tool-ao.conf)"
echo "staged-1=$(staged_commit)"
echo "live-1=$(booted_field LiveCommit)"
echo "json-live-1=$(json_live)"
echo "booted-commit-key=$(apt-ostree status | sed -n '/^●/,/^$/p' | grep -c 'BootedCommit:')"
echo "unlocked=$(booted_field Unlocked)"
echo "usr-ro=$(touch /usr/share/apt-ostree-live-probe 2>/dev/null && echo no || echo yes)"
apt-ostree rollback >/tmp/rollback.log 2>&1; echo "rollback-exit=$?"; log rollback

echo 'deb [trusted=yes] file:${VM_REPO_2} ./' >/etc/apt/sources.list.d/apt2.list
apt-ostree refresh-md >/tmp/refresh.log 2>&1; echo "refresh-exit=$?"; log refresh
apt-ostree install live-extra-ao >/tmp/extra.log 2>&1; echo "extra-exit=$?"; log extra
apt-ostree apply-live >/tmp/refused.log 2>&1; echo "refused-exit=$?"; log refused
echo "dep-before=$(cat /usr/share/live-dep-ao/version)"
start=$(date +%s)
apt-ostree apply-live --allow-replacement >/tmp/replace.log 2>&1; echo "replace-exit=$?"; log replace
echo "replace-seconds=$(( $(date +%s) - start ))"
echo "dep-after=$(cat /usr/share/live-dep-ao/version)"
echo "extra=$(cat /usr/share/live-extra-ao/readme)"
echo "staged-2=$(staged_commit)"
echo "live-2=$(booted_field LiveCommit)"

export LIBMOUNT_FORCE_MOUNT2=always; mount -o remount,rw /usr && mkdir /usr/share/zz-live-clash-ao && mount -o remount,ro /usr
apt-ostree install live-clash-ao >/tmp/clash-install.log 2>&1; echo "clash-install-exit=$?"; log clash-install
before=$(usr_state)
apt-ostree apply-live >/tmp/clash.log 2>&1; echo "clash-exit=$?"; log clash
echo "usr-same=$([ "$before" = "$(usr_state)" ] && echo yes || echo no)"
echo "clash-bin=$(test -e /usr/bin/live-clash-ao && echo present || echo absent)"
echo "staging-left=$(ls -A /usr/.apt-ostree-live /etc/.apt-ostree-live 2>/dev/null | wc -l)"
echo "live-3=$(booted_field LiveCommit)"
echo "interrupted=$(booted_field InterruptedLiveCommit)"
echo "usr-ro-after=$(touch /usr/share/apt-ostree-live-probe 2>/dev/null && echo no || echo yes)"
`;
    const r = await bootCase('in the VM: apply-live', check, (b) => {
      expect(b.report.deployment).toBe(firstDeployment);
      expect(b.report['off-exit']).toBe('1');
      expect(b.reportText).toMatch(/off: .*apply-live is turned off on this system: it needs Enabled=true and LiveFs=true/);
      expect(b.report['install-exit']).toBe('0');
      expect(b.report['kept-line']).toMatch(/^Taken from the kept packages \(no source offers (this version|these versions) any more\): .*live-host-ao 1\.0/);
      expect(b.report.tool).toBe('live-tool 1.0 as root');
      // The unit runs as the user its sysusers.d file declares, writing into the directory its tmpfiles.d file makes.
      expect(b.report['unit-exit']).toBe('0');
      expect(b.report['unit-out']).toBe('live-tool 1.0 as liveao');
      expect(b.report['etc-conf']).toBe('greeting=hello');
      expect(b.report['staged-1']).toMatch(/^[0-9a-f]{64}$/);
      expect(b.report['live-1']).toBe(b.report['staged-1']);
      expect(b.report['json-live-1']).toBe(b.report['staged-1']);
      expect(b.report['booted-commit-key']).toBe('1');
      expect(b.report.unlocked).toBe('transient');
      expect(b.report['usr-ro']).toBe('yes');
      expect(b.report['rollback-exit']).toBe('1');
      expect(b.reportText).toMatch(/rollback: .*The running system has live changes/);
      // An upgrade of live-dep-ao: refused, then applied with --allow-replacement.
      expect(b.report['extra-exit']).toBe('0');
      expect(b.report['refused-exit']).toBe('1');
      expect(b.reportText).toMatch(/refused: .*apply-live would change packages the running system has: live-dep-ao 1\.0 → 2\.0/);
      expect(b.report['dep-before']).toBe('1.0');
      expect(b.report['replace-exit']).toBe('0');
      expect(b.report['dep-after']).toBe('2.0');
      expect(b.report.extra).toBe('extra');
      expect(b.report['live-2']).toBe(b.report['staged-2']);
      // The clash: refused midway, /usr as before, the live commit unchanged, nothing left behind.
      expect(b.report['clash-install-exit']).toBe('0');
      expect(b.report['clash-exit']).toBe('1');
      expect(b.reportText).toMatch(/clash: .*\/usr\/share\/zz-live-clash-ao already exists on the running system/);
      expect(b.report['usr-same']).toBe('yes');
      expect(b.report['clash-bin']).toBe('absent');
      expect(b.report['staging-left']).toBe('0');
      expect(b.report['live-3']).toBe(b.report['live-2']);
      expect(b.report.interrupted).toBe('');
      expect(b.report['usr-ro-after']).toBe('yes');
    }, { timeoutSeconds: 1800 });
    times.push(`  install --apply-live inside the VM: ${r.report['install-seconds']} s; apply-live --allow-replacement: ${r.report['replace-seconds']} s`);
    pendingDeployment = (await diskBootEntry(disk, join(tmp, 'boot-files'))).deployment;
    expect(pendingDeployment).not.toBe(firstDeployment);
  }, 2_700_000);

  it('the reboot runs the pending deployment: the packages come from it, with no overlay and no live commit', async () => {
    expect(pendingDeployment).not.toBe('');
    const check = `
echo "tool=$(live-tool-ao)"
systemctl start live-tool-ao.service; echo "unit-exit=$?"
echo "unit-out=$(cat /run/live-tool-ao/out)"
echo "clash=$(cat /usr/share/zz-live-clash-ao/file)"
echo "unlocked=$(booted_field Unlocked)"
echo "live=$(booted_field LiveCommit)"
echo "json-live=$(json_live)"
echo "usr-mount=$(findmnt -n -o FSTYPE /usr || echo none)"
echo "layered=$(booted_field LayeredPackages)"
`;
    await bootCase('in the VM: after the reboot', check, (b) => {
      expect(b.report.deployment).toBe(pendingDeployment);
      // Staged three times over (each from the staged one): the kernel arguments are kept.
      expect(b.report.cmdline).toContain(BOOT_KARGS.join(' '));
      expect(b.report.tool).toBe('live-tool 2.0 as root');
      expect(b.report['unit-exit']).toBe('0');
      expect(b.report['unit-out']).toBe('live-tool 2.0 as liveao');
      expect(b.report.clash).toBe('from the package');
      expect(b.report.unlocked).toBe('');
      expect(b.report.live).toBe('');
      expect(b.report['json-live']).toBe('');
      expect(b.report['usr-mount']).not.toBe('overlay');
      expect(b.report.layered.split(' ').sort()).toEqual(['live-clash-ao', 'live-extra-ao', 'live-host-ao', 'live-tool-ao']);
    }, { timeoutSeconds: 900 });
    expect(existsSync(disk)).toBe(true);
  }, 2_700_000);
});
