/**
 * The command line, parsed from the specs (parseCommandLine): the one parser of the arguments a
 * command runs with, which names every bad option or argument itself. yargs only prints help.
 */
import { InputError } from '../errors.js';
import { GLOBAL_OPTIONS } from './options.js';
import { COMMANDS, type CommandSpec, type OptionSpec } from './spec.js';
import { fieldName, type OptionArgs } from './spec-types.js';
import { refusedOption, rpmOstreeCommand } from './specs/rpm-ostree.js';

/** The global options, and the command's options and positionals (what ArgsOf of its spec says), by their field names. */
export type CommandArgs = OptionArgs<typeof GLOBAL_OPTIONS> & Record<string, unknown>;

export interface ParsedCommandLine {
  spec: CommandSpec;
  /** The command's full name, e.g. "compose tree". */
  path: string;
  /**
   * Options and positionals by their field names (fieldName: dry-run → dryRun), typed as
   * spec-types.ts's ArgsOf says: a boolean option not given is false, an array option or a
   * variadic positional not given is empty, another option undefined unless it has a default.
   */
  args: CommandArgs;
}

/**
 * The command line, parsed from the specs. Loading yargs costs more than the rest of a read-only
 * command, so yargs is kept for what only it does: help (--help, --version, no command, a command
 * group without its subcommand), for which this returns undefined. Everything else is parsed
 * here, and a bad command line is an InputError naming what is wrong: "unknown option --bogus",
 * "--append needs a value" (a value is never taken from a word that starts with '-': an option
 * without its value does not swallow the next option), "unknown command", a missing or extra
 * argument. It is the only parser of a command's arguments: yargs only shows help.
 */
export function parseCommandLine(args: string[]): ParsedCommandLine | undefined {
  const end = args.indexOf('--');
  const before = end < 0 ? args : args.slice(0, end);
  const asksHelp = before.some((a) => a === '--help' || a === '-h');
  const asksVersion = before.includes('--version');
  const help = asksHelp || asksVersion;
  const words = leadingPositionals(args, 2);
  const top = findCommand(COMMANDS, words[0]);
  if (!top) {
    if (help) return undefined;
    if (words[0] !== undefined) throw unknownCommand(words[0], COMMANDS, '');
    tokenize(args, GLOBAL_OPTIONS, 'apt-ostree'); // names a bad option before yargs says "No command given"
    return undefined;
  }
  let spec = top;
  const path = [top.name];
  if (top.subcommands) {
    // The subcommand's options may come before it (compose --repo R tree): skip their values too.
    const second = leadingPositionals(args, 2, [...GLOBAL_OPTIONS, ...top.subcommands.flatMap((c) => c.options ?? [])])[1];
    const sub = findCommand(top.subcommands, second);
    if (!sub) {
      if (help) return undefined;
      if (second !== undefined) throw unknownCommand(second, top.subcommands, `${top.name} `);
      return undefined; // yargs: "apt-ostree compose needs a subcommand: tree, commit, publish."
    }
    spec = sub;
    path.push(sub.name);
  }
  // --version is apt-ostree's (yargs prints it), unless the command has an option of that name
  // (compose commit --version 1.0).
  if (asksHelp || (asksVersion && !spec.options?.some((o) => o.name === 'version')) || !spec.load) return undefined;
  const name = `apt-ostree ${path.join(' ')}`;
  const all: OptionSpec[] = [...GLOBAL_OPTIONS, ...(spec.options ?? [])];
  const { values, positionals: wordsAndArgs } = tokenize(args, all, name, (flag) => refusal(path.join(' '), flag, name));
  const positionals = wordsAndArgs.slice(path.length); // after the command words
  const posSpecs = spec.positionals ?? [];
  const usage = `Usage: ${name}${posSpecs.map((p) => ` ${p.required ? '<' : '['}${p.name}${p.variadic ? '..' : ''}${p.required ? '>' : ']'}`).join('')} [options]; see ${name} --help.`;
  if (positionals.length > posSpecs.length && !posSpecs.at(-1)?.variadic) {
    throw new InputError(`unexpected argument '${positionals[posSpecs.length]}' for ${name}.`, usage);
  }
  const argv: Record<string, unknown> = {};
  for (const o of all) {
    let v: unknown = values.get(o);
    if (v === undefined) v = o.default;
    if (v === undefined) {
      argv[fieldName(o.name)] = o.type === 'boolean' ? false : o.type === 'array' ? [] : undefined;
      continue;
    }
    if (o.type === 'number' && typeof v === 'string') {
      const n = Number(v);
      if (v.trim() === '' || Number.isNaN(n)) throw new InputError(`--${o.name} needs a number, not '${v}'.`, `Give it as --${o.name}=${o.valueName ?? 'NUMBER'}.`);
      v = n;
    }
    if (o.choices && !o.choices.includes(String(v))) {
      throw new InputError(`--${o.name} must be one of ${o.choices.join(', ')}, not '${String(v)}'.`, `Give it as --${o.name}=${o.choices[0]}, for example.`);
    }
    argv[fieldName(o.name)] = v;
  }
  for (const [i, p] of posSpecs.entries()) {
    const value = p.variadic ? positionals.slice(i) : positionals[i];
    if (p.required && (value === undefined || (Array.isArray(value) && !value.length))) {
      throw new InputError(p.variadic ? `${name} needs at least one ${p.name.replace(/s$/, '')}.` : `${name} needs its <${p.name}> argument.`, usage);
    }
    argv[fieldName(p.name)] = value;
  }
  return { spec, path: path.join(' '), args: argv as CommandArgs };
}

