/** The shape of a command's spec: plain data the parser, the man pages and the completions read. */
import type { CommandContext } from './context.js';

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
