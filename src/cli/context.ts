/** What a command's run() receives: parsed options plus the shared services. */
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { OperationOptions } from '../engine/transaction/transaction.js';
import type { Reporter } from '../output/reporter.js';

export interface CommandContext {
  /** The command's full name, e.g. "install" or "compose tree". */
  command: string;
  /** Parsed options and positionals, keyed by their long names. */
  argv: Record<string, unknown>;
  sysroot: string;
  os?: string;
  quiet: boolean;
  verbose: boolean;
  reporter: Reporter;
}

export function str(argv: Record<string, unknown>, key: string): string | undefined {
  const v = argv[key];
  return typeof v === 'string' ? v : v === undefined || v === null ? undefined : String(v);
}

export function strs(argv: Record<string, unknown>, key: string): string[] {
  const v = argv[key];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export function bool(argv: Record<string, unknown>, key: string): boolean {
  return argv[key] === true;
}

/** --lock-wait as seconds (Infinity when given without a value), or undefined: fail at once. */
export function lockWaitOf(argv: Record<string, unknown>): number | undefined {
  const v = argv['lock-wait'];
  return typeof v === 'number' ? v : undefined;
}

/** The command line as typed, for the lock owner file ("locked by '…'"). */
export function commandLine(): string {
  return ['apt-ostree', ...process.argv.slice(2)].join(' ');
}

/**
 * What every transaction of a command is given: the sysroot and stateroot, the command line
 * for the lock owner, the title (undefined: the command line), the reporter and --lock-wait.
 */
export function transactionOptions(ctx: CommandContext, title?: string): OperationOptions {
  return { sysroot: ctx.sysroot, os: ctx.os, command: commandLine(), title, reporter: ctx.reporter, lockWaitSeconds: lockWaitOf(ctx.argv) };
}

/** -r/--reboot: reboot into the new default, only when the sysroot is the running system. */
export async function rebootIfAsked(ctx: CommandContext): Promise<void> {
  if (!bool(ctx.argv, 'reboot')) return;
  const [{ maybeReboot }, { Sysroot }] = await Promise.all([import('../engine/deployments/reboot.js'), import('../engine/deployments/sysroot.js')]);
  await maybeReboot(ctx, Sysroot.load(ctx.sysroot));
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
