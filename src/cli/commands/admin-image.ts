import { resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { DEFAULT_IMAGE_SIZE, makeDiskImage, parseSize } from '../../image/disk.js';
import { bool, str, type CommandContext } from '../context.js';

export async function run(ctx: CommandContext): Promise<number> {
  const output = str(ctx.argv, 'output');
  if (!output) throw new InputError('admin image needs --output FILE.', 'Usage: apt-ostree admin image --sysroot DIR --output disk.img [--size 4G]');
  const sizeBytes = parseSize(str(ctx.argv, 'size') ?? DEFAULT_IMAGE_SIZE);
  const { withCancellation } = await import('../../image/compose.js');
  const r = await withCancellation(ctx.reporter, (signal) =>
    makeDiskImage({ sysroot: resolve(ctx.sysroot), output, sizeBytes, force: bool(ctx.argv, 'force'), label: str(ctx.argv, 'label'), reporter: ctx.reporter, signal }),
  );
  process.stdout.write(`Wrote ${r.output}: an ext4 file system of ${Math.round(r.sizeBytes / 1024 ** 2)} MiB holding the sysroot ${resolve(ctx.sysroot)}.\n`);
  return 0;
}
