/**
 * The tools that write a disk image inside a plain file (image/disk.ts, image/grub.ts): sfdisk,
 * mkfs.ext4, mkfs.vfat, mtools, qemu-img and grub-mkimage. None needs a loop device or a mount.
 */
import { run, type RunOptions } from './run.js';

type StepOptions = Pick<RunOptions, 'signal' | 'what' | 'hint'>;

/** `sfdisk --quiet --no-reread --no-tell-kernel DISK` with TABLE (sfdisk's script format) as its input. */
export async function writePartitionTable(disk: string, table: string, opts: StepOptions = {}): Promise<void> {
  await run('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', disk], { ...opts, input: table });
}

export interface Ext4FromDirectory {
  /** The file holding the disk. */
  disk: string;
  /** Where the file system starts in it, in bytes. */
  offsetBytes: number;
  sizeBytes: number;
  label: string;
  uuid: string;
  /** The directory copied into the new file system (`mkfs.ext4 -d`, hardlinks kept). */
  content: string;
}

/** `mkfs.ext4 -d`: an ext4 file system at an offset in DISK, filled with a directory's content. */
export async function makeExt4FromDirectory(fs: Ext4FromDirectory, opts: StepOptions = {}): Promise<void> {
  await run('mkfs.ext4', ['-q', '-F', '-L', fs.label, '-U', fs.uuid, '-E', `offset=${fs.offsetBytes}`, '-d', fs.content, fs.disk, `${fs.sizeBytes / 1024}k`], opts);
}

/** `mkfs.vfat -F 32`: a FAT32 file system labelled LABEL at sector START of DISK, of SECTORS 512-byte sectors. */
export async function makeFat32(disk: string, fs: { startSector: number; sectors: number; label: string }, opts: StepOptions = {}): Promise<void> {
  await run('mkfs.vfat', ['-F', '32', '-s', '1', '-n', fs.label, '--offset', String(fs.startSector), disk, String(fs.sectors / 2)], opts);
}

/** mtools' name of a FAT file system at a byte offset in a disk file (`DISK@@OFFSET`). */
export function fatImageAt(disk: string, offsetBytes: number): string {
  return `${disk}@@${offsetBytes}`;
}

/** `mmd -i IMAGE DIR…`: directories (`::/EFI`) made in a FAT file system, in order. */
export async function fatMakeDirectories(image: string, dirs: readonly string[], opts: StepOptions = {}): Promise<void> {
  await run('mmd', ['-i', image, ...dirs], opts);
}

/** `mcopy -i IMAGE FILE TARGET`: a host file copied into a FAT file system (TARGET like `::/EFI/BOOT/BOOTX64.EFI`). */
export async function fatCopyIn(image: string, file: string, target: string, opts: StepOptions = {}): Promise<void> {
  await run('mcopy', ['-i', image, file, target], opts);
}

/** `qemu-img convert -f raw -O qcow2 RAW OUT`. */
export async function convertRawToQcow2(raw: string, out: string, opts: StepOptions = {}): Promise<void> {
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, out], opts);
}

export interface GrubImageSpec {
  /** GRUB's platform: `x86_64-efi` (BOOTX64.EFI) or `i386-pc` (core.img). */
  format: 'x86_64-efi' | 'i386-pc';
  /** The directory of the platform's modules. */
  moduleDir: string;
  /** Where GRUB looks for its files once started (`-p`). */
  prefix: string;
  /** The configuration built into the image (`-c`). */
  config: string;
  output: string;
  modules: readonly string[];
}

/** `grub-mkimage`: a self-contained GRUB image with MODULES built in. */
export async function makeGrubImage(spec: GrubImageSpec, opts: StepOptions = {}): Promise<void> {
  await run('grub-mkimage', ['-O', spec.format, '-d', spec.moduleDir, '-p', spec.prefix, '-c', spec.config, '-o', spec.output, ...spec.modules], opts);
}
