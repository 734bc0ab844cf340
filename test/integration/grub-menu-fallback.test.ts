/**
 * Health-checked updates end to end on a GRUB sysroot, without firmware: the grub.cfg that
 * ostree's grub2 backend writes through apt-ostree's generator (data/grub/grub-mkconfig-ostree)
 * after a real `apt-ostree upgrade`, with boot_counter armed by it, run by real GRUB (grub-emu)
 * from an ext4 disk of the sysroot's /boot/grub. The menu entries' kernels cannot start in the
 * emulator, so each entry's `linux` line is replaced by one that prints which deployment it
 * boots: GRUB boots the new deployment for its tries, then the previous one.
 */
import { copyFileSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_UNIT } from '../../src/engine/deployments/arm.js';
import { cli, sh } from '../fixtures/env.js';
import { commitSyntheticBase, makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('GRUB menu fallback (grub-emu on the generated grub.cfg)', () => {
  let tmp: string;
  let s: TestSysroot;

  beforeAll(async () => {
    tmp = makeTemp('grub-menu-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0'] });
    // As admin provision sets a sysroot up for GRUB (docs/layout.md).
    await sh('ostree', [`--repo=${s.repo}`, 'config', 'set', 'sysroot.bootloader', 'grub2']);
    mkdirSync(join(s.sysroot, 'boot/grub'), { recursive: true });
    symlinkSync('../loader/grub.cfg', join(s.sysroot, 'boot/grub/grub.cfg'));
    // A first deployment change writes the menu (apt-ostree runs ostree with its generator).
    const k = await cli(['--sysroot', s.sysroot, 'kargs', '--append=quiet']);
    expect(k.code, k.stderr).toBe(0);
  });
  afterAll(async () => removeTemp(tmp));

  it('boots the upgrade for its tries, then the deployment before it', async () => {
    await commitSyntheticBase(s.srcRepo, s.ref, '2.0', tmp, undefined, { files: { [HEALTH_UNIT]: '[Unit]\n' } });
    const r = await cli(['--sysroot', s.sysroot, 'upgrade']);
    expect(r.code, r.stderr).toBe(0);
    const cfg = readFileSync(join(s.sysroot, 'boot/grub/grub.cfg'), 'utf8');
    // The counting comes after the header's default and before the first entry.
    expect(cfg.indexOf('set default=0')).toBeLessThan(cfg.indexOf('save_env'));
    expect(cfg.indexOf('save_env')).toBeLessThan(cfg.indexOf('menuentry'));
    const status = JSON.parse((await cli(['--sysroot', s.sysroot, 'status', '--json'])).stdout);
    const [newId, oldId] = status.deployments.map((d: { checksum: string; serial: number }) => `${d.checksum}.${d.serial}`);
    expect(status.deployments.map((d: { version: string }) => d.version)).toEqual(['2.0', '1.0']);

    // A disk of /boot/grub: the generated menu (entries print what they boot), the block as armed.
    const root = join(tmp, 'disk-root');
    mkdirSync(join(root, 'boot/grub'), { recursive: true });
    const menu = cfg
      .replace(/^set timeout=\d+$/m, 'set timeout=0')
      .replace(/^(serial|terminal_input|terminal_output) .*$/gm, '')
      .replace(/^\s*linux \S+ .*ostree=(\S+).*$/gm, (_, link: string) => `echo "BOOTS ${readlinkSync(join(s.sysroot, link)).split('/').pop()}"\nreboot`)
      .replace(/^\s*initrd .*$/gm, '');
    writeFileSync(join(root, 'boot/grub/grub.cfg'), menu);
    copyFileSync(join(s.sysroot, 'boot/grub/grubenv'), join(root, 'boot/grub/grubenv'));
    const disk = join(tmp, 'disk.img');
    await execa('truncate', ['-s', '16M', disk]);
    await execa('mkfs.ext4', ['-q', '-F', '-d', root, disk]);
    writeFileSync(join(tmp, 'device.map'), `(hd0) ${disk}\n`);
    const booted: string[] = [];
    for (let i = 0; i < 4; i++) {
      const g = await execa('grub-emu', ['-m', join(tmp, 'device.map'), '-r', 'hd0', '-d', '/boot/grub'], { timeout: 30_000, reject: false, input: '' });
      const m = /BOOTS (\S+)/.exec(g.stdout);
      expect(m, g.stdout + g.stderr).not.toBeNull();
      booted.push(m![1]!);
    }
    // BootTries=3 (the default): three boots of the upgrade, then the previous deployment.
    expect(booted).toEqual([newId, newId, newId, oldId]);
  }, 120_000);
});
