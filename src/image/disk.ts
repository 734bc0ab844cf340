/**
 * `admin image`: a GPT disk image holding a sysroot, that boots from UEFI firmware and from a
 * legacy BIOS, like Debian's own cloud images (docs/layout.md, "The disk"):
 *
 *   1  BIOS boot   1 MiB   GRUB's core.img (BIOS; boot.img is in the protective MBR)
 *   2  EFI system  64 MiB  FAT32 with GRUB at EFI/BOOT/BOOTX64.EFI (UEFI, removable-media path)
 *   3  root        rest    ext4 (label apt-ostree-root unless --label) holding the sysroot
 *
 * Both GRUB images find the root file system by its UUID and read the sysroot's
 * /boot/grub/grub.cfg, the menu ostree's grub2 backend keeps current. Everything is written into
 * the file itself, without a loop device or a mount: sfdisk on the sparse file, `mkfs.ext4 -d`
 * at the root partition's offset (copies the directory, hardlinks kept), `mkfs.vfat --offset`
 * and mtools for the EFI system partition. The sysroot is only read.
 *
 * The image is written to a temporary file beside OUTPUT and renamed at the end, so a failed or
 * cancelled run leaves no half-written image (and an existing OUTPUT, with --force, untouched).
 * What a killed run leaves there is removed by the next run (image-temp.ts).
 */
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { AptOstreeError, InputError } from '../errors.js';
import { readLockOwner, sysrootLockHeld } from '../engine/transaction/lock-owner.js';
import type { Reporter } from '../output/reporter.js';
import { convertRawToQcow2, fatCopyIn, fatImageAt, fatMakeDirectories, makeExt4FromDirectory, makeFat32, writePartitionTable } from '../system/disk-tools.js';
import { createSparseFile, diskUsageBytes } from '../system/files.js';
import { ROOT_LABEL } from '../layout/boot.js';
import { installBiosBoot, makeGrubImages } from './grub.js';
import { makeImageTemp, removeStaleImageTemps } from './image-temp.js';

export const DEFAULT_IMAGE_SIZE = '4G';

const MIB = 1024 ** 2;
// Partition layout in 512-byte sectors, each start aligned to 1 MiB.
const SECTOR = 512;
const BIOS_BOOT = { start: 2048, sectors: 2048 };
const ESP = { start: 4096, sectors: 64 * 2048 };
const ROOT_START = ESP.start + ESP.sectors;
/** Where the root file system starts on the disk, in bytes (e2fsprogs read it as `DISK?offset=N`). */
export const ROOT_OFFSET = ROOT_START * SECTOR;
/** What the disk needs besides the root file system: the first MiB, the BIOS boot and EFI partitions, the backup GPT. */
const OVERHEAD_BYTES = ROOT_START * SECTOR + MIB;
// GPT partition type GUIDs (the Discoverable Partitions Specification's for the x86-64 root).
const TYPE_BIOS_BOOT = '21686148-6449-6E6F-744E-656564454649';
const TYPE_ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const TYPE_ROOT_X86_64 = '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709';

/** Bytes of a size like 4G, 512M, 1.5G, 100000000 (K, M, G, T are powers of 1024). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m) throw new InputError(`'${text}' is not a size.`, 'Give a size like 4G, 512M or a number of bytes.');
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  const bytes = Math.floor(Number(m[1]) * unit);
  // The boot partitions take 66 MiB; ext4 with a journal needs a few more.
  if (bytes < 96 * MIB) throw new InputError(`The size ${text} is too small for a disk image.`, 'Give at least 96M (a sysroot with a bootable image needs about 1G).');
  return bytes - (bytes % MIB);
}

export interface DiskImageOptions {
  sysroot: string;
  output: string;
  sizeBytes: number;
  force: boolean;
  /** raw (default), or qcow2 converted with qemu-img. */
  format?: 'raw' | 'qcow2';
  /** The root file system's label (mkfs.ext4 -L), at most 16 bytes; default ROOT_LABEL. */
  label?: string;
  reporter: Reporter;
  signal?: AbortSignal;
}

