/**
 * Every command and option of apt-ostree, as plain data. One source for the parser (parser.ts),
 * yargs' help, the man pages and the shell completions, so that they cannot drift apart; and
 * for the type of each command's arguments (ArgsOf in spec-types.ts). Nothing here imports a
 * library: loading it is free.
 */
import { ADMIN, ADMIN_IMAGE, ADMIN_PROVISION } from './specs/admin.js';
import { APPLY_LIVE } from './specs/apply-live.js';
import { CLEANUP } from './specs/cleanup.js';
import { COMPOSE, COMPOSE_COMMIT, COMPOSE_PUBLISH, COMPOSE_TREE } from './specs/compose.js';
import { DB, DB_DIFF, DB_LIST, DB_VERSION } from './specs/db.js';
import { INSTALL, UNINSTALL } from './specs/install.js';
import { HEALTH_CHECK } from './specs/health-check.js';
import { HISTORY } from './specs/history.js';
import { KARGS } from './specs/kargs.js';
import { INITRAMFS, OVERRIDE, OVERRIDE_REMOVE, OVERRIDE_REPLACE, OVERRIDE_RESET, RESET } from './specs/override.js';
import { PIN, UNPIN } from './specs/pin.js';
import { RELOAD } from './specs/reload.js';
import { ROLLBACK } from './specs/rollback.js';
import { INFO, REFRESH_MD, SEARCH } from './specs/search.js';
import { STATUS } from './specs/status.js';
import { DEPLOY, FINALIZE_DEPLOYMENT, REBASE, UPGRADE } from './specs/upgrade.js';
import { USROVERLAY } from './specs/usroverlay.js';
import type { ArgsOf, CommandContext, CommandModule, CommandSpec } from './spec-types.js';

export { GLOBAL_OPTIONS } from './options.js';

export type { ArgsOf, CommandContext, CommandModule, CommandSpec, CompletionKind, OptionSpec, OptionType, PositionalSpec } from './spec-types.js';

/**
 * The command list. The specs live in specs/, one file per command or group of related
 * commands (specs/install.ts: install and uninstall); add a new one here, and its module to
 * MODULES below, to register it.
 */
const SPECS: CommandSpec[] = [STATUS, UPGRADE, DEPLOY, REBASE, FINALIZE_DEPLOYMENT, INSTALL, UNINSTALL, APPLY_LIVE, OVERRIDE, RESET, INITRAMFS, SEARCH, INFO, REFRESH_MD, RELOAD, DB, ROLLBACK, PIN, UNPIN, HISTORY, HEALTH_CHECK, CLEANUP, KARGS, USROVERLAY, COMPOSE, ADMIN];

type Loader = () => Promise<CommandModule>;

/**
 * A command's module, checked against its spec: its run() takes the arguments the spec declares.
 * (The loaders live here, not in the specs, because the command modules import their specs for
 * the type of their arguments.)
 */
function command<S extends CommandSpec>(spec: S, load: () => Promise<{ run: (ctx: CommandContext<ArgsOf<S>>) => Promise<number | void> }>): [CommandSpec, Loader] {
  return [spec, load];
}

/** The module of every command that runs (not of groups such as compose), loaded only when it runs. */
const MODULES = new Map<CommandSpec, Loader>([
  command(STATUS, () => import('./commands/status.js')),
  command(UPGRADE, () => import('./commands/upgrade.js')),
  command(DEPLOY, () => import('./commands/upgrade.js').then((m) => ({ run: m.runDeploy }))),
  command(REBASE, () => import('./commands/upgrade.js').then((m) => ({ run: m.runRebase }))),
  command(FINALIZE_DEPLOYMENT, () => import('./commands/finalize-deployment.js')),
  command(INSTALL, () => import('./commands/install.js')),
  command(UNINSTALL, () => import('./commands/uninstall.js')),
  command(APPLY_LIVE, () => import('./commands/apply-live.js')),
  command(OVERRIDE_REMOVE, () => import('./commands/override.js').then((m) => ({ run: m.runRemove }))),
  command(OVERRIDE_REPLACE, () => import('./commands/override.js').then((m) => ({ run: m.runReplace }))),
  command(OVERRIDE_RESET, () => import('./commands/override.js').then((m) => ({ run: m.runReset }))),
  command(RESET, () => import('./commands/override.js').then((m) => ({ run: m.runResetAll }))),
  command(INITRAMFS, () => import('./commands/override.js').then((m) => ({ run: m.runInitramfs }))),
  command(SEARCH, () => import('./commands/search.js')),
  command(INFO, () => import('./commands/search.js').then((m) => ({ run: m.runInfo }))),
  command(REFRESH_MD, () => import('./commands/refresh-md.js')),
  command(RELOAD, () => import('./commands/reload.js')),
  command(DB_DIFF, () => import('./commands/db-diff.js')),
  command(DB_LIST, () => import('./commands/db-list.js')),
  command(DB_VERSION, () => import('./commands/db-version.js')),
  command(ROLLBACK, () => import('./commands/rollback.js')),
  command(PIN, () => import('./commands/pin.js')),
  command(UNPIN, () => import('./commands/pin.js').then((m) => ({ run: m.runUnpin }))),
  command(HISTORY, () => import('./commands/history.js')),
  command(HEALTH_CHECK, () => import('./commands/health-check.js')),
  command(CLEANUP, () => import('./commands/cleanup.js')),
  command(KARGS, () => import('./commands/kargs.js')),
  command(USROVERLAY, () => import('./commands/usroverlay.js')),
  command(COMPOSE_TREE, () => import('./commands/compose-tree.js')),
  command(COMPOSE_COMMIT, () => import('./commands/compose-commit.js')),
  command(COMPOSE_PUBLISH, () => import('./commands/compose-publish.js')),
  command(ADMIN_PROVISION, () => import('./commands/admin-provision.js')),
  command(ADMIN_IMAGE, () => import('./commands/admin-image.js')),
]);

/** A spec with its module (`load`), and its subcommands' (a command without subcommands must have one). */
function withModule(spec: CommandSpec, path: string): CommandSpec {
  if (spec.subcommands) return { ...spec, subcommands: spec.subcommands.map((s) => withModule(s, `${path} ${s.name}`)) };
  const load = MODULES.get(spec);
  if (!load) throw new Error(`The command '${path}' has no module in spec.ts.`);
  return { ...spec, load };
}

export const COMMANDS: readonly CommandSpec[] = SPECS.map((s) => withModule(s, s.name));

/** All commands and subcommands with their full names ("compose tree"). */
export function flattenCommands(specs: readonly CommandSpec[] = COMMANDS, prefix = ''): Array<{ path: string; spec: CommandSpec }> {
  return specs.flatMap((s) => {
    const path = `${prefix}${s.name}`;
    return [{ path, spec: s }, ...(s.subcommands ? flattenCommands(s.subcommands, `${path} `) : [])];
  });
}