function findCommand(specs: readonly CommandSpec[], word: string | undefined): CommandSpec | undefined {
  return word === undefined ? undefined : specs.find((c) => c.name === word || c.aliases?.includes(word));
}

/**
 * An option of rpm-ostree's that apt-ostree refuses on this command (specs/rpm-ostree.ts): named,
 * with the reason, instead of "unknown option".
 */
function refusal(path: string, flag: string, command: string): InputError | undefined {
  const r = refusedOption(path, flag);
  if (!r) return undefined;
  return new InputError(
    `${flag} is an rpm-ostree option that apt-ostree does not take: ${r.reason}.`,
    `Run \`${command} --help\` for the options it has; docs/rpm-ostree-compat.md lists what differs from rpm-ostree.`,
  );
}

function unknownCommand(word: string, specs: readonly CommandSpec[], prefix: string): InputError {
  const refused = rpmOstreeCommand(`${prefix}${word}`)?.refused;
  if (refused) {
    return new InputError(`'${prefix}${word}' is an rpm-ostree command that apt-ostree does not have: ${refused}.`, 'Run `apt-ostree --help` for its commands; docs/rpm-ostree-compat.md lists what differs from rpm-ostree.');
  }
  const near = closest(word, specs.flatMap((c) => [c.name, ...(c.aliases ?? [])]));
  return new InputError(
    `unknown command '${prefix}${word}'.`,
    `${near ? `Did you mean \`apt-ostree ${prefix}${near}\`? ` : ''}Run \`apt-ostree ${prefix}--help\` for the list of commands.`,
  );
}

/**
 * Options and positionals of a command line, against the options a command accepts. Long options
 * as --name VALUE or --name=VALUE (--no-NAME for a boolean), short ones as -x VALUE, -xVALUE or
 * grouped (-qv); everything after -- is positional.
 */
