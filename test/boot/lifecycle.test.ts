/**
 * Real boots under QEMU of a composed image and of what apt-ostree makes of it: one sysroot,
 * changed from the host with `--sysroot` between boots (install, upgrade, rollback, initramfs,
 * kargs), a disk made with `apt-ostree admin image` for every boot, booted from firmware only
 * (no -kernel): OVMF (UEFI) or SeaBIOS, in turn, then GRUB on the disk, whose menu ostree's
 * grub2 backend wrote on the host through apt-ostree's generator. The image's report unit says
 * what the booted system looks like; a failing case shows the console log.
 */
import { execa } from 'execa';
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAptRepo, type AptRepo } from '../fixtures/apt-repo.js';
import { BOOKWORM, BOOT_KARGS, bootFirmware, bootImage, consoleTail, defaultBootEntry, makeDisk, trimTestBoots, type BootImage, type BootResult, type Firmware } from '../fixtures/boot.js';
import { cli, sh } from '../fixtures/env.js';
import { setDeploymentSources } from '../fixtures/layering.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

/** A package with a system user made by its postinst, a conffile, /var content and /opt files. */
const SERVICE_PACKAGE = {
  name: 'boot-svc-ao',
  version: '1.0',
  files: {
    '/etc/boot-svc-ao.conf': 'greeting=hello from the layer\n',
    '/var/lib/boot-svc-ao/state': 'initial state\n',
    '/opt/boot-svc-ao/bin/boot-svc-ao': '#!/bin/sh\necho "boot-svc-ao runs: $(cat /etc/boot-svc-ao.conf)"\n',
  },
  conffiles: ['/etc/boot-svc-ao.conf'],
  postinst: 'getent passwd boot-svc-ao >/dev/null || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin boot-svc-ao\nchown boot-svc-ao /var/lib/boot-svc-ao',
};

/** What the layered package looks like inside the VM (key=value lines for the report). */
const PACKAGE_CHECK = `
echo "svc-uid=$(getent passwd boot-svc-ao | cut -d: -f3)"
echo "svc-conffile=$(cat /etc/boot-svc-ao.conf)"
echo "svc-var=$(cat /var/lib/boot-svc-ao/state) owner $(stat -c %U /var/lib/boot-svc-ao)"
echo "svc-run=$(/opt/boot-svc-ao/bin/boot-svc-ao)"
echo "svc-dpkg=$(dpkg-query -W -f '\${Version}' boot-svc-ao)"
echo "base-version=$(cat /usr/share/apt-ostree-test/version 2>/dev/null || echo none)"
`;

const times: string[] = [];

