import { InputError } from '../../errors.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { UNINSTALL } from '../specs/install.js';
import { runLayerChange } from './package-change-common.js';

export async function run(ctx: CommandContext<ArgsOf<typeof UNINSTALL>>): Promise<number> {
  const { packages, all } = ctx.args;
  if (!packages.length && !all) throw new InputError('uninstall needs the names of layered packages, or --all.', 'See the layered packages with `apt-ostree status`.');
  return runLayerChange(ctx, { install: ctx.args.install, uninstall: packages, uninstallAll: all });
}
