/**
 * Man pages and shell completions rendered from the command specs (spec.ts, options.ts) and the
 * configuration schema (config/config.ts): the same data yargs builds --help from, so the
 * documentation cannot drift from the parser. scripts/gen-docs.mjs writes the results into
 * man/ and completions/ on every build. The completions' shell code is not here but in their
 * templates, completions/apt-ostree.bash.in and apt-ostree.zsh.in (where shellcheck reads the
 * bash one), which the tables of the specs are filled into. Nothing here knows individual commands.
 */
import { allowedValues, CONFIG_PATH, CONFIG_SCHEMA, formatValue } from '../config/config.js';
import type { CommandSpec, CompletionKind, OptionSpec, PositionalSpec } from './spec.js';

/** Options yargs adds to every command (see yargs.ts): documented and completed like the others. */
const BUILTIN_OPTIONS: OptionSpec[] = [
  { name: 'help', alias: ['h'], type: 'boolean', describe: 'Show the usage of apt-ostree or of one command, then exit' },
];

/** Options of apt-ostree without a command (yargs.ts). */
const TOP_LEVEL_OPTIONS: OptionSpec[] = [
  { name: 'version', type: 'boolean', describe: 'Print the version and the built-in features, then exit' },
];

/** A command with its full name and the options it inherits from the commands above it (yargs options are global). */
export interface CommandEntry {
  path: string;
  spec: CommandSpec;
  inherited: readonly OptionSpec[];
}

/** Every command and subcommand, in order (as flattenCommands), with the options it inherits. */
function commandEntries(commands: readonly CommandSpec[], prefix = '', inherited: readonly OptionSpec[] = []): CommandEntry[] {
  return commands.flatMap((spec) => {
    const path = `${prefix}${spec.name}`;
    const own = spec.options ?? [];
    const fromAbove = inherited.filter((o) => !own.some((x) => x.name === o.name));
    return [{ path, spec, inherited: fromAbove }, ...commandEntries(spec.subcommands ?? [], `${path} `, [...fromAbove, ...own])];
  });
}

/** How an option is written on the command line: --name, --alias, -a. */
function optionForms(o: OptionSpec): string[] {
  return [o.name, ...(o.alias ?? [])].map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
}

function takesValue(o: OptionSpec): boolean {
  return o.type !== 'boolean';
}

function valueName(o: OptionSpec): string {
  return o.valueName ?? (o.type === 'number' ? 'N' : 'VALUE');
}

function positionalName(p: PositionalSpec): string {
  return p.name.toUpperCase().replace(/_/g, '-');
}