describe('booting apt-ostree deployments under QEMU', () => {
  let tmp: string;
  let image: BootImage;
  let srv: string;
  let sysroot: string;
  let apt: AptRepo;
  let layeredDeployment = '';

  /** Make the disk from the sysroot and boot it; attach the console log to any failed expectation. */
  async function bootCase(name: string, firmware: Firmware, check: string | undefined, expectations: (r: BootResult) => void, opts: { diskMade?: boolean } = {}): Promise<BootResult> {
    const disk = join(tmp, 'disk.img');
    const t0 = Date.now();
    if (!opts.diskMade) await makeDisk(sysroot, disk);
    const diskSeconds = (Date.now() - t0) / 1000;
    // GRUB boots the first entry of the menu ostree wrote: the default deployment's.
    const menu = readFileSync(join(sysroot, 'boot/grub/grub.cfg'), 'utf8');
    const first = /^linux \S+ .*ostree=(\S+)/m.exec(menu)?.[1];
    expect(first && readlinkSync(join(sysroot, first)).split('/').pop()).toBe(defaultBootEntry(sysroot).deployment);
    const r = await bootFirmware(disk, firmware, { check, name, timeoutSeconds: 480 });
    name = `${name} (${firmware === 'uefi' ? 'UEFI' : 'BIOS'})`;
    times.push(`${name}: disk ${diskSeconds.toFixed(1)} s, boot ${r.seconds.toFixed(1)} s`);
    console.log(`[boot] ${times.at(-1)}`);
    try {
      expectations(r);
    } catch (e) {
      (e as Error).message += `\n\nReport:\n${r.reportText}\nConsole log (last lines):\n${consoleTail(r.console)}`;
      throw e;
    }
    return r;
  }

  function expectHealthy(r: BootResult, deployment: string): void {
    expect(r.report.cmdline).toMatch(/(^| )ostree=\/ostree\/boot\.\d\/debian\/[0-9a-f]{64}\/\d( |$)/);
    for (const k of BOOT_KARGS) expect(r.report.cmdline.split(' ')).toContain(k);
    expect(r.report['ostree-booted']).toBe('yes');
    expect(r.report['usr-options']).toMatch(/^ro(,|$)/);
    expect(Number(r.report['dpkg-installed'])).toBeGreaterThan(100);
    expect(r.report['failed-units']).toBe('');
    expect(r.report.deployment).toBe(deployment);
  }

  beforeAll(async () => {
    tmp = makeTemp('boot-');
    image = await bootImage(BOOKWORM);
    if (image.composeSeconds) times.push(`compose of the boot image: ${image.composeSeconds.toFixed(0)} s`);
    // The server repository: a hardlinked copy of the cached image, which the upgrade case commits to.
    srv = join(tmp, 'srv-repo');
    await sh('cp', ['-al', image.repo, srv]);
    sysroot = join(tmp, 'sysroot');
    const t0 = Date.now();
    // As README.md shows it: provision and write the disk image in one command.
    const r = await cli(['admin', 'provision', '--no-verify', '--sysroot', sysroot, '--repo', srv, '--ref', image.ref, ...BOOT_KARGS.map((k) => `--karg=${k}`), '--image', join(tmp, 'disk.img'), '--image-size', '4G']);
    expect(r.code, r.stderr).toBe(0);
    times.push(`provision with --image: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // The disks of the later cases boot without the units no test uses (the first disk is as provisioned).
    trimTestBoots(join(sysroot, 'ostree/deploy/debian/deploy', defaultBootEntry(sysroot).deployment));
    apt = await makeAptRepo(join(tmp, 'apt'), [SERVICE_PACKAGE]);
    await apt.serve();
  }, 1_800_000);

  afterAll(async () => {
    console.log(`[boot] timings:\n  ${times.join('\n  ')}`);
    await apt?.close();
    if (tmp) await removeTemp(tmp);
  });

  it('boots the composed image from UEFI firmware and from a legacy BIOS, through GRUB', async () => {
    const entry = defaultBootEntry(sysroot);
    expect(entry.deployment).toMatch(new RegExp(`^${image.checksum}\\.0$`));
    // Provision added the root by label (the image's kargs have no root=) in front of the --karg values.
    expect(entry.options.split(' ').slice(0, 3)).toEqual(BOOT_KARGS);
    await bootCase('composed image', 'uefi', undefined, (r) => expectHealthy(r, entry.deployment), { diskMade: true });
    await bootCase('composed image', 'bios', undefined, (r) => expectHealthy(r, entry.deployment), { diskMade: true });
  });

  it('boots a deployment with a layered package: its user, conffile, /var and /opt content are there', async () => {
    const before = defaultBootEntry(sysroot).deployment;
    const deployment = join(sysroot, 'ostree/deploy/debian/deploy', before);
    setDeploymentSources(deployment, apt.sourcesLine());
    const r = await cli(['--sysroot', sysroot, 'install', 'boot-svc-ao']);
    expect(r.code, r.stderr).toBe(0);
    layeredDeployment = defaultBootEntry(sysroot).deployment;
    expect(layeredDeployment).not.toBe(before);
    const passwd = readFileSync(join(sysroot, 'ostree/deploy/debian/deploy', layeredDeployment, 'usr/etc/passwd'), 'utf8');
    const uid = /^boot-svc-ao:x:(\d+):/m.exec(passwd)?.[1];
    expect(uid).toBeDefined();
    await bootCase('layered package', 'uefi', PACKAGE_CHECK, (b) => {
      expectHealthy(b, layeredDeployment);
      expect(b.report['svc-uid']).toBe(uid);
      expect(b.report['svc-conffile']).toBe('greeting=hello from the layer');
      expect(b.report['svc-var']).toBe('initial state owner boot-svc-ao');
      expect(b.report['svc-run']).toBe('boot-svc-ao runs: greeting=hello from the layer');
      expect(b.report['svc-dpkg']).toBe('1.0');
    });
  });

  it('boots an upgrade to a new base that carries the layer', async () => {
    expect(layeredDeployment).not.toBe('');
    const extra = join(tmp, 'extra');
    mkdirSync(join(extra, 'usr/share/apt-ostree-test'), { recursive: true });
    writeFileSync(join(extra, 'usr/share/apt-ostree-test/version'), '2.0\n');
    const next = (
      await sh('ostree', [`--repo=${srv}`, 'commit', `--branch=${image.ref}`, `--parent=${image.checksum}`, `--tree=ref=${image.checksum}`, `--tree=dir=${extra}`, '--add-metadata-string=version=2.0', '--keep-metadata=aptostree.dpkg.pkglist', '--keep-metadata=aptostree.kargs', '--no-bindings'])
    ).trim();
    const r = await cli(['--sysroot', sysroot, 'upgrade']);
    expect(r.code, r.stderr).toBe(0);
    const upgraded = defaultBootEntry(sysroot).deployment;
    expect(upgraded).not.toBe(layeredDeployment);
    const base = (await execa('ostree', [`--repo=${join(sysroot, 'ostree/repo')}`, 'show', '--print-metadata-key=aptostree.base-checksum', upgraded.split('.')[0]!], { reject: false })).stdout;
    expect(base).toContain(next);
    await bootCase('upgrade', 'bios', PACKAGE_CHECK, (b) => {
      expectHealthy(b, upgraded);
      expect(b.report['base-version']).toBe('2.0');
      expect(b.report['svc-run']).toBe('boot-svc-ao runs: greeting=hello from the layer');
    });
  });

  it('boots the previous deployment after a rollback', async () => {
    const r = await cli(['--sysroot', sysroot, 'rollback']);
    expect(r.code, r.stderr).toBe(0);
    expect(defaultBootEntry(sysroot).deployment).toBe(layeredDeployment);
    await bootCase('rollback', 'uefi', PACKAGE_CHECK, (b) => {
      expectHealthy(b, layeredDeployment);
      expect(b.report['base-version']).toBe('none');
      expect(b.report['svc-dpkg']).toBe('1.0');
    });
  });

  it('boots an initramfs regenerated by `initramfs --enable` (the image\'s real dracut, in the sandbox), with a kernel argument appended on the host', async () => {
    const before = defaultBootEntry(sysroot);
    const r = await cli(['--sysroot', sysroot, 'initramfs', '--enable']);
    expect(r.code, r.stderr).toBe(0);
    const regenerated = defaultBootEntry(sysroot);
    expect(regenerated.deployment).not.toBe(before.deployment);
    // A new initramfs gives the deployment a new boot checksum, hence new boot file paths.
    expect(regenerated.initrd).not.toBe(before.initrd);
    expect(readFileSync(regenerated.initrd).equals(readFileSync(before.initrd))).toBe(false);
    // Then a kernel argument (a new deployment too; the older one without the initramfs goes).
    const k = await cli(['--sysroot', sysroot, 'kargs', '--append=apt_ostree.test=appended']);
    expect(k.code, k.stderr).toBe(0);
    const after = defaultBootEntry(sysroot);
    expect(after.deployment).not.toBe(regenerated.deployment);
    expect(after.initrd).toBe(regenerated.initrd);
    expect(after.options.split(' ')).toContain('apt_ostree.test=appended');
    await bootCase('regenerated initramfs, kargs --append', 'bios', PACKAGE_CHECK, (b) => {
      expectHealthy(b, after.deployment);
      expect(b.report.cmdline.split(' ')).toContain('apt_ostree.test=appended');
      expect(b.report['svc-run']).toBe('boot-svc-ao runs: greeting=hello from the layer');
    });
  });
});
