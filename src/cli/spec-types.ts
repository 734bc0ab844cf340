/**
 * The shape of a command's spec: plain data the parser, the man pages and the completions read,
 * and the type of the arguments a command receives, derived from its spec (ArgsOf).
 */
import type { Reporter } from '../output/reporter.js';

export type OptionType = 'boolean' | 'string' | 'number' | 'array';

/**
 * What the shell completions offer for a value or positional: package names from the apt
 * cache, the packages layered on the default deployment, the sysroot's stateroots, files,
 * or directories.
 */
export type CompletionKind = 'available-packages' | 'layered-packages' | 'stateroots' | 'files' | 'directories';

export interface OptionSpec {
  readonly name: string;
  readonly alias?: readonly string[];
  readonly type: OptionType;
  readonly describe: string;
  readonly default?: string | number | boolean;
  readonly choices?: readonly string[];
  /** Shown in help as the value's name, e.g. PATH. */
  readonly valueName?: string;
  /** What shell completion offers for the value (default: directories for PATH/DIR, files for FILE). */
  readonly complete?: CompletionKind;
}

export interface PositionalSpec {
  readonly name: string;
  readonly describe: string;
  readonly variadic?: boolean;
  readonly required?: boolean;
  /** What shell completion offers here (see CompletionKind). */
  readonly complete?: CompletionKind;
}

/** What a command's run() receives: its arguments, typed by its spec, and the shared services. */
export interface CommandContext<A extends object = object> {
  /** The command's full name, e.g. "install" or "compose tree". */
  command: string;
  /** The command's options and positionals (see ArgsOf); the global options are the fields below. */
  args: A;
  /** --sysroot, absolute with its symlinks resolved. */
  sysroot: string;
  /** --os. */
  os?: string;
  quiet: boolean;
  verbose: boolean;
  reporter: Reporter;
}

/** A command's module: run() gets the arguments its spec declares (see ArgsOf). */
export interface CommandModule {
  // A method, so that a module whose run() takes the arguments of one command fits.
  run(ctx: CommandContext): Promise<number | void>;
}

export interface CommandSpec {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly describe: string;
  readonly positionals?: readonly PositionalSpec[];
  readonly options?: readonly OptionSpec[];
  /** Changes the sysroot: needs root and takes the lock. */
  readonly mutating?: boolean;
  /** Writes files but changes no sysroot (admin image): not to be stopped halfway either. */
  readonly writesFiles?: boolean;
  readonly examples?: ReadonlyArray<readonly [string, string]>;
  readonly subcommands?: readonly CommandSpec[];
  /** The command's module, loaded only when it runs (attached by spec.ts; undefined for a group). */
  readonly load?: () => Promise<CommandModule>;
}

// ---------------------------------------------------------------------------------------------
// The arguments of a command, as a type derived from its spec. Specs are declared
// `as const satisfies CommandSpec`, so that their option names and types are known here: a
// command reads `ctx.args.dryRun`, and a misspelt or missing option is a compile error.

/** An option's or positional's name as a field: dry-run → dryRun, unchanged-exit-77 → unchangedExit77. */
export type FieldName<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<FieldName<Tail>>}` : S;

/** The same at run time (parseCommandLine names the fields with it). */
export function fieldName(name: string): string {
  return name.replace(/-(.)/g, (_, c: string) => c.toUpperCase());
}

/** A string option's value: one of its choices, or any string. */
type StringValue<O extends OptionSpec> = O extends { readonly choices: ReadonlyArray<infer C> } ? C : string;

/**
 * An option's value: a boolean is false when not given, an array is empty; a string or a
 * number is undefined when not given, unless the option has a default.
 */
export type OptionValue<O extends OptionSpec> = O['type'] extends 'boolean'
  ? boolean
  : O['type'] extends 'array'
    ? string[]
    : O['type'] extends 'number'
      ? O extends { readonly default: number } ? number : number | undefined
      : O extends { readonly default: string } ? StringValue<O> : StringValue<O> | undefined;

/** A positional's value: the words of a variadic one (maybe none), else the word, undefined when optional and not given. */
export type PositionalValue<P extends PositionalSpec> = P extends { readonly variadic: true } ? string[] : P extends { readonly required: true } ? string : string | undefined;

/** The fields of a list of options. */
export type OptionArgs<Os extends readonly OptionSpec[]> = { readonly [O in Os[number] as FieldName<O['name']>]: OptionValue<O> };

type PositionalArgs<Ps extends readonly PositionalSpec[]> = { readonly [P in Ps[number] as FieldName<P['name']>]: PositionalValue<P> };

/** The arguments of a command: its options and positionals (the global options are in the CommandContext). */
export type ArgsOf<S extends CommandSpec> = (S extends { readonly options: infer Os extends readonly OptionSpec[] } ? OptionArgs<Os> : object) &
  (S extends { readonly positionals: infer Ps extends readonly PositionalSpec[] } ? PositionalArgs<Ps> : object);
