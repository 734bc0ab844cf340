/**
 * Every command and option of apt-ostree, as plain data. One source for the yargs parser,
 * the fast path of main.ts, the man pages and the shell completions, so that
 * they cannot drift apart. Nothing here imports a library: loading it is free.
 */
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

export type { CommandModule, CommandSpec, CompletionKind, OptionSpec, OptionType, PositionalSpec } from './spec-types.js';
import type { CommandSpec } from './spec-types.js';

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