export interface DiskImageResult {
  output: string;
  sizeBytes: number;
  /** Bytes of the sysroot's files (hardlinks counted once), as du sees them. */
  contentBytes: number;
  format: 'raw' | 'qcow2';
  /** The root file system's UUID, which the boot loader searches for. */
  rootUuid: string;
  /** The sysroot has no GRUB menu (boot/grub/grub.cfg): the disk's boot loader finds nothing to boot. */
  noBootMenu: boolean;
}

/** Check the arguments before any work: a sysroot made by ostree, a writable place for the image. */
function checkDiskImageArgs(o: Pick<DiskImageOptions, 'sysroot' | 'output' | 'force' | 'label'>): void {
  const sysroot = resolve(o.sysroot);
  if (!existsSync(join(sysroot, 'ostree', 'repo', 'config')) || !existsSync(join(sysroot, 'ostree', 'deploy'))) {
    throw new InputError(`${o.sysroot} is not an OSTree sysroot (no ostree/repo and ostree/deploy in it).`, 'Give a sysroot made by apt-ostree admin provision (--sysroot DIR).');
  }
  checkImageOutput(o);
}

/** The image's own arguments (the sysroot may not exist yet: admin provision --image), FLAG naming the output option. */
export function checkImageOutput(o: Pick<DiskImageOptions, 'sysroot' | 'output' | 'force' | 'label'>, flag = '--output'): void {
  const sysroot = resolve(o.sysroot);
  if (sysroot === '/') throw new InputError('Refusing to make a disk image of the running system (/).', 'Give a sysroot directory made by apt-ostree admin provision.');
  const output = resolve(o.output);
  if (output === sysroot || output.startsWith(`${sysroot}/`)) {
    throw new InputError(`The image ${o.output} would be inside the sysroot it is made from.`, 'Write the image outside the sysroot directory.');
  }
  if (existsSync(output)) {
    if (!o.force) throw new InputError(`${o.output} already exists.`, flag === '--output' ? 'Give another --output, or --force to replace it.' : `Give another ${flag}, or remove the file first.`);
    if (!statSync(output).isFile()) throw new InputError(`${o.output} exists and is not a regular file.`, 'Give the path of a new image file.');
  }
  if (!existsSync(dirname(output))) throw new InputError(`The directory of ${o.output} does not exist.`, `Create it first, or give another ${flag}.`);
  if (o.label !== undefined && (Buffer.byteLength(o.label) > 16 || !/^[A-Za-z0-9._-]+$/.test(o.label))) {
    throw new InputError(`'${o.label}' is not a valid ext4 label.`, 'Use at most 16 letters, digits and . _ -.');
  }
}