export function tokenize(
  args: string[],
  options: readonly OptionSpec[],
  command: string,
  /** What to say about an option that is not in `options`, when there is more to say than "unknown". */
  explainUnknown: (flag: string) => InputError | undefined = () => undefined,
): { values: Map<OptionSpec, unknown>; positionals: string[] } {
  const long = new Map<string, OptionSpec>();
  const short = new Map<string, OptionSpec>();
  for (const o of options) {
    long.set(o.name, o);
    for (const a of o.alias ?? []) (a.length === 1 ? short : long).set(a, o);
  }
  const values = new Map<OptionSpec, unknown>();
  const positionals: string[] = [];
  const set = (o: OptionSpec, v: string | boolean) => {
    if (o.type === 'array') values.set(o, [...((values.get(o) as string[] | undefined) ?? []), v]);
    else values.set(o, v);
  };
  const unknown = (flag: string) => {
    const explained = explainUnknown(flag);
    if (explained) return explained;
    const near = closest(flag.replace(/^--?/, ''), [...long.keys()]);
    return new InputError(`unknown option ${flag}.`, `${near ? `Did you mean --${near}? ` : ''}Run \`${command} --help\` for its options.`);
  };
  /** The value of an option that needs one: the next word, unless there is none or it is an option. */
  const valueAfter = (i: number, flag: string, o: OptionSpec): string => {
    const next = args[i + 1];
    if (next === undefined || (next.startsWith('-') && next !== '-')) {
      const v = o.valueName ?? 'VALUE';
      throw new InputError(`${flag} needs a value.`, flag.startsWith('--') ? `Give it as ${flag} ${v}, or as ${flag}=${v} when the value starts with '-'.` : `Give it as ${flag} ${v}, or as ${flag}${v} when the value starts with '-'.`);
    }
    return next;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const inline = eq < 0 ? undefined : a.slice(eq + 1);
      let o = long.get(name);
      let negated = false;
      if (!o && name.startsWith('no-') && long.get(name.slice(3))?.type === 'boolean') {
        o = long.get(name.slice(3));
        negated = true;
      }
      if (!o) throw unknown(`--${name}`);
      if (o.type === 'boolean') {
        if (inline === undefined) set(o, !negated);
        else if (!negated && (inline === 'true' || inline === 'false')) set(o, inline === 'true');
        else throw new InputError(`--${name} takes no value.`, `Give --${name} alone.`);
        continue;
      }
      if (inline !== undefined) set(o, inline);
      else set(o, valueAfter(i++, `--${name}`, o));
      continue;
    }
    if (a.startsWith('-') && a !== '-') {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const o = short.get(c);
        if (!o) {
          // -verbose for --verbose: name the whole word, and the option meant.
          if (long.has(a.slice(1))) throw new InputError(`unknown option ${a}.`, `Did you mean --${a.slice(1)}? Run \`${command} --help\` for its options.`);
          throw explainUnknown(`-${c}`) ?? unknown(j === 1 ? a : `-${c}`);
        }
        if (o.type === 'boolean') {
          set(o, true);
          continue;
        }
        const rest = a.slice(j + 1).replace(/^=/, '');
        if (rest) set(o, rest);
        else set(o, valueAfter(i++, `-${c}`, o));
        break;
      }
      continue;
    }
    positionals.push(a);
  }
  return { values, positionals };
}

/** The candidate nearest to a mistyped word (edit distance at most 2, or a prefix), if any. */
function closest(word: string, candidates: string[]): string | undefined {
  if (word.length < 3) return undefined;
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = c.startsWith(word) ? 1 : editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * --lock-wait takes an optional value: a bare `--lock-wait` (last, or followed by an option or a
 * word that is not a number, such as a package name) means "wait forever". Both parsers would
 * take the next word as its value, so spell it out for them. A value that is not a number of
 * seconds is an error.
 */
export function lockWaitWithValue(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (a === '--lock-wait') {
      const next = args[i + 1];
      if (next !== undefined && isSeconds(next)) {
        out.push(`--lock-wait=${next}`);
        i++;
      } else out.push('--lock-wait=Infinity');
      continue;
    }
    if (a.startsWith('--lock-wait=') && !isSeconds(a.slice('--lock-wait='.length))) {
      throw new InputError(`--lock-wait needs a number of seconds, not '${a.slice('--lock-wait='.length)}'.`, 'Give seconds (--lock-wait=60), or no value to wait as long as it takes.');
    }
    out.push(a);
  }
  return out;
}

function isSeconds(s: string): boolean {
  return /^(\d+(\.\d+)?|Infinity)$/.test(s);
}

/** The first `n` words that are not options (nor values of global options): command, subcommand. */
function leadingPositionals(args: string[], n: number, options: readonly OptionSpec[] = GLOBAL_OPTIONS): string[] {
  const takesValue = new Set(options.filter((o: OptionSpec) => o.type !== 'boolean').flatMap((o) => [`--${o.name}`, ...(o.alias ?? []).map((a) => (a.length === 1 ? `-${a}` : `--${a}`))]));
  const out: string[] = [];
  for (let i = 0; i < args.length && out.length < n; i++) {
    const a = args[i]!;
    if (takesValue.has(a)) {
      i++;
      continue;
    }
    if (a === '--') break;
    if (!a.startsWith('-')) out.push(a);
  }
  return out;
}
