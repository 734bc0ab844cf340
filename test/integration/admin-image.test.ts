/**
 * `apt-ostree admin image`: a GPT disk (BIOS boot, EFI system and root partitions) holding a
 * sysroot, read back without mounting: the partition table with sfdisk, the EFI system partition
 * with mtools, the root file system with e2fsprogs at its offset (`DISK?offset=N`): the BLS
 * entries and deployments are in it, hardlinks are kept, the sysroot is unchanged, an existing
 * output is refused without --force, failures leave no file behind. (That the disk boots from
 * both firmwares is test/boot/firmware.test.ts.)
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_OFFSET } from '../../src/image/disk.js';
import { cli, sh } from '../fixtures/env.js';
import { startCli } from '../fixtures/faults.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

/** Path → size and inode of every entry, for "the sysroot is unchanged". */
async function snapshot(dir: string): Promise<string> {
  return sh('find', [dir, '-printf', '%P %y %s %i %m %T@\n']).then((t) => t.split('\n').sort().join('\n'));
}

describe('admin image', () => {
  let tmp: string;
  let s: TestSysroot;
  beforeAll(async () => {
    tmp = makeTemp('image-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0', '2.0'], kargs: ['root=/dev/vda', 'rw'] });
  });
  afterAll(async () => {
    await removeTemp(tmp);
  });

  it('writes a GPT disk holding the sysroot and GRUB for both firmwares, leaving the sysroot unchanged', async () => {
    const before = await snapshot(s.sysroot);
    const out = join(tmp, 'disk.img');
    const r = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', out, '--size', '256M', '--label', 'root']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Wrote .*disk\.img: a GPT disk of 256 MiB/);
    // The synthetic sysroot was not provisioned with GRUB's menu: said, not hidden.
    expect(r.stdout).toMatch(/Warning: .* has no GRUB menu/);
    expect(statSync(out).size).toBe(256 * 1024 ** 2);
    expect(await snapshot(s.sysroot)).toBe(before);
    expect(readdirSync(tmp).filter((n) => n.includes('apt-ostree-'))).toEqual([]);

    const table = JSON.parse(await sh('sfdisk', ['--json', out])) as { partitiontable: { label: string; partitions: Array<{ start: number; size: number; type: string }> } };
    expect(table.partitiontable.label).toBe('gpt');
    expect(table.partitiontable.partitions.map((p) => [p.start, p.type])).toEqual([
      [2048, '21686148-6449-6E6F-744E-656564454649'],
      [4096, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'],
      [ROOT_OFFSET / 512, '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709'],
    ]);
    // GRUB for UEFI at the removable-media path; for BIOS, boot.img in the MBR (its signature and
    // the GRUB string) and core.img at the start of the BIOS boot partition.
    expect(await sh('mdir', ['-b', '-i', `${out}@@${4096 * 512}`, '::/EFI/BOOT'])).toMatch(/BOOTX64\.EFI/);
    const head = readFileSync(out).subarray(0, 2048 * 512 + 512);
    expect(head.readUInt16LE(510)).toBe(0xaa55);
    expect(head.subarray(0, 440).includes(Buffer.from('GRUB'))).toBe(true);
    expect(head.readBigUInt64LE(0x5c)).toBe(2048n);
    const root = `${out}?offset=${ROOT_OFFSET}`;
    expect(await sh('e2fsck', ['-fn', root])).toMatch(/clean|files/);
    const super_ = await sh('dumpe2fs', ['-h', root]);
    expect(super_).toMatch(/Filesystem volume name:\s+root/);
    const uuid = /Filesystem UUID:\s+(\S+)/.exec(super_)![1]!;
    // Both GRUB images search for this UUID (core.img is compressed: read in the EFI image).
    expect(await sh('mtype', ['-i', `${out}@@${4096 * 512}`, '::/EFI/BOOT/BOOTX64.EFI'])).toContain(`search --no-floppy --fs-uuid --set=root ${uuid}`);
    const entries = readdirSync(join(s.sysroot, 'boot/loader/entries'));
    expect(entries.length).toBe(2);
    for (const e of entries) {
      const inImage = await sh('debugfs', ['-R', `cat /boot/loader/entries/${e}`, root]);
      expect(inImage).toBe(readFileSync(join(s.sysroot, 'boot/loader/entries', e), 'utf8').replace(/\n$/, ''));
    }
    // A file of a deployment is a hardlink into the repository: the link count is kept.
    const dep = readdirSync(join(s.sysroot, 'ostree/deploy/debian/deploy')).find((n) => /\.\d+$/.test(n))!;
    const local = statSync(join(s.sysroot, 'ostree/deploy/debian/deploy', dep, 'usr/share/apt-ostree/marker')).nlink;
    expect(local).toBeGreaterThan(1);
    const stat = await sh('debugfs', ['-R', `stat /ostree/deploy/debian/deploy/${dep}/usr/share/apt-ostree/marker`, root]);
    expect(stat).toMatch(new RegExp(`Links: ${local}\\b`));
  });

  it('--format qcow2 writes the same disk as a qcow2 image (qemu-img)', async () => {
    const out = join(tmp, 'disk.qcow2');
    const r = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', out, '--size', '256M', '--format', 'qcow2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Wrote .*disk\.qcow2: a GPT disk of 256 MiB \(qcow2\)/);
    const info = JSON.parse(await sh('qemu-img', ['info', '--output=json', out])) as { format: string; 'virtual-size': number };
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 256 * 1024 ** 2 });
    // Back to raw: the same partition table and root file system.
    const raw = join(tmp, 'back.raw');
    await sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', out, raw]);
    expect(JSON.parse(await sh('sfdisk', ['--json', raw])).partitiontable.partitions).toHaveLength(3);
    expect(await sh('e2fsck', ['-fn', `${raw}?offset=${ROOT_OFFSET}`])).toMatch(/clean|files/);
    expect(readdirSync(tmp).filter((n) => n.includes('apt-ostree-'))).toEqual([]);
    const bad = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', join(tmp, 'x.img'), '--format', 'vmdk']);
    expect(bad.code).toBe(1);
    expect(existsSync(join(tmp, 'x.img'))).toBe(false);
  });

  it('removes what an admin image killed with SIGKILL left beside its output, but never the directory of a run still going', async () => {
    const dir = join(tmp, 'killed');
    mkdirSync(dir);
    const temps = () => readdirSync(dir).filter((n) => /^\..*\.apt-ostree-image-/.test(n)).sort();
    const imageArgs = (name: string) => ['admin', 'image', '--sysroot', s.sysroot, '--output', join(dir, name), '--size', '256M'];
    // A run stopped mid-way (SIGSTOP) is still going: its directory is never stale.
    const stopped = startCli(imageArgs('stopped.img'));
    await stopped.waitForOutput(/Writing .* into an ext4 file system/);
    stopped.signal('SIGSTOP');
    const running = temps().find((n) => n.startsWith('.stopped.img.'));
    expect(running).toBeDefined();
    // Killed while mkfs.ext4 writes the disk: its directory (the disk in it) stays.
    const killed = startCli(imageArgs('killed.img'));
    await killed.waitForOutput(/Writing .* into an ext4 file system/);
    killed.signal('SIGKILL');
    await killed.result;
    expect(killed.output()).not.toMatch(/removing/);
    const left = join(dir, temps().find((n) => n.startsWith('.killed.img.'))!);
    expect(statSync(join(left, 'disk')).size).toBe(256 * 1024 ** 2);
    try {
      const next = await cli(imageArgs('next.img'));
      expect(next.code, next.stderr).toBe(0);
      expect(next.stdout + next.stderr).toContain(`removing ${left}, the temporary files of an admin image that was killed`);
      expect(existsSync(left)).toBe(false);
      expect(temps()).toEqual([running]);
    } finally {
      stopped.signal('SIGCONT');
    }
    const done = await stopped.result;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout + done.stderr).not.toMatch(/removing/);
    expect(temps()).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['next.img', 'stopped.img']);
  });

  it('refuses an existing output unless --force, and replaces it with --force', async () => {
    const out = join(tmp, 'existing.img');
    writeFileSync(out, 'keep me');
    const r = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', out, '--size', '256M']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already exists/);
    expect(r.stderr).toMatch(/--force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const f = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', out, '--size', '256M', '--force']);
    expect(f.code, f.stderr).toBe(0);
    expect(statSync(out).size).toBe(256 * 1024 ** 2);
  });

  it('refuses bad input before doing anything, and leaves no file when mkfs fails', async () => {
    const notSysroot = join(tmp, 'plain');
    mkdirSync(notSysroot, { recursive: true });
    const a = await cli(['admin', 'image', '--sysroot', notSysroot, '--output', join(tmp, 'a.img')]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/not an OSTree sysroot/);
    const b = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', join(tmp, 'b.img'), '--size', 'lots']);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/'lots' is not a size/);
    const c = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', join(s.sysroot, 'c.img')]);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/inside the sysroot/);
    const d = await cli(['admin', 'image', '--sysroot', s.sysroot]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/needs --output/);
    // Too small for the content: refused before mkfs runs.
    const e = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', join(tmp, 'e.img'), '--size', '16M']);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/too small/);
    for (const n of ['a.img', 'b.img', 'e.img']) expect(existsSync(join(tmp, n))).toBe(false);
    expect(readdirSync(tmp).filter((n) => n.includes('apt-ostree-'))).toEqual([]);
  });
});
