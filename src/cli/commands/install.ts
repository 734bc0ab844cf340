import { strs, type CommandContext } from '../context.js';
import { runLayerChange } from './package-change-common.js';

export async function run(ctx: CommandContext): Promise<number> {
  return runLayerChange(ctx, { install: strs(ctx.argv, 'packages'), uninstall: strs(ctx.argv, 'uninstall') });
}