export async function makeDiskImage(o: DiskImageOptions): Promise<DiskImageResult> {
  checkDiskImageArgs(o);
  const sysroot = resolve(o.sysroot);
  const output = resolve(o.output);
  // A transaction changing the sysroot while it is copied would give an inconsistent image (and
  // the lock files would be copied into it): refuse while one runs.
  const busy = () => {
    if (sysrootLockHeld(sysroot)) {
      const owner = readLockOwner(sysroot);
      throw new AptOstreeError(`The sysroot ${o.sysroot} is locked by a running transaction${owner ? ` ('${owner.command}', pid ${owner.pid})` : ''}.`, {
        hint: 'Wait for it to finish, then make the image again.',
      });
    }
  };
  busy();
  removeStaleImageTemps(output, (t) => o.reporter.warn(t));
  const contentBytes = await diskUsageBytes(sysroot, { signal: o.signal, what: `measuring ${o.sysroot}` });
  const rootBytes = Math.floor((o.sizeBytes - OVERHEAD_BYTES) / MIB) * MIB;
  // ext4 metadata (inode tables, journal) takes about 5% plus a fixed part.
  if (Number.isFinite(contentBytes) && contentBytes * 1.1 + 64 * MIB > rootBytes) {
    const need = contentBytes * 1.1 + 64 * MIB + OVERHEAD_BYTES;
    throw new InputError(`The sysroot holds ${mib(contentBytes)}; an image of ${mib(o.sizeBytes)} is too small for it.`, `Give a larger --size (at least ${Math.ceil(need / 1024 ** 3)}G).`);
  }
  const label = o.label ?? ROOT_LABEL;
  const rootUuid = randomUUID();
  const temp = makeImageTemp(output);
  const tmp = join(temp.dir, 'disk');
  const work = join(temp.dir, 'work');
  mkdirSync(work);
  const runOpts = { signal: o.signal };
  try {
    await createSparseFile(tmp, o.sizeBytes, { ...runOpts, what: `creating ${o.output}` });
    const table = [
      'label: gpt',
      `start=${BIOS_BOOT.start}, size=${BIOS_BOOT.sectors}, type=${TYPE_BIOS_BOOT}, name="BIOS boot"`,
      `start=${ESP.start}, size=${ESP.sectors}, type=${TYPE_ESP}, name="EFI system"`,
      `start=${ROOT_START}, size=${rootBytes / SECTOR}, type=${TYPE_ROOT_X86_64}, name="root"`,
      '',
    ].join('\n');
    await writePartitionTable(tmp, table, { ...runOpts, what: 'sfdisk (the partition table)', hint: 'Install fdisk (apt-get install fdisk).' });
    await o.reporter.task(`Writing ${mib(contentBytes)} into an ext4 file system of ${mib(rootBytes)}`, () =>
      makeExt4FromDirectory({ disk: tmp, offsetBytes: ROOT_OFFSET, sizeBytes: rootBytes, label, uuid: rootUuid, content: sysroot }, {
        ...runOpts,
        what: 'mkfs.ext4 -d (copying the sysroot into the image)',
        hint: 'The output of mkfs.ext4 is shown above; a larger --size helps when it ran out of space.',
      }),
    );
    await o.reporter.task('Installing GRUB for UEFI and BIOS', async () => {
      const grub = await makeGrubImages(work, rootUuid, runOpts);
      const hint = 'Install dosfstools and mtools (apt-get install dosfstools mtools).';
      await makeFat32(tmp, { startSector: ESP.start, sectors: ESP.sectors, label: 'EFI' }, { ...runOpts, what: 'mkfs.vfat (the EFI system partition)', hint });
      const esp = fatImageAt(tmp, ESP.start * SECTOR);
      await fatMakeDirectories(esp, ['::/EFI', '::/EFI/BOOT'], { ...runOpts, what: 'mmd (the EFI system partition)', hint });
      await fatCopyIn(esp, grub.efi, '::/EFI/BOOT/BOOTX64.EFI', { ...runOpts, what: 'mcopy (GRUB onto the EFI system partition)', hint });
      installBiosBoot(tmp, grub.core, BIOS_BOOT.start, BIOS_BOOT.sectors);
    });
    busy();
    if (o.format === 'qcow2') {
      const raw = join(work, 'disk.raw');
      renameSync(tmp, raw);
      await o.reporter.task('Converting to qcow2', () =>
        convertRawToQcow2(raw, tmp, { ...runOpts, what: 'qemu-img convert (to qcow2)', hint: 'Install qemu-utils (apt-get install qemu-utils).' }),
      );
    }
    renameSync(tmp, output);
  } finally {
    temp.remove();
  }
  const noBootMenu = !existsSync(join(sysroot, 'boot', 'grub', 'grub.cfg'));
  return { output, sizeBytes: o.sizeBytes, contentBytes, rootUuid, noBootMenu, format: o.format ?? 'raw' };
}

/** The closing lines of admin image and provision --image. */
export function describeDiskImage(r: DiskImageResult, sysroot: string): string {
  let text = `Wrote ${r.output}: a GPT disk of ${Math.round(r.sizeBytes / MIB)} MiB${r.format === 'qcow2' ? ' (qcow2)' : ''} holding the sysroot ${sysroot}, booting from UEFI or BIOS firmware through GRUB.\n`;
  if (r.noBootMenu) text += `Warning: ${sysroot} has no GRUB menu (boot/grub/grub.cfg), so GRUB on this disk finds nothing to boot; a sysroot made by apt-ostree admin provision has one.\n`;
  return text;
}

function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}
