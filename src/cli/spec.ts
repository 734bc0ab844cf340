/**
 * Every command and option of apt-ostree, as plain data. One source for the yargs parser,
 * the fast path of main.ts, the man pages and the shell completions, so that
 * they cannot drift apart. Nothing here imports a library: loading it is free.
 */
import type { CommandContext } from './context.js';
import { INSTALL, UNINSTALL } from './specs/install.js';
import { INFO, REFRESH_MD, SEARCH } from './specs/search.js';
import { INITRAMFS, OVERRIDE, RESET } from './specs/override.js';
import { STATUS } from './specs/status.js';
import { DEPLOY, REBASE, UPGRADE } from './specs/upgrade.js';
import { DB } from './specs/db.js';
import { RELOAD } from './specs/reload.js';
import { ROLLBACK } from './specs/rollback.js';
import { CLEANUP } from './specs/cleanup.js';
import { KARGS } from './specs/kargs.js';
import { COMPOSE } from './specs/compose.js';
import { ADMIN } from './specs/admin.js';
import { USROVERLAY } from './specs/usroverlay.js';

export { GLOBAL_OPTIONS } from './options.js';

export type OptionType = 'boolean' | 'string' | 'number' | 'array';

/**
 * What the shell completions offer for a value or positional: package names from the apt
 * cache, the packages layered on the default deployment, the sysroot's stateroots, files,
 * or directories.
 */
export type CompletionKind = 'available-packages' | 'layered-packages' | 'stateroots' | 'files' | 'directories';

export interface OptionSpec {
  name: string;
  alias?: string[];
  type: OptionType;
  describe: string;
  default?: unknown;
  choices?: string[];
  /** Shown in help as the value's name, e.g. PATH. */
  valueName?: string;
  /** What shell completion offers for the value (default: directories for PATH/DIR, files for FILE). */
  complete?: CompletionKind;
}

export interface PositionalSpec {
  name: string;
  describe: string;
  variadic?: boolean;
  required?: boolean;
  /** What shell completion offers here (see CompletionKind). */
  complete?: CompletionKind;
}

export interface CommandModule {
  run(ctx: CommandContext): Promise<number | void>;
}

export interface CommandSpec {
  name: string;
  aliases?: string[];
  describe: string;
  positionals?: PositionalSpec[];
  options?: OptionSpec[];
  /** Changes the sysroot: needs root and takes the lock. */
  mutating?: boolean;
  examples?: Array<[string, string]>;
  subcommands?: CommandSpec[];
  load?: () => Promise<CommandModule>;
}

/**
 * The command list. The specs live in specs/, one file per command or group of related
 * commands (specs/install.ts: install and uninstall); add a new one here to register it.
 */
export const COMMANDS: CommandSpec[] = [STATUS, UPGRADE, DEPLOY, REBASE, INSTALL, UNINSTALL, OVERRIDE, RESET, INITRAMFS, SEARCH, INFO, REFRESH_MD, RELOAD, DB, ROLLBACK, CLEANUP, KARGS, USROVERLAY, COMPOSE, ADMIN];

/** All commands and subcommands with their full names ("compose tree"). */
export function flattenCommands(specs: CommandSpec[] = COMMANDS, prefix = ''): Array<{ path: string; spec: CommandSpec }> {
  return specs.flatMap((s) => {
    const path = `${prefix}${s.name}`;
    return [{ path, spec: s }, ...(s.subcommands ? flattenCommands(s.subcommands, `${path} `) : [])];
  });
}
