import { InputError } from '../../errors.js';
import { packageNameProblem, parsePackageArguments } from '../../debian/names.js';
import { withLayerChange } from '../../engine/layering/requests.js';
import { overrideRemove, overrideReplace, overrideReset, resetOrigin, setInitramfs } from '../../engine/layering/overrides.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { INITRAMFS, OVERRIDE_REMOVE, OVERRIDE_REPLACE, OVERRIDE_RESET, RESET } from '../specs/override.js';
import { runDeploymentChange } from './package-change-common.js';

function checkNames(names: string[]): void {
  const bad = names.map((n) => packageNameProblem(n)).filter(Boolean);
  if (bad.length) throw new InputError(`Not package names: ${bad.join('; ')}.`, 'Give the names of packages, such as nano.');
}

export async function runRemove(ctx: CommandContext<ArgsOf<typeof OVERRIDE_REMOVE>>): Promise<number> {
  const names = ctx.args.packages;
  checkNames(names);
  return runDeploymentChange(ctx, (o, { base }) => overrideRemove(o, names, base));
}

export async function runReplace(ctx: CommandContext<ArgsOf<typeof OVERRIDE_REPLACE>>): Promise<number> {
  const { requests, localDebs } = parsePackageArguments(ctx.args.packages);
  const notPinned = requests.filter((r) => !r.version);
  if (notPinned.length) {
    throw new InputError(`override replace needs a version or a .deb file: ${notPinned.map((r) => r.text).join(', ')}.`, 'Write NAME=VERSION (apt-ostree info NAME lists the versions), or give the path of a .deb file.');
  }
  return runDeploymentChange(
    ctx,
    (o, { base, locals }) => overrideReplace(o, requests.map((r) => r.text), locals.map((l) => ({ entry: l.entry, name: l.info.name })), base),
    localDebs,
  );
}

export async function runReset(ctx: CommandContext<ArgsOf<typeof OVERRIDE_RESET>>): Promise<number> {
  const { packages: names, all } = ctx.args;
  if (!names.length && !all) throw new InputError('override reset needs the names of overridden packages, or --all.', 'See the overrides with `apt-ostree status`.');
  checkNames(names);
  return runDeploymentChange(ctx, (o) => overrideReset(o, names, all));
}

export async function runResetAll(ctx: CommandContext<ArgsOf<typeof RESET>>): Promise<number> {
  const { install, overlays, overrides, initramfs } = ctx.args;
  const { requests } = parsePackageArguments(install);
  return runDeploymentChange(ctx, (o, { base }) => {
    const reset = resetOrigin(o, { overlays, overrides, initramfs });
    if (!requests.length) return reset;
    return withLayerChange(reset, { install: requests.map((r) => r.text), uninstall: [], installLocal: [], idempotent: true }, base);
  });
}

export async function runInitramfs(ctx: CommandContext<ArgsOf<typeof INITRAMFS>>): Promise<number> {
  const { enable, disable, arg: args } = ctx.args;
  if (enable && disable) throw new InputError('--enable and --disable exclude each other.', 'Give one of them.');
  if (args.length && !enable) throw new InputError('--arg goes with --enable.', 'Example: apt-ostree initramfs --enable --arg=--add=lvm');
  if (!enable && !disable) {
    // Without a change, say what the default deployment does (read-only).
    const { openSysroot } = await import('../../engine/deployments/sysroot.js');
    const sysroot = openSysroot(ctx.sysroot);
    const d = sysroot.defaultDeployment(sysroot.resolveOs(ctx.os));
    const o = d && sysroot.originOf(d);
    process.stdout.write(o?.regenerateInitramfs ? `Initramfs regeneration: enabled${o.initramfsArgs.length ? ` (arguments: ${o.initramfsArgs.join(' ')})` : ''}\n` : 'Initramfs regeneration: disabled (the image\'s initramfs is used)\n');
    return 0;
  }
  return runDeploymentChange(ctx, (o) => setInitramfs(o, enable, args));
}