/** What completion offers for an option value or positional, explicit or implied by the value name. */
function completionKind(x: { complete?: CompletionKind; valueName?: string; name: string }): CompletionKind | undefined {
  if (x.complete) return x.complete;
  const hint = (x.valueName ?? x.name).toUpperCase();
  if (/^(PATH|DIR|DIRECTORY|SYSROOT)S?$/.test(hint)) return 'directories';
  if (/^(FILE|MANIFEST|DEB|TARBALL)S?$/.test(hint)) return 'files';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// roff

/**
 * Escape text for roff: backslashes, minus signs (so options copy-paste), anything beyond ASCII.
 * Long paths get break points after their slashes (the pages are not hyphenated).
 */
function esc(text: string): string {
  const s = text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/\S{40,}/g, (token) => token.replace(/\//g, '/\\:'));
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    out += cp > 126 || (cp < 32 && ch !== '\t') ? `\\[u${cp.toString(16).toUpperCase().padStart(4, '0')}]` : ch;
  }
  return out;
}

/** Prose: `code` becomes bold. */
function prose(text: string): string {
  return text
    .split('`')
    .map((part, i) => (i % 2 ? `\\fB${esc(part)}\\fR` : esc(part)))
    .join('');
}

/** A text line that roff will not take for a request. */
function line(text: string): string {
  return /^[.']/.test(text) ? `\\&${text}` : text;
}

function sentence(text: string): string {
  const t = text.trim();
  return /[.!?:]$/.test(t) ? t : `${t}.`;
}

function bold(text: string): string {
  return `\\fB${esc(text)}\\fR`;
}

function italic(text: string): string {
  return `\\fI${esc(text)}\\fR`;
}

/** The tag of an option in a .TP list: `\fB-q\fR, \fB--quiet\fR \fIVALUE\fR`. */
function optionTag(o: OptionSpec): string {
  const forms = optionForms(o).sort((a, b) => Number(b.length === 2) - Number(a.length === 2)).map(bold);
  let tag = forms.join(', ');
  if (takesValue(o)) {
    const value = o.choices ? `{${o.choices.map(bold).join('|')}}` : italic(valueName(o));
    tag += ` ${value}${o.type === 'array' ? '...' : ''}`;
  }
  return tag;
}

function optionBody(o: OptionSpec): string {
  const parts = [sentence(o.describe)];
  if (o.type === 'array' && !/repeat|more than once/i.test(o.describe)) parts.push('May be given more than once.');
  if (o.default !== undefined && o.default !== false) parts.push(`Default: ${String(o.default)}.`);
  return prose(parts.join(' '));
}

function optionList(options: readonly OptionSpec[]): string[] {
  return options.flatMap((o) => ['.TP', line(optionTag(o)), line(optionBody(o))]);
}

function synopsisArgs(spec: CommandSpec): string {
  const parts = [`[${italic('OPTIONS')}]`];
  if (spec.subcommands?.length) parts.push(italic('SUBCOMMAND'));
  for (const p of spec.positionals ?? []) {
    const name = `${italic(positionalName(p))}${p.variadic ? '...' : ''}`;
    parts.push(p.required ? name : `[${name}]`);
  }
  return parts.join(' ');
}

function commandSection(e: CommandEntry): string[] {
  const { spec, path } = e;
  const own = spec.options ?? [];
  const out = [`.SS "apt\\-ostree ${esc(path)}"`];
  out.push(`.B apt\\-ostree ${esc(path)}`, line(synopsisArgs(spec)), '.PP', line(prose(sentence(spec.describe))));
  const notes: string[] = [];
  if (spec.aliases?.length) notes.push(`Also called ${spec.aliases.map(bold).join(', ')}.`);
  if (spec.mutating) notes.push(esc('Changes the system: needs root and takes the sysroot lock; on failure or interruption everything it did is undone.'));
  else if (!spec.subcommands?.length) notes.push(esc('Only reads: any user who can read the sysroot may run it.'));
  if (spec.subcommands?.length) notes.push(`Subcommands: ${spec.subcommands.map((s) => bold(s.name)).join(', ')}.`);
  if (notes.length) out.push('.PP', line(notes.join(' ')));
  if (spec.positionals?.length) {
    out.push('.PP', 'Arguments:');
    for (const p of spec.positionals) {
      const extra = [p.required ? '' : 'Optional.', p.variadic ? 'May be given more than once.' : ''].filter(Boolean).join(' ');
      out.push('.TP', line(`${italic(positionalName(p))}${p.variadic ? '...' : ''}`), line(prose(`${sentence(p.describe)}${extra ? ` ${extra}` : ''}`)));
    }
  }
  if (own.length || e.inherited.length) {
    out.push('.PP', 'Options:');
    out.push(...optionList(own));
    out.push(...optionList(e.inherited));
  }
  if (spec.examples?.length) {
    out.push('.PP', 'Examples:');
    for (const [cmd, what] of spec.examples) out.push('.TP', line(bold(cmd)), line(prose(sentence(what))));
  }
  return out;
}

function section(title: string): string {
  return /\s/.test(title) ? `.SH "${title}"` : `.SH ${title}`;
}

function paragraphs(texts: string[]): string[] {
  return texts.flatMap((t, i) => [...(i ? ['.PP'] : []), line(prose(t))]);
}

function definitionList(items: Array<[string, string]>): string[] {
  return items.flatMap(([tag, text]) => ['.TP', line(tag), line(prose(text))]);
}

const DESCRIPTION = [
  'apt-ostree manages a Debian or Ubuntu system whose operating system is an OSTree commit: an image built once (on a server, or with `apt-ostree compose`) and deployed read-only. `/usr` comes from the image and cannot be changed in place; `/etc` is the administrator\'s and is carried over, merged three-way, into every new deployment; `/var` is shared by all deployments and never touched by updates.',
  'Every change (an upgrade of the image, layered packages, kernel arguments) creates a new deployment beside the running one and makes it the default for the next boot. The running system is not modified; the change takes effect when you reboot. The boot loader lists the deployments, default first, so that the previous one can still be booted.',
  'Layering: packages the image does not contain are installed with apt and dpkg on top of the base commit, into the new deployment. The packages you asked for are recorded in the deployment\'s origin file and installed again on top of every new base image, so upgrades keep them.',
  'Live updates: `apt-ostree apply-live` (or `install --apply-live`) copies the new files of the pending deployment into a transient overlay on the running /usr, as `ostree admin unlock --transient` makes, adds the new defaults of /etc (never changing a file /etc has), creates the users and directories of the new sysusers.d and tmpfiles.d files and reloads systemd, so that layered packages work now. The files are staged beside their place and then renamed into it: a failure (a full disk, a file the running /usr has that the booted commit has not) leaves /usr and /etc as they were. Packages that would be upgraded, downgraded or removed are refused without --allow-replacement. It is off unless Enabled=true and LiveFs=true in apt-ostree.conf(5); it works on the booted system only (not with --sysroot). `status` shows the live commit as LiveCommit (`live-replaced` in --json). The next boot starts the pending deployment normally, without the overlay; until then `rollback` and `cleanup -p` are refused, since the running system already has what the pending deployment brings.',
  'Rollback: the previous deployment stays on disk until it is cleaned up; `apt-ostree rollback` makes it the default again, and choosing it in the boot menu boots it once.',
  'Downloads: base images are pulled with ostree from the remote of the origin, through the static deltas the server publishes where the installed ostree is 2023.7 or later. An older ostree (Debian 12 has 2022.7) downloads a delta and most of the changed objects as well (ostree bug #2053), so there apt-ostree pulls with --disable-static-deltas, which moves fewer bytes; see docs/publishing.md.',
  'There is no daemon. Each command that changes the system must run as root; it takes a lock on the sysroot and runs its whole transaction in its own process. If it fails, or is interrupted with Ctrl-C or SIGTERM, everything it did is undone: the default deployment and its origin stay as they were. Commands that only read (such as `status`) work for any user who can read the sysroot. With `--sysroot DIR` every command works on another sysroot (an image being provisioned, a mounted disk) instead of the running system.',
];

const EXIT_STATUS: Array<[string, string]> = [
  ['\\fB0\\fR', 'Success. Also returned when there was nothing to change, unless --unchanged-exit-77 was given.'],
  ['\\fB1\\fR', 'Failure: bad arguments, options or configuration (found before any work is done), a missing privilege, a busy lock, or a failed step. One sentence says what went wrong and what to do next; with -v the details and a stack trace follow. A failed transaction is undone before apt-ostree exits.'],
  ['\\fB77\\fR', 'Nothing changed, for commands given --unchanged-exit-77 (so scripts can tell "already up to date" from "updated"); for status --pending-exit-77, a deployment other than the booted one will boot next.'],
  ['\\fB130\\fR, \\fB143\\fR', 'Interrupted by SIGINT (Ctrl-C) or SIGTERM. Everything the transaction had done was undone, and the system is as it was before the command started; except for steps that cannot be undone (cleanup removing deployments or pruning), which the message names.'],
  ['\\fB141\\fR', 'The program reading the output stopped (as in `apt-ostree status --json | head -c 100`): apt-ostree stopped quietly, as programs killed by SIGPIPE do. A command that changes the system is not stopped by this: it finishes its transaction without printing and exits with its own status.'],
];

const FILES: Array<[string, string]> = [
  [CONFIG_PATH, 'Configuration, see apt-ostree.conf(5). With --sysroot DIR it is read from the /etc of the default deployment of DIR. `apt-ostree reload` checks it.'],
  ['/ostree/apt-ostree.flock', 'The lock held by a command that changes the sysroot (DIR/ostree/apt-ostree.flock with --sysroot DIR): an flock(2) that every program of the transaction inherits, so the kernel releases it when the last of them ends, however it ends. Beside it, for messages, apt-ostree.lock.owner names the holder\'s process id and command (with the directory apt-ostree.lock, kept for older apt-ostree versions); what a killed run left there is replaced with a warning.'],
  ['/ostree/deploy/OS/deploy/CHECKSUM.SERIAL.origin', 'The origin file of each deployment: the refspec of its base image, the layered packages as requested, base packages removed or replaced. apt-ostree writes a new one with every deployment.'],
  ['/ostree/deploy/OS/var/cache/apt-ostree', 'Downloaded packages and apt state of stateroot OS, kept between transactions and shared by its deployments.'],
  ['/ostree/repo', 'The OSTree repository holding the commits of all deployments.'],
  ['/boot/loader/entries', 'One boot loader entry per deployment; their order is the boot order.'],
  ['/run/ostree-booted', 'Present when the running system was booted from an OSTree deployment.'],
  ['/run/ostree/deployment-state/CHECKSUM.SERIAL/apt-ostree-live.json', 'After apply-live: the commit the running /usr shows (and one whose apply was interrupted), until the reboot. The ref apt-ostree/live-apply keeps that commit in the repository.'],
  ['/etc/apt-ostree/health.d', 'The admin\'s health checks, run after every boot by apt-ostree-health-check.service (`apt-ostree health-check --boot`) and by hand with `apt-ostree health-check`: executables that exit 0 when the system is healthy, and NAME.units files listing systemd units that must be up (waited for up to [Health] CheckTimeout). They run in name order; a file here replaces the one of the same name in /usr/lib/apt-ostree/health.d (the shipped checks), a symlink to /dev/null turns it off. A new deployment that fails them, or never reaches them, is tried [Health] BootTries times, then GRUB boots the previous deployment, which becomes the default again (see apt-ostree.conf(5) and docs/health.md).'],
  ['/ostree/apt-ostree/health.json', 'What the health checks found: the latest checks (each one\'s status and output) and every fallback to a previous deployment (which deployment, which check failed and its output). `apt-ostree status` shows it; the automatic update does not stage a commit that fell back again.'],
  ['/boot/grub/grubenv', 'GRUB\'s environment block: boot_counter and boot_success count the tries of a new deployment (as Fedora\'s greenboot does).'],
];

const ENVIRONMENT: Array<[string, string]> = [
  ['DBUS_SYSTEM_BUS_ADDRESS', 'The system bus that --dbus-compat connects to. sudo removes it from the environment by default; the standard system bus is used then.'],
  ['NO_COLOR', 'When set to a non-empty value, no colour is used.'],
  ['CI', 'When set, progress is printed as plain lines without spinners or colour even on a terminal (as it always is when stderr is not a terminal, e.g. in the journal).'],
];

const SEE_ALSO = ['apt-ostree.conf(5)', 'ostree(1)', 'ostree-admin(1)', 'rpm-ostree(1)', 'apt-get(8)', 'apt-cache(8)', 'dpkg(1)', 'bwrap(1)'];

function seeAlso(pages: string[]): string[] {
  return pages.map((p, i) => {
    const m = /^(.*)\((\w+)\)$/.exec(p)!;
    return `.BR ${esc(m[1]!)} (${m[2]})${i < pages.length - 1 ? ',' : ''}`;
  });
}

function header(name: string, sectionNo: number, version: string, manual: string): string[] {
  return [
    `.\\" Generated by scripts/gen-docs.mjs from the command specs (src/cli/spec.ts); do not edit.`,
    `.TH ${esc(name.toUpperCase())} ${sectionNo} "" "apt\\-ostree ${esc(version)}" "${manual}"`,
    // No hyphenation, ragged right: commands and paths must stay copyable.
    '.nh',
    '.ad l',
  ];
}

/** apt-ostree(8). */
export function renderManPage(commands: readonly CommandSpec[], globals: readonly OptionSpec[], version: string): string {
  const entries = commandEntries(commands);
  const out: string[] = [...header('apt-ostree', 8, version, 'System Administration')];
  out.push(section('NAME'), line(esc('apt-ostree - image-based Debian with OSTree: atomic upgrades, rollback and apt package layering')));
  out.push(section('SYNOPSIS'), '.B apt\\-ostree', line(`[${italic('GLOBAL OPTIONS')}] ${italic('COMMAND')} [${italic('OPTIONS')}] [${italic('ARGUMENTS')}]`));
  out.push('.br', '.B apt\\-ostree', line(`${bold('--help')} | ${bold('--version')}`));
  out.push(section('DESCRIPTION'), ...paragraphs(DESCRIPTION));
  out.push(section('COMMANDS'), line(prose('Global options may be given before or after the command. `apt-ostree COMMAND --help` shows the same as this section.')));
  for (const e of entries) out.push(...commandSection(e));
  out.push(section('OPTIONS'), line(esc('Without a command, apt-ostree takes the global options and:')), ...optionList(TOP_LEVEL_OPTIONS));
  out.push(section('GLOBAL OPTIONS'), line(esc('These options apply to every command.')), ...optionList([...globals, ...BUILTIN_OPTIONS]));
  out.push(section('EXIT STATUS'), ...EXIT_STATUS.flatMap(([tag, text]) => ['.TP', line(tag), line(prose(text))]));
  out.push(section('FILES'), ...definitionList(FILES.map(([f, t]) => [italic(f), t])));
  out.push(section('ENVIRONMENT'), ...definitionList(ENVIRONMENT.map(([v, t]) => [bold(v), t])));
  const examples = entries.flatMap((e) => (e.spec.examples ?? []).slice(0, 1));
  if (examples.length) {
    out.push(section('EXAMPLES'), line(esc('One example per command; the COMMANDS section has more.')));
    for (const [cmd, what] of examples) out.push('.TP', line(bold(cmd)), line(prose(sentence(what))));
  }
  out.push(section('SEE ALSO'), ...seeAlso(SEE_ALSO));
  return out.join('\n') + '\n';
}

/** The example in apt-ostree.conf(5) (the tests check that it parses). */
export const CONF_MAN_EXAMPLE = '[Daemon]\nAutomaticUpdatePolicy=check\nDisableRecommends=true\n';

/** apt-ostree.conf(5), from the configuration schema the parser validates against. */
export function renderConfManPage(version: string): string {
  const out: string[] = [...header('apt-ostree.conf', 5, version, 'File Formats')];
  out.push(section('NAME'), line(esc('apt-ostree.conf - configuration of apt-ostree')));
  out.push(section('SYNOPSIS'), line(italic(CONFIG_PATH)));
  out.push(
    section('DESCRIPTION'),
    ...paragraphs([
      'apt-ostree reads this file each time a command starts (it has no daemon). It is optional: without it, every setting has its default.',
      'The format is that of rpm-ostreed.conf: groups in brackets (`[Daemon]`), then `Key=value` lines; spaces around `=` are allowed; lines starting with `#` or `;` are comments. Group and key names are case-sensitive. Booleans are written true, false, yes, no, 1 or 0.',
      `A group or key apt-ostree does not know is ignored with a warning naming the file, the line and the key. A value that is not allowed is an error: the command refuses to run (exit status 1) and names the file, the line, the key and the allowed values. \`apt-ostree reload\` checks the file and prints the settings in effect.`,
      `On the running system the file is ${CONFIG_PATH}. With \`--sysroot DIR\` it is read from the /etc of the deployment the command acts on, the default deployment of DIR (DIR/ostree/deploy/OS/deploy/CHECKSUM.SERIAL/etc/apt-ostree/apt-ostree.conf). Like all of /etc, the file is carried over into every new deployment.`,
    ]),
  );
  out.push(section('OPTIONS'));
  for (const g of CONFIG_SCHEMA) {
    out.push(`.SS "[${esc(g.group)}]"`, line(prose(g.describe)));
    for (const k of g.keys) {
      const values = k.type === 'enum' ? k.values.map(bold).join('|') : k.type === 'boolean' ? bold('true') + '|' + bold('false') : k.type === 'text' ? italic(k.valueName) : italic(k.unit ?? 'number');
      out.push('.TP', line(`${bold(`${k.key}=`)}${values}`), line(prose(`${sentence(k.describe)} Allowed: ${allowedValues(k)}. Default: ${k.default === '' ? 'empty' : formatValue(k.default)}.`)));
    }
  }
  out.push(section('EXAMPLE'), line(esc('Check for updates daily, and never layer recommended packages:')), '.PP', '.RS 4', '.nf');
  out.push(...CONF_MAN_EXAMPLE.trimEnd().split('\n').map((l) => line(esc(l))), '.fi', '.RE');
  out.push(
    section('FILES'),
    ...definitionList([
      [italic(CONFIG_PATH), 'This file.'],
      [italic('/usr/share/doc/apt-ostree/examples/apt-ostree.conf'), 'An example with every key, commented out, with its default.'],
    ]),
  );
  out.push(section('SEE ALSO'), ...seeAlso(['apt-ostree(8)', 'rpm-ostreed.conf(5)', 'systemd.timer(5)']));
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Shell completions: the shell code of completions/*.in, with tables of the commands and options
// filled in. Package names come from cheap reads only (the origin file of the default
// deployment, apt-cache --no-generate); completion never needs root, a lock or the bus.

/** A value for a shell's single-quoted string. */
function sq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The comment that says where a completion file comes from. */
function generatedNotice(template: string): string {
  return `# Generated by scripts/gen-docs.mjs from ${template} and the command specs (src/cli/spec.ts); do not edit.`;
}

/**
 * A completion from its template (completions/*.in): the hand-written shell code, kept in files of
 * their own so that shellcheck reads them. Each block from `# BEGIN GENERATED: NAME` to
 * `# END GENERATED: NAME` is replaced with the lines generated for NAME (what the template has
 * there only stands in for them); lines that start with `##` are notes on the template and are
 * left out; the rest is copied as it is.
 */
export function fillTemplate(template: string, blocks: Record<string, string[]>): string {
  const out: string[] = [];
  const filled = new Set<string>();
  let inBlock: string | undefined;
  for (const line of template.split('\n')) {
    const begin = /^# BEGIN GENERATED: (\S+)$/.exec(line);
    const end = /^# END GENERATED: (\S+)$/.exec(line);
    if (begin) {
      const name = begin[1]!;
      if (inBlock !== undefined || !Object.hasOwn(blocks, name) || filled.has(name)) throw new Error(`Completion template: unexpected block '${name}'.`);
      inBlock = name;
      filled.add(name);
      out.push(...blocks[name]!);
    } else if (end) {
      if (end[1] !== inBlock) throw new Error(`Completion template: '${line}' closes no open block.`);
      inBlock = undefined;
    } else if (inBlock === undefined && !line.startsWith('##')) out.push(line);
  }
  const missing = Object.keys(blocks).filter((n) => !filled.has(n));
  if (inBlock !== undefined || missing.length) throw new Error(`Completion template: block ${inBlock ?? missing.join(', ')} ${inBlock ? 'is not closed' : 'is missing'}.`);
  return out.join('\n');
}

/** How a value is completed, encoded for the bash tables: "", a kind, or "choices:a,b". */
function bashValueKind(o: OptionSpec): string {
  if (o.choices) return `choices:${o.choices.join(',')}`;
  return completionKind(o) ?? '';
}

function bashTables(entries: CommandEntry[], commands: readonly CommandSpec[]): string[] {
  const cases: string[] = [];
  const add = (path: string, subs: readonly CommandSpec[], options: readonly OptionSpec[], positionals: readonly PositionalSpec[]) => {
    const subNames = subs.map((s) => s.name);
    const subAliases = subs.flatMap((s) => (s.aliases ?? []).map((a) => `${a}=${s.name}`));
    const opts = options.flatMap(optionForms);
    const valued = options.filter(takesValue).flatMap((o) => optionForms(o).map((f) => `${f}:${bashValueKind(o)}`));
    const pos = positionals.map((p) => `${completionKind(p) ?? '-'}${p.variadic ? '*' : ''}`);
    cases.push(
      `    ${sq(path)})`,
      `      subs=${sq(subNames.join(' '))} subalias=${sq(subAliases.join(' '))}`,
      `      opts=${sq(opts.join(' '))}`,
      `      valued=${sq(valued.join(' '))} pos=${sq(pos.join(' '))} ;;`,
    );
  };
  add('', commands, TOP_LEVEL_OPTIONS, []);
  for (const e of entries) add(e.path, e.spec.subcommands ?? [], [...e.inherited, ...(e.spec.options ?? [])], e.spec.positionals ?? []);
  return cases;
}

/**
 * completions/apt-ostree.bash, from its template (completions/apt-ostree.bash.in: the shell code)
 * with the option and command tables of the specs filled in.
 */
export function renderBashCompletion(commands: readonly CommandSpec[], globals: readonly OptionSpec[], template: string): string {
  const entries = commandEntries(commands);
  const all = [...globals, ...BUILTIN_OPTIONS];
  const globalValued = all.filter(takesValue).flatMap((o) => optionForms(o).map((f) => `${f}:${bashValueKind(o)}`));
  return fillTemplate(template, {
    notice: [generatedNotice('completions/apt-ostree.bash.in')],
    tables: [
      `_apt_ostree_global_opts=${sq(all.flatMap(optionForms).join(' '))}`,
      `_apt_ostree_global_valued=${sq(globalValued.join(' '))}`,
      '',
      '# Per command: subcommands, their aliases, options, options taking a value (FORM:KIND), positionals (KIND, * = repeated).',
      '_apt_ostree_spec() {',
      '  case $1 in',
      ...bashTables(entries, commands),
      "    *) subs='' subalias='' opts='' valued='' pos='' ;;",
      '  esac',
      '}',
    ],
  });
}

// zsh

/** Text inside an _arguments [description] or a _describe item. */
function zshDesc(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/([[\]])/g, '\\$1').replace(/\s+/g, ' ').trim();
}

function zshAction(kind: CompletionKind | undefined, choices?: readonly string[]): string {
  if (choices) return `(${choices.join(' ')})`;
  switch (kind) {
    case 'files':
      return '_files';
    case 'directories':
      return '_files -/';
    case 'available-packages':
      return '_apt_ostree_available_packages';
    case 'layered-packages':
      return '_apt_ostree_layered_packages';
    case 'stateroots':
      return '_apt_ostree_stateroots';
    default:
      return ' ';
  }
}

function zshOptionSpecs(o: OptionSpec): string[] {
  const forms = optionForms(o);
  const repeat = o.type === 'array';
  const excl = repeat || forms.length < 2 ? '' : `(${forms.join(' ')})`;
  const desc = `[${zshDesc(o.describe)}]`;
  const value = takesValue(o) ? `:${zshDesc(valueName(o)).replace(/:/g, '\\:')}:${zshAction(completionKind(o), o.choices)}` : '';
  return forms.map((f) => {
    const form = takesValue(o) ? (f.length === 2 ? `${f}+` : `${f}=`) : f;
    return sq(`${excl}${repeat ? '*' : ''}${form}${desc}${value}`);
  });
}

function zshFunctionName(path: string): string {
  return `_apt_ostree_cmd${path ? '_' + path.replace(/[^A-Za-z0-9]+/g, '_') : ''}`;
}

function zshCommandFunction(path: string, subs: readonly CommandSpec[], options: readonly OptionSpec[], positionals: readonly PositionalSpec[]): string[] {
  const args = ['"${_apt_ostree_global_args[@]}"', ...options.flatMap(zshOptionSpecs)];
  const out = [`${zshFunctionName(path)}() {`];
  if (subs.length) {
    out.push('  local curcontext=$curcontext state state_descr line ret=1', '  local -A opt_args');
    out.push(`  _arguments -C -s ${args.join(' \\\n    ')} \\\n    ': :->command' '*:: :->args' && ret=0`);
    out.push('  case $state in', '    command)', '      local -a cmds=(');
    for (const s of subs) {
      for (const n of [s.name, ...(s.aliases ?? [])]) {
        const desc = n === s.name ? s.describe : `${s.describe} (alias of ${s.name})`;
        out.push(`        ${sq(`${n.replace(/:/g, '\\:')}:${zshDesc(desc)}`)}`);
      }
    }
    out.push('      )', `      _describe -t commands ${sq(`apt-ostree ${path ? path + ' ' : ''}command`)} cmds && ret=0 ;;`, '    args)', '      case $words[1] in');
    for (const s of subs) {
      const names = [s.name, ...(s.aliases ?? [])].map((n) => sq(n)).join('|');
      out.push(`        ${names}) ${zshFunctionName(path ? `${path} ${s.name}` : s.name)} && ret=0 ;;`);
    }
    out.push('      esac ;;', '  esac', '  return ret', '}');
    return out;
  }
  const pos = positionals.map((p, i) => {
    const action = zshAction(completionKind(p));
    const msg = zshDesc(p.name).replace(/:/g, '\\:');
    if (p.variadic) return sq(`*:${msg}:${action}`);
    return sq(`${i + 1}:${p.required ? '' : ':'}${msg}:${action}`);
  });
  out.push(`  _arguments -s ${[...args, ...pos].join(' \\\n    ')}`, '}');
  return out;
}

/**
 * completions/_apt-ostree (zsh; loads from $fpath, or when sourced after compinit), from its
 * template (completions/apt-ostree.zsh.in: the shell code) with the global options and a
 * function per command filled in.
 */
export function renderZshCompletion(commands: readonly CommandSpec[], globals: readonly OptionSpec[], template: string): string {
  const entries = commandEntries(commands);
  const globalArgs = [...globals, ...BUILTIN_OPTIONS].flatMap(zshOptionSpecs);
  const functions = zshCommandFunction('', commands, TOP_LEVEL_OPTIONS, []);
  for (const e of entries) {
    functions.push('', ...zshCommandFunction(e.path, e.spec.subcommands ?? [], [...e.inherited, ...(e.spec.options ?? [])], e.spec.positionals ?? []));
  }
  return fillTemplate(template, {
    notice: [generatedNotice('completions/apt-ostree.zsh.in')],
    'global-args': ['_apt_ostree_global_args=(', ...globalArgs.map((a) => `  ${a}`), ')'],
    commands: functions,
  });
}
