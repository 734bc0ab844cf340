/**
 * One parser: parseCommandLine (main.ts) parses every command line that runs a command, for every
 * command and every option of the specs, into the fields ArgsOf (spec-types.ts) gives them; yargs
 * is handed only help, --version and command lines without a (sub)command, and never runs a
 * command. Generated from the specs, so that a new command or option is covered as it is added.
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { lockWaitWithValue, parseCommandLine, type ParsedCommandLine } from '../../../src/cli/parser.js';
import { GLOBAL_OPTIONS } from '../../../src/cli/options.js';
import { flattenCommands, type CommandSpec, type OptionSpec } from '../../../src/cli/spec.js';
import { fieldName } from '../../../src/cli/spec-types.js';
import { runYargs, YargsRanCommand } from '../../../src/cli/yargs.js';
import { InputError } from '../../../src/errors.js';

/** As main() parses: --lock-wait's optional value first. */
function parse(args: string[]): ParsedCommandLine | undefined {
  return parseCommandLine(lockWaitWithValue(args));
}

function parsed(args: string[]): ParsedCommandLine {
  const p = parse(args);
  if (!p) throw new Error(`not parsed: ${args.join(' ')}`);
  return p;
}

const LEAVES = flattenCommands().filter((c) => !c.spec.subcommands);
const GROUPS = flattenCommands().filter((c) => c.spec.subcommands);

/** The command words and one word for each required positional: the shortest command line that runs. */
function minimal(path: string, spec: CommandSpec): string[] {
  return [...path.split(' '), ...(spec.positionals ?? []).filter((p) => p.required).map((p) => `${p.name}-word`)];
}

/** How an option is written: --name, --alias, -a. */
function forms(o: OptionSpec): string[] {
  return [o.name, ...(o.alias ?? [])].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
}

/** A value the option accepts, and what its field then holds. */
function sample(o: OptionSpec, i = 0): { word: string; value: unknown } {
  if (o.type === 'number') return { word: String(i + 3), value: i + 3 };
  if (o.choices) return { word: o.choices.at(-1 - (i % o.choices.length))!, value: o.choices.at(-1 - (i % o.choices.length)) };
  return { word: `value-${i}`, value: `value-${i}` };
}

/** The field of an option that is not given. */
function absent(o: OptionSpec): unknown {
  if (o.default !== undefined) return o.default;
  return o.type === 'boolean' ? false : o.type === 'array' ? [] : undefined;
}

