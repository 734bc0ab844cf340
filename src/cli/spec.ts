/**
 * Every command and option of apt-ostree, as plain data. One source for the yargs parser,
 * the fast path of read-only commands, the man pages and the shell completions, so that
 * they cannot drift apart. Nothing here imports a library: loading it is free.
 */
import type { CommandContext } from './context.js';

export type OptionType = 'boolean' | 'string' | 'number' | 'array';

export interface OptionSpec {
  name: string;
  alias?: string[];
  type: OptionType;
  describe: string;
  default?: unknown;
  choices?: string[];
  /** Shown in help as the value's name, e.g. PATH. */
  valueName?: string;
}

export interface PositionalSpec {
  name: string;
  describe: string;
  variadic?: boolean;
  required?: boolean;
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
  /** Parsed without loading yargs (read-only commands whose start-up time matters). */
  fast?: boolean;
  examples?: Array<[string, string]>;
  subcommands?: CommandSpec[];
  load?: () => Promise<CommandModule>;
}

export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: 'sysroot', type: 'string', default: '/', valueName: 'PATH', describe: 'Operate on the OSTree sysroot at PATH instead of the running system' },
  { name: 'os', alias: ['stateroot'], type: 'string', valueName: 'NAME', describe: 'Operate on stateroot NAME (default: the booted or default deployment\'s)' },
  { name: 'quiet', alias: ['q'], type: 'boolean', describe: 'Print plain progress lines only, no spinners' },
  { name: 'verbose', alias: ['v'], type: 'boolean', describe: 'Print more detail, and stack traces on errors' },
  { name: 'dbus-compat', type: 'boolean', describe: 'Expose the org.projectatomic.aptostree1 DBus interface while the command runs' },
];

/** Options shared by commands that change the sysroot. */
export const LOCK_OPTIONS: OptionSpec[] = [
  { name: 'lock-wait', type: 'number', valueName: 'SECONDS', describe: 'Wait up to SECONDS for another apt-ostree command to finish instead of failing at once (no value: wait forever)' },
];

export const UNCHANGED_EXIT_77: OptionSpec = {
  name: 'unchanged-exit-77', type: 'boolean', describe: 'Exit with status 77 when nothing changed',
};

export const REBOOT: OptionSpec = { name: 'reboot', alias: ['r'], type: 'boolean', describe: 'Reboot after the operation succeeds' };

const STATUS: CommandSpec = {
  name: 'status',
  describe: 'Show the deployments of the system',
  fast: true,
  options: [
    { name: 'json', type: 'boolean', describe: 'Print the status as JSON (same shape as rpm-ostree status --json)' },
    { name: 'jsonpath', alias: ['J'], type: 'string', valueName: 'EXPR', describe: 'Print the parts of the JSON status that EXPR selects (e.g. $.deployments[0].checksum)' },
    { name: 'booted', alias: ['b'], type: 'boolean', describe: 'Show only the booted deployment' },
  ],
  examples: [
    ['apt-ostree status', 'Show the deployments, default first'],
    ['apt-ostree status --json', 'The same as JSON'],
  ],
  load: () => import('./commands/status.js'),
};

export const COMMANDS: CommandSpec[] = [STATUS];

/** All commands and subcommands with their full names ("compose tree"). */
export function flattenCommands(specs: CommandSpec[] = COMMANDS, prefix = ''): Array<{ path: string; spec: CommandSpec }> {
  return specs.flatMap((s) => {
    const path = `${prefix}${s.name}`;
    return [{ path, spec: s }, ...(s.subcommands ? flattenCommands(s.subcommands, `${path} `) : [])];
  });
}
