/**
 * `admin image`: a raw disk image (one ext4 file system, no partition table) holding a sysroot,
 * made with `mkfs.ext4 -d`, which copies a directory into the new file system: no loop device,
 * no mount, hardlinks between deployments and the repository kept. The sysroot is only read.
 *
 * The image is written to a temporary file beside OUTPUT and renamed at the end, so a failed or
 * cancelled run leaves no half-written image (and an existing OUTPUT, with --force, untouched).
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AptOstreeError, InputError } from '../errors.js';
import { readLockOwner, sysrootLockHeld } from '../engine/transaction/lock-owner.js';
import type { Reporter } from '../output/reporter.js';
import { run } from '../system/run.js';

export const DEFAULT_IMAGE_SIZE = '4G';

/** Bytes of a size like 4G, 512M, 1.5G, 100000000 (K, M, G, T are powers of 1024). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m) throw new InputError(`'${text}' is not a size.`, 'Give a size like 4G, 512M or a number of bytes.');
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  const bytes = Math.floor(Number(m[1]) * unit);
  // ext4 with a journal needs a few MB; below that mkfs.ext4 refuses with an unclear message.
  if (bytes < 16 * 1024 ** 2) throw new InputError(`The size ${text} is too small for a disk image.`, 'Give at least 16M (a sysroot with a bootable image needs about 1G).');
  return bytes - (bytes % 4096);
}

export interface DiskImageOptions {
  sysroot: string;
  output: string;
  sizeBytes: number;
  force: boolean;
  /** ext4 volume label (mkfs.ext4 -L), at most 16 bytes. */
  label?: string;
  reporter: Reporter;
  signal?: AbortSignal;
}

export interface DiskImageResult {
  output: string;
  sizeBytes: number;
  /** Bytes of the sysroot's files (hardlinks counted once), as du sees them. */
  contentBytes: number;
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
  const du = await run('du', ['-s', '-B1', '-x', '--', sysroot], { signal: o.signal, what: `measuring ${o.sysroot}` });
  const contentBytes = Number(du.stdout.split(/\s/)[0]);
  // ext4 metadata (inode tables, journal) takes about 5% plus a fixed part.
  if (Number.isFinite(contentBytes) && contentBytes * 1.1 + 64 * 1024 ** 2 > o.sizeBytes) {
    throw new InputError(`The sysroot holds ${mib(contentBytes)}; an image of ${mib(o.sizeBytes)} is too small for it.`, `Give a larger --size (at least ${Math.ceil((contentBytes * 1.1 + 64 * 1024 ** 2) / 1024 ** 3)}G).`);
  }
  const tmp = join(dirname(output), `.${basename(output)}.apt-ostree-${process.pid}`);
  rmSync(tmp, { force: true });
  try {
    await run('truncate', ['-s', String(o.sizeBytes), '--', tmp], { signal: o.signal, what: `creating ${o.output}` });
    await o.reporter.task(`Writing ${mib(contentBytes)} into an ext4 image of ${mib(o.sizeBytes)}`, () =>
      run('mkfs.ext4', ['-q', '-F', ...(o.label ? ['-L', o.label] : []), '-d', sysroot, tmp], {
        signal: o.signal,
        what: 'mkfs.ext4 -d (copying the sysroot into the image)',
        hint: 'The output of mkfs.ext4 is shown above; a larger --size helps when it ran out of space.',
      }),
    );
    busy();
    renameSync(tmp, output);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return { output, sizeBytes: o.sizeBytes, contentBytes };
}

function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}
