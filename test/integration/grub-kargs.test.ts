/**
 * Kernel arguments on a GRUB sysroot: every form `kargs` accepts ends up in a grub.cfg that
 * GRUB's parser reads (grub-script-check), what GRUB would misread is refused before anything
 * changes, and a menu that does not parse is refused by apt-ostree's generator
 * (data/grub/grub-mkconfig-ostree) before it replaces the old one, failing the transaction.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, sh } from '../fixtures/env.js';
import { deploymentState } from '../fixtures/faults.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

/** Every form of argument the validator lets through (test/unit/engine/deployments/kargs.test.ts). */
const ALLOWED = ['quiet', 'console=ttyS0,115200n8', 'root=UUID=0b5d1c3e-8f2a-4c1e-9d7b-2a6f0e4c9b11', 'rd.luks.options=discard', 'foo="a b"', 'x=', 'a=b=c', 'acpi_osi="!Windows 2012"', 'dyndbg="file drivers/usb/* +p"', 'systemd.setenv=A=B'];

describe('kernel arguments and the GRUB menu', () => {
  let tmp: string;
  let s: TestSysroot;
  const menuPath = () => join(s.sysroot, 'boot/grub/grub.cfg');
  const menuHash = () => createHash('sha256').update(readFileSync(menuPath())).digest('hex');

  beforeAll(async () => {
    tmp = makeTemp('grub-kargs-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0'] });
    // As admin provision sets a sysroot up for GRUB (docs/layout.md).
    await sh('ostree', [`--repo=${s.repo}`, 'config', 'set', 'sysroot.bootloader', 'grub2']);
    mkdirSync(join(s.sysroot, 'boot/grub'), { recursive: true });
    symlinkSync('../loader/grub.cfg', join(s.sysroot, 'boot/grub/grub.cfg'));
  });
  afterAll(async () => removeTemp(tmp));

  it('writes every allowed form into a grub.cfg that grub-script-check accepts', async () => {
    const r = await cli(['--sysroot', s.sysroot, 'kargs', ...ALLOWED.map((a) => `--append=${a}`)]);
    expect(r.code, r.stderr).toBe(0);
    await execa('grub-script-check', [menuPath()]);
    const linux = readFileSync(menuPath(), 'utf8').split('\n').find((l) => /^\s*linux /.test(l))!;
    for (const a of ALLOWED) expect(linux).toContain(` ${a} `);
  });

  it('refuses what GRUB would misread or what overflows the command line, changing nothing', async () => {
    const before = await deploymentState(s.sysroot);
    const menu = menuHash();
    // Each character has its unit test (test/unit/engine/deployments/kargs.test.ts); here the CLI's path for a few.
    for (const bad of ['x=a|b', 'x=$(reboot)', 'x=1;reboot', '#x', '"x=a b"', `x=${'y'.repeat(10_000)}`]) {
      const r = await cli(['--sysroot', s.sysroot, 'kargs', `--append=${bad}`]);
      expect(r.code, bad).toBe(1);
      expect(r.stderr, bad).toMatch(/GRUB|does not enclose its whole value|over the 1780 that fit/);
      expect(r.stderr).not.toMatch(/bug in apt-ostree/);
    }
    expect(await deploymentState(s.sysroot)).toEqual(before);
    expect(menuHash()).toBe(menu);
  }, 300_000);

  it('keeps the old menu and fails the transaction when the new one does not parse', async () => {
    // An entry an older apt-ostree could write (`x=}`), on the deployment that stays listed.
    const loader = join(s.sysroot, 'boot', readlinkSync(join(s.sysroot, 'boot/loader')), 'entries');
    const entry = join(loader, readdirSync(loader).sort()[0]!);
    const good = readFileSync(entry, 'utf8');
    writeFileSync(entry, good.replace(/^options /m, 'options x=} '));
    const before = await deploymentState(s.sysroot);
    const menu = menuHash();
    try {
      const r = await cli(['--sysroot', s.sysroot, 'kargs', '--append=next=1']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr, r.stderr).toMatch(/The boot menu was not changed: grub-script-check refused the new GRUB menu \(Syntax error at line \d+: .*x=\}.*\); the old menu is kept\./);
      expect(menuHash()).toBe(menu);
      expect(await deploymentState(s.sysroot)).toEqual(before);
    } finally {
      writeFileSync(entry, good);
    }
    const ok = await cli(['--sysroot', s.sysroot, 'kargs', '--append=next=1']);
    expect(ok.code, ok.stderr).toBe(0);
    await execa('grub-script-check', [menuPath()]);
  }, 300_000);
});
