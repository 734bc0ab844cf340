/**
 * GRUB on a disk image, for both firmwares, without mounting anything or touching the host's
 * /boot: two self-contained GRUB images made with grub-mkimage (every module they need built in,
 * so none is read from a file system), each with the same embedded start-up configuration that
 * finds the root file system by UUID and reads the sysroot's /boot/grub/grub.cfg — the menu that
 * ostree's grub2 backend rewrites on every deployment change (docs/layout.md).
 *
 * - UEFI: EFI/BOOT/BOOTX64.EFI on the EFI system partition (the removable-media path, which
 *   firmware boots with no NVRAM entry).
 * - BIOS: GRUB's boot.img in the protective MBR and core.img in the BIOS boot partition, placed
 *   the way grub-bios-setup places them (its util/setup.c; grub-bios-setup itself insists on
 *   guessing the host device holding its module directory, which fails for a plain image file).
 */
import { openSync, closeSync, readFileSync, readSync, writeFileSync, writeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeGrubImage } from '../system/disk-tools.js';
import type { RunOptions } from '../system/run.js';

/** Where Debian's grub-pc-bin and grub-efi-amd64-bin put GRUB's modules and boot sectors. */
export const GRUB_LIB = '/usr/lib/grub';

/** Modules built into both images: enough to read GPT + ext4 and to run ostree's menu entries. */
const COMMON_MODULES = ['part_gpt', 'part_msdos', 'ext2', 'fat', 'search', 'search_fs_uuid', 'search_label', 'configfile', 'normal', 'linux', 'echo', 'test', 'gzio', 'all_video', 'serial', 'terminal', 'boot', 'ls', 'cat', 'reboot', 'halt', 'sleep', 'loadenv', 'minicmd'];
const EFI_MODULES = [...COMMON_MODULES, 'efi_gop', 'efi_uga'];
const BIOS_MODULES = [...COMMON_MODULES, 'biosdisk'];

/** The start-up configuration of both images: the root file system by UUID, then its menu (no comment lines: GRUB reads an embedded configuration as commands only). */
export function earlyConfig(rootUuid: string): string {
  return [
    `search --no-floppy --fs-uuid --set=root ${rootUuid}`,
    'set prefix=($root)/boot/grub',
    'configfile ($root)/boot/grub/grub.cfg',
    '',
  ].join('\n');
}

export interface GrubImages {
  efi: string;
  core: string;
}

/** Make BOOTX64.EFI and core.img in WORKDIR for the root file system ROOTUUID. */
export async function makeGrubImages(workDir: string, rootUuid: string, runOpts: RunOptions = {}): Promise<GrubImages> {
  const cfg = join(workDir, 'early.cfg');
  writeFileSync(cfg, earlyConfig(rootUuid));
  const efi = join(workDir, 'BOOTX64.EFI');
  const core = join(workDir, 'core.img');
  const hint = 'Install GRUB\'s images for both firmwares: apt-get install grub-efi-amd64-bin grub-pc-bin.';
  await makeGrubImage({ format: 'x86_64-efi', moduleDir: join(GRUB_LIB, 'x86_64-efi'), prefix: '/boot/grub', config: cfg, output: efi, modules: EFI_MODULES }, { ...runOpts, what: 'grub-mkimage (the UEFI boot loader)', hint });
  await makeGrubImage({ format: 'i386-pc', moduleDir: join(GRUB_LIB, 'i386-pc'), prefix: '/boot/grub', config: cfg, output: core, modules: BIOS_MODULES }, { ...runOpts, what: 'grub-mkimage (the BIOS boot loader)', hint });
  return { efi, core };
}

const SECTOR = 512;
// Offsets in boot.img and core.img (GRUB's include/grub/i386/pc/boot.h and offsets.h).
const BOOT_BPB_START = 0x3;
const BOOT_BPB_END = 0x5a;
const BOOT_KERNEL_SECTOR = 0x5c;
const BOOT_DRIVE = 0x64;
const BOOT_DRIVE_CHECK = 0x66;
const BOOT_WINDOWS_NT_MAGIC = 0x1b8;
const BOOT_PART_END = 0x1fe;
const BLOCKLIST_SIZE = 12;
const KERNEL_SEG = 0x800;

/**
 * Install GRUB for BIOS on DISK: core.img into the BIOS boot partition at sector CORESECTOR
 * (at most MAXSECTORS long), boot.img into the MBR keeping the partition table there.
 */
export function installBiosBoot(disk: string, coreImg: string, coreSector: number, maxSectors: number): void {
  const boot = readFileSync(join(GRUB_LIB, 'i386-pc', 'boot.img'));
  if (boot.length !== SECTOR) throw new Error(`${GRUB_LIB}/i386-pc/boot.img is not one sector`);
  const core0 = readFileSync(coreImg);
  const sectors = Math.ceil(core0.length / SECTOR);
  if (sectors > maxSectors) throw new Error(`GRUB's core.img (${sectors} sectors) does not fit the BIOS boot partition (${maxSectors})`);
  const core = Buffer.alloc(sectors * SECTOR);
  core0.copy(core);
  const fd = openSync(disk, 'r+');
  try {
    const mbr = Buffer.alloc(SECTOR);
    readSync(fd, mbr, 0, SECTOR, 0);
    // Keep what the MBR holds besides code: a BPB area and the (protective) partition table.
    mbr.copy(boot, BOOT_BPB_START, BOOT_BPB_START, BOOT_BPB_END);
    mbr.copy(boot, BOOT_WINDOWS_NT_MAGIC, BOOT_WINDOWS_NT_MAGIC, BOOT_PART_END);
    boot.writeBigUInt64LE(BigInt(coreSector), BOOT_KERNEL_SECTOR);
    boot[BOOT_DRIVE] = 0xff; // the drive the BIOS booted from
    boot[BOOT_DRIVE_CHECK] = 0x90; // a hard disk: skip the floppy probe (as setup.c does)
    boot[BOOT_DRIVE_CHECK + 1] = 0x90;
    // The first sector of core.img (diskboot.img) loads the rest from the block list at its end.
    const list = SECTOR - BLOCKLIST_SIZE;
    core.fill(0, list - BLOCKLIST_SIZE, list); // the list's terminator
    core.writeBigUInt64LE(BigInt(coreSector + 1), list);
    core.writeUInt16LE(sectors - 1, list + 8);
    core.writeUInt16LE(KERNEL_SEG + (SECTOR >> 4), list + 10);
    writeSync(fd, core, 0, core.length, coreSector * SECTOR);
    writeSync(fd, boot, 0, SECTOR, 0);
  } finally {
    closeSync(fd);
  }
  if (statSync(disk).size < (coreSector + sectors) * SECTOR) throw new Error(`${disk} is too short for GRUB's core.img`);
}
