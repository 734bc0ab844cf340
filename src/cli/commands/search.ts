import { aptCacheSearch, aptCacheShow } from '../../system/apt.js';
import { requireLists, withDeploymentApt } from '../../engine/layering/apt-lists.js';
import { AptOstreeError, InputError } from '../../errors.js';
import { packageNameProblem } from '../../debian/names.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { INFO, SEARCH } from '../specs/search.js';

export async function run(ctx: CommandContext<ArgsOf<typeof SEARCH>>): Promise<number> {
  const { terms } = ctx.args;
  const out = await withDeploymentApt(ctx.sysroot, ctx.os, { create: false }, async (apt, sysroot, os) => {
    requireLists(apt, sysroot, os);
    return aptCacheSearch(apt, terms, ctx.args.namesOnly);
  });
  if (!out.trim()) {
    process.stdout.write(`No packages match: ${terms.join(' ')}\n`);
    return 1;
  }
  process.stdout.write(out);
  return 0;
}

export async function runInfo(ctx: CommandContext<ArgsOf<typeof INFO>>): Promise<number> {
  const names = ctx.args.packages;
  const bad = names.map((n) => packageNameProblem(n)).filter(Boolean);
  if (bad.length) throw new InputError(`Not a package name: ${bad.join('; ')}.`, 'Give package names such as htop.');
  const out = await withDeploymentApt(ctx.sysroot, ctx.os, { create: false }, async (apt, sysroot, os) => {
    requireLists(apt, sysroot, os);
    try {
      return await aptCacheShow(apt, names);
    } catch (e) {
      throw new AptOstreeError(`No such package in the apt sources: ${names.join(', ')}.`, { hint: 'Search with `apt-ostree search TERM`.', cause: e });
    }
  });
  process.stdout.write(out);
  return 0;
}
