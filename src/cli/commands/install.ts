import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { INSTALL } from '../specs/install.js';
import { runLayerChange } from './package-change-common.js';

export async function run(ctx: CommandContext<ArgsOf<typeof INSTALL>>): Promise<number> {
  return runLayerChange(ctx, { install: ctx.args.packages, uninstall: ctx.args.uninstall });
}
