/** What commands share: the transaction options, --reboot, the command's title, the sysroot path. */
import { realpathSync } from 'node:fs';
import { InputError } from '../errors.js';
import { basename, dirname, join, resolve } from 'node:path';
import type { OperationOptions } from '../engine/transaction/transaction.js';
import { isRunningSystem } from '../engine/deployments/running-system.js';
import type { LOCK_OPTIONS, REBOOT } from './options.js';
import type { CommandContext, OptionArgs } from './spec-types.js';

export type { CommandContext } from './spec-types.js';

/**
 * The arguments of a command with the LOCK_OPTIONS (--lock-wait), which every transaction takes,
 * and --lock-finalization where the command has it.
 */
export type LockArgs = OptionArgs<typeof LOCK_OPTIONS> & { readonly lockFinalization?: boolean };

/** The arguments of a command with -r/--reboot. */
export type RebootArgs = OptionArgs<[typeof REBOOT]>;

/** The command line as typed, for the lock owner file ("locked by '…'"). */
export function commandLine(): string {
  return ['apt-ostree', ...process.argv.slice(2)].join(' ');
}

/**
 * What every transaction of a command is given: the sysroot and stateroot, the command line
 * for the lock owner, the title (undefined: the command line), the reporter and --lock-wait
 * (seconds, Infinity when given without a value; undefined: fail at once).
 */
export function transactionOptions(ctx: CommandContext<LockArgs>, title?: string): OperationOptions {
  const lockFinalization = ctx.args.lockFinalization === true;
  // Refused before any work (deployNew would refuse it too, after the build): only the running
  // system stages a deployment that can wait for finalize-deployment.
  if (lockFinalization && !isRunningSystem(ctx.sysroot)) {
    throw new InputError(
      `--lock-finalization applies to a deployment staged on the running system; ${ctx.sysroot} is not the running system, where a new deployment goes into the boot configuration at once.`,
      'Leave out --lock-finalization for a sysroot directory, or run the command on the booted system.',
    );
  }
  return { sysrootPath: ctx.sysroot, os: ctx.os, command: commandLine(), title, reporter: ctx.reporter, lockWaitSeconds: ctx.args.lockWait, lockFinalization };
}

/** -r/--reboot: reboot into the new default, only when the sysroot is the running system. */
export async function rebootIfAsked(ctx: CommandContext<RebootArgs>): Promise<void> {
  if (!ctx.args.reboot) return;
  const [{ maybeReboot }, { openSysroot }] = await Promise.all([import('../engine/deployments/reboot.js'), import('../engine/deployments/sysroot.js')]);
  await maybeReboot(ctx, openSysroot(ctx.sysroot));
}

/** A short title for the transaction, as rpm-ostree shows it ("install htop"). */
export function commandTitle(ctx: CommandContext): string {
  const words = ctx.command.split(' ');
  const argv = process.argv.slice(2);
  const at = argv.indexOf(words.at(-1)!);
  const rest = at >= 0 ? argv.slice(at + 1).filter((a) => !a.startsWith('-')) : [];
  return [ctx.command, ...rest].join(' ');
}

/**
 * --sysroot as an absolute path with every symlink resolved, once, before any work: the path
 * ends up in files other programs read (apt's configuration, origins), and is compared with
 * the kernel's view (/proc/self/mounts, /proc/locks), which knows only real paths. A sysroot
 * reached through a symlink (as /ostree is on a booted system) is then the same everywhere.
 * A path that does not exist yet (admin provision creates it) keeps its missing tail.
 */
export function resolveSysrootPath(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(resolveSysrootPath(parent), basename(abs));
  }
}

/** --refresh fetches the package lists, which --cache-only forbids: refused before the lock. */
export function refuseRefreshWithCacheOnly(args: { readonly refresh?: boolean; readonly cacheOnly?: boolean }): void {
  if (args.refresh && args.cacheOnly) {
    throw new InputError('--refresh downloads the package lists, and --cache-only forbids any download.', 'Give one of them, not both.');
  }
}
