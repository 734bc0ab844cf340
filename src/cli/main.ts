/**
 * Entry point. Command lines are parsed with node:util's parseArgs (free to load) from the
 * specs; help, and any command line parseArgs does not accept, go through yargs, which owns
 * help and usage errors. Command modules are loaded only
 * when their command runs.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AptOstreeError, EXIT_ERROR, EXIT_OK, InputError } from '../errors.js';
import { plainSink, Reporter } from '../output/reporter.js';
import { resolveSysrootPath, type CommandContext } from './context.js';
import { GLOBAL_OPTIONS } from './options.js';
import { COMMANDS, type CommandSpec, type OptionSpec } from './spec.js';

export async function main(args: string[]): Promise<void> {
  let verbose = args.includes('-v') || args.includes('--verbose');
  let code: number;
  try {
    args = lockWaitWithValue(args);
    const fast = fastParse(args);
    code = fast ? await runCommand(fast.spec, fast.path, fast.argv) : await (await import('./yargs.js')).runYargs(args, runCommand);
  } catch (err) {
    code = reportError(err, verbose);
  }
  process.exitCode = code;
}

/** Run one command: build its context, load its module, return its exit code. */
export async function runCommand(spec: CommandSpec, path: string, argv: Record<string, unknown>): Promise<number> {
  const quiet = argv.quiet === true;
  const verbose = argv.verbose === true;
  let reporter: Reporter;
  if (spec.mutating) {
    reporter = await (await import('../output/reporter.js')).consoleReporter({ quiet, verbose });
  } else {
    reporter = new Reporter();
    reporter.addSink(plainSink({ quiet, verbose, tty: false }));
  }
  const ctx: CommandContext = {
    command: path,
    argv,
    sysroot: resolveSysrootPath(typeof argv.sysroot === 'string' && argv.sysroot ? argv.sysroot : '/'),
    os: typeof argv.os === 'string' ? argv.os : undefined,
    quiet,
    verbose,
    reporter,
  };
  let dbus: { close(): Promise<void> } | undefined;
  if (argv['dbus-compat'] === true) {
    dbus = await (await import('../dbus/compat.js')).startDbusCompat(ctx);
  }
  try {
    const mod = await spec.load!();
    const code = await mod.run(ctx);
    return typeof code === 'number' ? code : EXIT_OK;
  } finally {
    reporter.end();
    await dbus?.close();
  }
}

export function reportError(err: unknown, verbose: boolean): number {
  const out = process.stderr;
  if (err instanceof AptOstreeError) {
    if (err.exitCode === EXIT_OK || err.exitCode === 77) {
      // "Nothing changed" is news, not an error.
      process.stdout.write(`${err.message}\n`);
      return err.exitCode;
    }
    out.write(`error: ${err.message}\n`);
    if (err.detail) out.write(indent(tail(err.detail, verbose ? 200 : 20)) + '\n');
    if (err.hint) out.write(`${err.hint}\n`);
    if (verbose && err.stack) out.write(`${err.stack}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  out.write(`error: ${e?.message ?? String(err)}\n`);
  if (verbose && e?.stack) out.write(`${e.stack}\n`);
  else out.write('This is a bug in apt-ostree; run again with -v for details.\n');
  return EXIT_ERROR;
}

function tail(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return (lines.length > n ? ['…', ...lines.slice(-n)] : lines).join('\n');
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}

/**
 * The fast path: any command whose arguments node:util's parseArgs accepts as they are, with
 * the options its spec declares. Loading yargs costs more than the rest of a read-only command,
 * so yargs is kept for what only it does: help, and the messages for bad command lines.
 * Returns undefined to let yargs handle it.
 */
function fastParse(args: string[]): { spec: CommandSpec; path: string; argv: Record<string, unknown> } | undefined {
  if (args.some((a) => a === '--help' || a === '-h' || a === '--version')) return undefined;
  const words = leadingPositionals(args, 2);
  let spec = COMMANDS.find((c) => c.name === words[0] || c.aliases?.includes(words[0] ?? ''));
  const path = [spec?.name];
  if (spec?.subcommands) {
    spec = spec.subcommands.find((c) => c.name === words[1] || c.aliases?.includes(words[1] ?? ''));
    path.push(spec?.name);
  }
  if (!spec?.load) return undefined;
  const all = [...GLOBAL_OPTIONS, ...(spec.options ?? [])];
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const o of all) {
    const type = o.type === 'boolean' ? 'boolean' : 'string';
    const short = o.alias?.find((a) => a.length === 1);
    options[o.name] = { type, multiple: o.type === 'array', ...(short ? { short } : {}) };
    for (const a of o.alias ?? []) if (a.length > 1) options[a] = { type, multiple: o.type === 'array' };
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch {
    return undefined;
  }
  const positionals = parsed.positionals.slice(path.length);
  const posSpecs = spec.positionals ?? [];
  if (positionals.length > posSpecs.length && !posSpecs.at(-1)?.variadic) return undefined;
  const argv: Record<string, unknown> = {};
  for (const o of all) {
    const values = [parsed.values[o.name], ...(o.alias ?? []).map((a) => parsed.values[a])].filter((x) => x !== undefined);
    let v: unknown = o.type === 'array' ? (values.length ? values.flat() : undefined) : values[0];
    if (v === undefined) v = o.default;
    if (v === undefined) continue;
    if (o.type === 'number') {
      v = Number(v);
      if (Number.isNaN(v)) return undefined;
    }
    if (o.choices && !o.choices.includes(String(v))) return undefined;
    argv[o.name] = v;
  }
  for (const [i, p] of posSpecs.entries()) {
    const value = p.variadic ? positionals.slice(i) : positionals[i];
    if (p.required && (value === undefined || (Array.isArray(value) && !value.length))) return undefined;
    argv[p.name] = value;
  }
  return { spec, path: path.join(' '), argv };
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
function leadingPositionals(args: string[], n: number): string[] {
  const takesValue = new Set(GLOBAL_OPTIONS.filter((o: OptionSpec) => o.type !== 'boolean').flatMap((o) => [`--${o.name}`, ...(o.alias ?? []).map((a) => (a.length === 1 ? `-${a}` : `--${a}`))]));
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
