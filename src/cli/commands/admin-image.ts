import { resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { DEFAULT_IMAGE_SIZE, describeDiskImage, makeDiskImage, parseSize } from '../../image/disk.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { ADMIN_IMAGE } from '../specs/admin.js';

export async function run(ctx: CommandContext<ArgsOf<typeof ADMIN_IMAGE>>): Promise<number> {
  const { output } = ctx.args;
  if (!output) throw new InputError('admin image needs --output FILE.', 'Usage: apt-ostree admin image --sysroot DIR --output disk.img [--size 4G]');
  const sizeBytes = parseSize(ctx.args.size ?? DEFAULT_IMAGE_SIZE);
  const { withCancellation } = await import('../../image/compose.js');
  const r = await withCancellation(ctx.reporter, (signal) =>
    makeDiskImage({ sysroot: resolve(ctx.sysroot), output, sizeBytes, force: ctx.args.force, label: ctx.args.label, format: ctx.args.format, reporter: ctx.reporter, signal }),
  );
  process.stdout.write(describeDiskImage(r, resolve(ctx.sysroot)));
  return 0;
}
