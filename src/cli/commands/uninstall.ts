import { InputError } from '../../errors.js';
import { bool, strs, type CommandContext } from '../context.js';
import { runLayerChange } from './package-change-common.js';

export async function run(ctx: CommandContext): Promise<number> {
  const packages = strs(ctx.argv, 'packages');
  const all = bool(ctx.argv, 'all');
  if (!packages.length && !all) throw new InputError('uninstall needs the names of layered packages, or --all.', 'See the layered packages with `apt-ostree status`.');
  return runLayerChange(ctx, { install: strs(ctx.argv, 'install'), uninstall: packages, uninstallAll: all });
}