describe.each(LEAVES.map((c) => [c.path, c.spec] as const))('apt-ostree %s', (path, spec) => {
  const options: readonly OptionSpec[] = [...GLOBAL_OPTIONS, ...(spec.options ?? [])];
  const base = minimal(path, spec);

  it('has one field per option and positional, and fills every one', () => {
    const names = [...options.map((o) => fieldName(o.name)), ...(spec.positionals ?? []).map((p) => fieldName(p.name))];
    expect(new Set(names).size, 'two options or positionals with one field name').toBe(names.length);
    const p = parsed(base);
    expect(p.path).toBe(path);
    expect(p.spec.name).toBe(spec.name);
    expect(Object.keys(p.args).sort()).toEqual([...names].sort());
    for (const o of options) expect(p.args[fieldName(o.name)], `--${o.name} not given`).toEqual(absent(o));
  });

  it('reads every option in every form: long, alias, --name=value, short with its value attached', () => {
    for (const o of options) {
      const field = fieldName(o.name);
      for (const f of forms(o)) {
        if (o.type === 'boolean') {
          expect(parsed([...base, f]).args[field], `${path} ${f}`).toBe(true);
          // Global options are taken before the command too.
          expect(parsed([f, ...base]).args[field], `${f} ${path}`).toBe(true);
          continue;
        }
        const a = sample(o, 0);
        const b = sample(o, 1);
        const want = (v: unknown) => (o.type === 'array' ? [v] : v);
        expect(parsed([...base, f, a.word]).args[field], `${path} ${f} ${a.word}`).toEqual(want(a.value));
        // Global options are taken before the command too, and a subcommand's options before the subcommand.
        if (GLOBAL_OPTIONS.some((g) => g.name === o.name)) expect(parsed([f, a.word, ...base]).args[field], `${f} ${a.word} ${path}`).toEqual(want(a.value));
        const [group, sub, ...rest] = base;
        if (spec !== flattenCommands().find((c) => c.path === group)?.spec && path.includes(' ')) {
          expect(parsed([group!, f, a.word, sub!, ...rest]).args[field], `${group} ${f} ${a.word} ${sub}`).toEqual(want(a.value));
        }
        if (f.startsWith('--')) expect(parsed([...base, `${f}=${a.word}`]).args[field], `${path} ${f}=${a.word}`).toEqual(want(a.value));
        else expect(parsed([...base, `${f}${a.word}`]).args[field], `${path} ${f}${a.word}`).toEqual(want(a.value));
        // Given twice: an array collects both, anything else keeps the last.
        expect(parsed([...base, f, a.word, `--${o.name}=${b.word}`]).args[field], `${path} ${f} twice`).toEqual(o.type === 'array' ? [a.value, b.value] : b.value);
      }
      if (o.type === 'boolean') {
        expect(parsed([...base, `--no-${o.name}`]).args[field], `${path} --no-${o.name}`).toBe(false);
        expect(parsed([...base, `--${o.name}=false`]).args[field]).toBe(false);
        expect(parsed([...base, `--${o.name}=true`]).args[field]).toBe(true);
        expect(() => parse([...base, `--${o.name}=yes`])).toThrow(`--${o.name} takes no value.`);
      } else {
        // A value that starts with '-' is given with '=' (it is never taken from the next word).
        if (o.type !== 'number' && !o.choices) expect(parsed([...base, `--${o.name}=-weird`]).args[field]).toEqual(o.type === 'array' ? ['-weird'] : '-weird');
        if (o.name !== 'lock-wait') {
          expect(() => parse([...base, `--${o.name}`]), `${path} --${o.name}`).toThrow(`--${o.name} needs a value.`);
          expect(() => parse([...base, `--${o.name}`, '-weird'])).toThrow(`--${o.name} needs a value.`);
        }
      }
      if (o.choices) expect(() => parse([...base, `--${o.name}=bogus`])).toThrow(`--${o.name} must be one of ${o.choices.join(', ')}, not 'bogus'.`);
      if (o.type === 'number' && o.name !== 'lock-wait') expect(() => parse([...base, `--${o.name}=x`])).toThrow(`--${o.name} needs a number, not 'x'.`);
    }
  });

  it('reads the positionals, and everything after -- as positionals, negative-looking words included', () => {
    const positionals = spec.positionals ?? [];
    const words = positionals.map((p, i) => (p.variadic ? [`${p.name}-a`, `${p.name}-b`] : [`${p.name}-${i}`]));
    const p = parsed([...path.split(' '), ...words.flat()]);
    positionals.forEach((pos, i) => expect(p.args[fieldName(pos.name)]).toEqual(pos.variadic ? words[i] : words[i]![0]));
    const last = positionals.at(-1);
    const after = [...base, '--', '-weird', '--dry-run'];
    if (last?.variadic) {
      const got = parsed(after).args[fieldName(last.name)] as string[];
      expect(got.slice(-2), `${path} -- -weird --dry-run`).toEqual(['-weird', '--dry-run']);
      if (options.some((o) => o.name === 'dry-run')) expect(parsed(after).args.dryRun).toBe(false);
    } else if (!positionals.length) {
      expect(() => parse(after)).toThrow(`unexpected argument '-weird' for apt-ostree ${path}.`);
    }
    if (positionals.some((x) => x.required)) expect(() => parse(path.split(' '))).toThrow(InputError);
  });

  it('names an unknown option', () => {
    expect(() => parse([...base, '--no-such-option'])).toThrow('unknown option --no-such-option.');
  });
});

describe('yargs shows help and runs no command', () => {
  let exit: MockInstance<typeof process.exit>;
  beforeEach(() => {
    // yargs prints help and calls process.exit(0); the output is not what is tested here.
    exit = vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());

  /** What runYargs does with a command line: its exit status, or the error it throws. */
  async function yargsOutcome(args: string[]): Promise<unknown> {
    try {
      return await runYargs(args);
    } catch (e) {
      return e;
    }
  }

  it('gets only the command lines parseCommandLine leaves to it: help, --version, no command, a group without its subcommand', async () => {
    const left = [
      ...flattenCommands().flatMap((c) => [[...c.path.split(' '), '--help'], [...c.path.split(' '), '-h'], ['-q', ...c.path.split(' '), '--help']]),
      ...GROUPS.map((c) => c.path.split(' ')),
      ['--help'],
      ['--version'],
      [],
      ['-q'],
    ];
    for (const args of left) {
      expect(parse(args), args.join(' ')).toBeUndefined();
      const outcome = await yargsOutcome(args);
      expect(outcome, args.join(' ')).not.toBeInstanceOf(YargsRanCommand);
      if (outcome instanceof Error && !outcome.message.startsWith('exit ')) expect(outcome, `${args.join(' ')}: ${outcome.message}`).toBeInstanceOf(InputError);
    }
    expect(exit).toHaveBeenCalled();
    expect(await yargsOutcome(['compose'])).toMatchObject({ message: 'apt-ostree compose needs a subcommand: tree, commit, publish.' });
    expect(await yargsOutcome([])).toMatchObject({ message: 'No command given.' });
    expect(await yargsOutcome(['--version'])).toBe(0);
  });

  it('would refuse to run a command, were one handed to it', async () => {
    expect(await yargsOutcome(['status'])).toBeInstanceOf(YargsRanCommand);
  });
});

describe('the command modules', () => {
  it('every command that runs has one, with a run()', async () => {
    for (const { path, spec } of LEAVES) {
      expect(spec.load, path).toBeTypeOf('function');
      expect((await spec.load!()).run, path).toBeTypeOf('function');
    }
    for (const { path, spec } of GROUPS) expect(spec.load, path).toBeUndefined();
  });
});
