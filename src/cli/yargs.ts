/**
 * Help: the yargs command tree, built from the specs in spec.ts, for `--help`, `--version`, a
 * command line without a command and a command group without its subcommand. yargs runs no
 * command: parser.ts's parseCommandLine parses every command line that does, and hands the others
 * here (test/unit/cli/parser.test.ts checks both, for every command and option).
 */
import { readFileSync } from 'node:fs';
import yargs, { type Argv, type Options } from 'yargs';
import { InputError } from '../errors.js';
import { GLOBAL_OPTIONS } from './options.js';
import { COMMANDS, type CommandSpec, type OptionSpec } from './spec.js';

export const FEATURES = ['compose', 'layering', 'overlay-transaction', 'dbus-compat', 'sysusers'];

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

export function versionText(): string {
  return [`apt-ostree:`, ` Version: '${packageVersion()}'`, ` Features:`, ...FEATURES.map((f) => `  - ${f}`)].join('\n');
}

export function toYargsOption(o: OptionSpec): Options {
  const opt: Options = { describe: o.describe, alias: o.alias };
  if (o.type === 'array') {
    opt.type = 'string';
    opt.array = true;
  } else opt.type = o.type;
  if (o.default !== undefined) opt.default = o.default;
  if (o.choices) opt.choices = o.choices;
  if (o.type !== 'boolean') opt.requiresArg = true;
  return opt;
}

function commandString(spec: CommandSpec): string {
  const pos = (spec.positionals ?? []).map((p) => {
    const inner = `${p.name}${p.variadic ? '..' : ''}`;
    return p.required ? `<${inner}>` : `[${inner}]`;
  });
  return [spec.name, ...pos].join(' ');
}

function addCommand(y: Argv, spec: CommandSpec, prefix: string): Argv {
  const path = `${prefix}${spec.name}`;
  return y.command(
    [commandString(spec), ...(spec.aliases ?? [])],
    spec.describe,
    (b: Argv) => {
      for (const o of spec.options ?? []) b.option(o.name, toYargsOption(o));
      for (const p of spec.positionals ?? []) b.positional(p.name, { describe: p.describe, type: 'string', array: p.variadic });
      for (const [cmd, desc] of spec.examples ?? []) b.example(cmd, desc);
      if (spec.subcommands) {
        for (const sub of spec.subcommands) addCommand(b, sub, `${path} `);
        b.demandCommand(1, `apt-ostree ${path} needs a subcommand: ${spec.subcommands.map((s) => s.name).join(', ')}.`);
      }
      return b;
    },
    spec.subcommands
      ? undefined
      : () => {
          throw new YargsRanCommand(path);
        },
  );
}

/** Thrown if yargs ever got to run a command: parseCommandLine should have parsed the command line. */
export class YargsRanCommand extends Error {
  constructor(readonly path: string) {
    super(`Internal error: the command line of '${path}' reached the help parser instead of parseCommandLine.`);
    this.name = 'YargsRanCommand';
  }
}

/** Show help (or the version), or say what is missing; the exit status. */
export async function runYargs(args: string[]): Promise<number> {
  let y: Argv = yargs(args)
    .scriptName('apt-ostree')
    .usage('Usage: apt-ostree <command> [options]\n\nImage-based Debian with OSTree: atomic upgrades, rollback and apt package layering.')
    .version(false)
    .option('version', { type: 'boolean', global: false, describe: 'Print the version and the built-in features' })
    .strict()
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .help('help')
    .alias('help', 'h')
    .epilog('Exit status: 0 success, 1 error, 77 nothing changed (with --unchanged-exit-77).\nSee apt-ostree(8).')
    .fail((msg, err) => {
      // yargs' own complaints come as a YError; anything else (YargsRanCommand) is ours.
      if (err && err.name !== 'YError') throw err;
      throw usageError(msg ?? err?.message ?? 'Invalid command line.', args);
    });
  for (const o of GLOBAL_OPTIONS) y = y.option(o.name, { ...toYargsOption(o), global: true });
  for (const spec of COMMANDS) y = addCommand(y, spec, '');
  const parsed = await y.parseAsync();
  if (parsed.version) {
    process.stdout.write(versionText() + '\n');
    return 0;
  }
  if (!parsed._.length) {
    y.showHelp();
    throw new InputError('No command given.', 'Run `apt-ostree --help` for the list of commands.');
  }
  return 0;
}

/**
 * yargs' usage messages in the words parser.ts uses for the same mistakes ("unknown option
 * --bogus", "--append needs a value"), so that a bad command line reads the same whichever parser
 * saw it.
 */
export function usageError(msg: string, args: string[]): InputError {
  const hint = 'Run `apt-ostree --help` for the commands and options.';
  const unknown = /^Unknown arguments?: (.*)$/s.exec(msg);
  if (unknown) {
    const names = unknown[1]!.split(', ').filter((n, _, all) => !(/[A-Z]/.test(n) && all.includes(n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))));
    const flag = (n: string) => (n.length === 1 ? `-${n}` : `--${n}`);
    const option = names.find((n) => args.some((a) => a === flag(n) || a.startsWith(`${flag(n)}=`) || (n.length === 1 && /^-[^-]/.test(a) && a.includes(n))));
    if (option !== undefined) return new InputError(`unknown option ${flag(option)}.`, hint);
    return new InputError(`unknown command '${names[0]}'.`, 'Run `apt-ostree --help` for the list of commands.');
  }
  const missing = /^Not enough arguments following: (.*)$/.exec(msg);
  if (missing) return new InputError(`${missing[1]!.length === 1 ? '-' : '--'}${missing[1]} needs a value.`, hint);
  const choice = /Argument: (\S+), Given: (.*), Choices: (.*)$/m.exec(msg);
  if (choice) return new InputError(`--${choice[1]} must be one of ${choice[3]!.replace(/"/g, '')}, not ${choice[2]!.replace(/^"(.*)"$/, "'$1'")}.`, hint);
  return new InputError(msg, hint);
}
