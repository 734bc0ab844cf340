/**
 * Kernel argument editing, with the semantics of libostree's OstreeKernelArgs as rpm-ostree's
 * `kargs` uses them (learned from their sources and tests, reimplemented here):
 *
 * - the argument list is ordered and a key may appear several times (`console=tty0
 *   console=ttyS0`); an argument is KEY or KEY=VALUE, split at the first `=`;
 * - a string of several arguments is split at spaces outside double quotes
 *   (`foo="a b"` stays one argument);
 * - `append K=V` adds at the end, even when K is there already;
 * - `delete K` removes K when it has exactly one value; with several values the caller must
 *   say which one (`delete K=V`); `delete K=V` removes that exact one;
 * - `replace K=V=NEW` changes the value V of K in place; `replace K=NEW` only when K has one value;
 * - `append-if-missing K=V` appends unless exactly K=V is present (another value of K does
 *   not count), `delete-if-present K=V` deletes only when exactly K=V (or bare K) is present;
 * - edits apply in rpm-ostree's order: delete, replace, append, append-if-missing,
 *   delete-if-present.
 * Pure logic: no file or process access, so that it is unit-tested exhaustively.
 */
import { InputError } from '../../errors.js';

interface Entry {
  key: string;
  /** undefined for a bare key (`quiet`), '' for `key=`. */
  value: string | undefined;
}

export interface KargEdits {
  append?: string[];
  appendIfMissing?: string[];
  delete?: string[];
  deleteIfPresent?: string[];
  replace?: string[];
}

/** Split a kernel command line at spaces that are not inside double quotes. */
export function splitKernelArgs(text: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let current = '';
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r')) {
      if (current) out.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  if (current) out.push(current);
  return out;
}

function parseArg(arg: string): Entry {
  const eq = arg.indexOf('=');
  return eq < 0 ? { key: arg, value: undefined } : { key: arg.slice(0, eq), value: arg.slice(eq + 1) };
}

function format(e: Entry): string {
  return e.value === undefined ? e.key : `${e.key}=${e.value}`;
}

export type KargProblem =
  | { kind: 'control' | 'quote' | 'empty' | 'several' | 'ostree' }
  | { kind: 'no-key' | 'quote-place'; arg: string }
  | { kind: 'grub'; arg: string; char: string };

/**
 * Characters that GRUB's script parser reads as syntax in a `linux` line of grub.cfg (ostree
 * writes the arguments there as they are): operators and redirections (| & ; < >), grouping
 * (( ) { }), expansion ($ `), escapes and single quotes (\ '), and `#`, which starts a comment.
 * One of them makes grub.cfg unparsable (the whole menu is lost), runs a command (`x=1;reboot`)
 * or drops the rest of the line (`ostree=`). Refused rather than quoted: no kernel argument needs
 * them, and a quoted value still expands `$` and `\` in GRUB.
 */
const GRUB_SPECIAL = /[|&;<>(){}$`\\'#]/;

/**
 * The one check of kernel argument text: printable, no character GRUB reads as syntax, double
 * quotes only around a whole value (`key="a b"`: GRUB and the kernel both take the value with its
 * spaces), each argument with a key, not `ostree=` (ostree writes that one itself and would
 * ignore or break on a user value), not empty; with `single`, exactly one argument.
 */
export function kargProblem(text: string, opts: { single?: boolean; removal?: boolean } = {}): KargProblem | undefined {
  if (/[\x00-\x1f\x7f]/.test(text)) return { kind: 'control' };
  if ((text.match(/"/g) ?? []).length % 2 !== 0) return { kind: 'quote' };
  const args = splitKernelArgs(text);
  for (const a of args) {
    const { key, value } = parseArg(a);
    if (!key) return { kind: 'no-key', arg: a };
    // What is removed may be what an older apt-ostree let in: it has to be nameable.
    const special = opts.removal ? null : GRUB_SPECIAL.exec(a);
    if (special) return { kind: 'grub', arg: a, char: special[0] };
    if (!opts.removal && a.includes('"') && !(value !== undefined && /^"[^"]*"$/.test(value) && !key.includes('"'))) return { kind: 'quote-place', arg: a };
    if (key === 'ostree') return { kind: 'ostree' };
  }
  if (args.length === 0) return { kind: 'empty' };
  if (opts.single && args.length > 1) return { kind: 'several' };
  return undefined;
}

/** How a character GRUB reads as syntax is named in a message. */
function charName(c: string): string {
  return c === "'" ? 'a single quote' : c === '\\' ? 'a backslash' : c === '`' ? 'a backquote' : `'${c}'`;
}

/** Why GRUB cannot take the character (the second half of a message). */
function grubReason(c: string): string {
  if (c === '#') return 'GRUB reads the rest of the line as a comment, ostree= included';
  if (c === '$' || c === '`') return 'GRUB expands it in grub.cfg';
  if (c === '\\' || c === "'") return 'GRUB reads it as quoting in grub.cfg';
  return 'GRUB reads it as script syntax in grub.cfg, which then fails to parse or runs a command';
}

/** A kargProblem as a phrase about the argument (manifests). */
export function kargProblemText(p: KargProblem): string {
  switch (p.kind) {
    case 'control':
      return 'contains a control character';
    case 'quote':
      return 'has an unbalanced double quote';
    case 'quote-place':
      return `'${p.arg}' has a double quote that does not enclose its whole value (write key="a b")`;
    case 'grub':
      return `'${p.arg}' contains ${charName(p.char)} (${grubReason(p.char)})`;
    case 'no-key':
      return `'${p.arg}' has no key before '='`;
    case 'ostree':
      return "'ostree=' is written by ostree itself";
    case 'empty':
      return 'is empty';
    case 'several':
      return 'one kernel argument, without spaces outside double quotes';
  }
}

const GRUB_HINT = 'Kernel arguments may not contain | & ; < > ( ) { } $ ` \\ \' or #; a value with spaces is written key="a b".';

/**
 * Check an argument given to `option`; with `single` (--karg of compose and provision) exactly
 * one; with `removal` (--delete) characters GRUB reads as syntax are let through.
 */
export function validateKarg(arg: string, option: string, opts: { single?: boolean; removal?: boolean } = {}): void {
  const p = kargProblem(arg, opts);
  if (!p) return;
  switch (p.kind) {
    case 'control':
      throw new InputError(`The kernel argument given to ${option} contains a control character: ${JSON.stringify(arg)}.`, 'Kernel arguments are printable text separated by spaces.');
    case 'quote':
      throw new InputError(`The kernel argument '${arg}' given to ${option} has an unbalanced double quote.`, 'Quote a value with spaces as a whole: key="a b".');
    case 'no-key':
      throw new InputError(`The kernel argument '${p.arg}' given to ${option} has no key before '='.`, 'Write it as KEY or KEY=VALUE.');
    case 'grub':
      throw new InputError(`The kernel argument '${p.arg}' given to ${option} contains ${charName(p.char)}: ${grubReason(p.char)}.`, GRUB_HINT);
    case 'quote-place':
      throw new InputError(`The kernel argument '${p.arg}' given to ${option} has a double quote that does not enclose its whole value.`, 'Quote a value with spaces as a whole: key="a b".');
    case 'ostree':
      throw new InputError(`The kernel argument 'ostree=' is managed by ostree and cannot be changed with ${option}.`, 'ostree writes it for every deployment; leave it out.');
    case 'empty':
      throw new InputError(`An empty kernel argument was given to ${option}.`, 'Write it as KEY or KEY=VALUE.');
    case 'several':
      throw new InputError(`'${arg}' is not one kernel argument.`, `Give each argument with its own ${option} (no spaces outside double quotes).`);
  }
}

/** An ordered kernel argument list with the edit operations of libostree. */
export class KernelArgs {
  private entries: Entry[];

  constructor(args: readonly string[] = []) {
    this.entries = args.flatMap((a) => splitKernelArgs(a)).map(parseArg);
  }

  static parse(cmdline: string): KernelArgs {
    return new KernelArgs(splitKernelArgs(cmdline));
  }

  toArray(): string[] {
    return this.entries.map(format);
  }

  toString(): string {
    return this.toArray().join(' ');
  }

  /** The values of `key` in order (undefined for a bare occurrence). */
  values(key: string): Array<string | undefined> {
    return this.entries.filter((e) => e.key === key).map((e) => e.value);
  }

  has(key: string): boolean {
    return this.entries.some((e) => e.key === key);
  }

  /** Exactly this argument (KEY or KEY=VALUE) is present. */
  contains(arg: string): boolean {
    return this.toArray().includes(arg);
  }

  append(text: string): void {
    for (const a of splitKernelArgs(text)) this.entries.push(parseArg(a));
  }

  appendIfMissing(text: string): void {
    for (const a of splitKernelArgs(text)) if (!this.contains(a)) this.entries.push(parseArg(a));
  }

  delete(text: string): void {
    for (const a of splitKernelArgs(text)) this.deleteOne(a);
  }

  deleteIfPresent(text: string): void {
    for (const a of splitKernelArgs(text)) if (this.contains(a)) this.deleteOne(a);
  }

  replace(text: string): void {
    for (const a of splitKernelArgs(text)) this.replaceOne(a);
  }

  private deleteOne(arg: string): void {
    const { key, value } = parseArg(arg);
    const matches = this.indexesOf(key);
    if (matches.length === 0) throw noKey(key, 'delete');
    if (matches.length === 1) {
      const only = this.entries[matches[0]!]!;
      if (value !== undefined && only.value !== value) throw noArg(arg, this.valuesText(key), 'delete');
      this.entries.splice(matches[0]!, 1);
      return;
    }
    const i = matches.find((m) => this.entries[m]!.value === value);
    if (i === undefined) {
      if (value === undefined) {
        throw new InputError(
          `The kernel argument '${key}' has several values (${this.valuesText(key)}); cannot tell which one to delete.`,
          `Say which one, e.g. --delete ${format(this.entries[matches.at(-1)!]!)}.`,
        );
      }
      throw noArg(arg, this.valuesText(key), 'delete');
    }
    this.entries.splice(i, 1);
  }

  private replaceOne(arg: string): void {
    const { key, value } = parseArg(arg);
    const matches = this.indexesOf(key);
    if (matches.length === 0) throw noKey(key, 'replace');
    // KEY=OLD=NEW: change that value only.
    if (value !== undefined && value.includes('=')) {
      const eq = value.indexOf('=');
      const oldValue = value.slice(0, eq);
      const newValue = value.slice(eq + 1);
      const i = matches.find((m) => this.entries[m]!.value === oldValue);
      if (i === undefined) throw noArg(`${key}=${oldValue}`, this.valuesText(key), 'replace');
      this.entries[i] = { key, value: newValue };
      return;
    }
    if (matches.length > 1) {
      throw new InputError(
        `The kernel argument '${key}' has several values (${this.valuesText(key)}); cannot tell which one to replace.`,
        `Name the old value: --replace ${key}=OLD=NEW, e.g. --replace ${format(this.entries[matches[0]!]!)}=${value ?? ''}.`,
      );
    }
    this.entries[matches[0]!] = { key, value };
  }

  private indexesOf(key: string): number[] {
    const out: number[] = [];
    this.entries.forEach((e, i) => {
      if (e.key === key) out.push(i);
    });
    return out;
  }

  private valuesText(key: string): string {
    return this.entries.filter((e) => e.key === key).map(format).join(', ');
  }
}

function noKey(key: string, verb: string): InputError {
  return new InputError(
    `There is no kernel argument '${key}' to ${verb}.`,
    verb === 'delete' ? 'See the current ones with `apt-ostree kargs`; --delete-if-present does nothing when it is missing.' : 'See the current ones with `apt-ostree kargs`; add it with --append.',
  );
}

function noArg(arg: string, present: string, verb: string): InputError {
  return new InputError(`There is no kernel argument '${arg}' to ${verb}; the ones with that key are: ${present}.`, 'See the current ones with `apt-ostree kargs`.');
}

/** Apply the edits of one `kargs` command line to `current`, in rpm-ostree's order. */
export function applyKargEdits(current: readonly string[], edits: KargEdits): string[] {
  const k = new KernelArgs(current);
  for (const a of edits.delete ?? []) k.delete(a);
  for (const a of edits.replace ?? []) k.replace(a);
  for (const a of edits.append ?? []) k.append(a);
  for (const a of edits.appendIfMissing ?? []) k.appendIfMissing(a);
  for (const a of edits.deleteIfPresent ?? []) k.deleteIfPresent(a);
  return k.toArray();
}

/** Arguments the boot loader adds to /proc/cmdline that do not belong in a boot entry. */
const PROC_CMDLINE_SKIP = ['BOOT_IMAGE=', 'initrd=', 'ostree='];

/** The kernel arguments of a /proc/cmdline text, as a boot entry would carry them. */
export function kargsFromProcCmdline(text: string): string[] {
  return splitKernelArgs(text.trim()).filter((a) => !PROC_CMDLINE_SKIP.some((p) => a.startsWith(p)));
}

const EDITOR_HEADER = [
  '# Current kernel arguments are shown below, and can be directly edited.',
  '# Empty or commented lines (starting with \'#\') will be ignored.',
  '# Arguments are separated by spaces or newlines (one per line works too); the order matters.',
  '# The \'ostree=\' argument is written by ostree and cannot be set here.',
  '',
];

/** The text the editor starts with. */
export function editorText(kargs: readonly string[]): string {
  return [...EDITOR_HEADER, kargs.join(' '), ''].join('\n');
}

/** Read the editor's result back: comments and blank lines dropped, the rest joined. */
export function parseEditorText(text: string): string[] {
  const body = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .join(' ');
  // Tabs typed in the editor separate arguments as spaces do.
  const p = kargProblem(body.replace(/\t/g, ' '));
  switch (p?.kind) {
    case undefined:
      return splitKernelArgs(body);
    case 'control':
      throw new InputError('The edited kernel arguments contain a control character.', 'Run the command again and leave it out.');
    case 'quote':
      throw new InputError('The edited kernel arguments have an unbalanced double quote.', 'Run the command again and quote values with spaces as a whole: key="a b".');
    case 'ostree':
      throw new InputError("The edited kernel arguments contain 'ostree=', which ostree writes itself.", 'Run the command again and leave it out.');
    case 'no-key':
      throw new InputError('The edited kernel arguments contain one with no key before \'=\'.', 'Write each as KEY or KEY=VALUE.');
    case 'grub':
      throw new InputError(`The edited kernel argument '${p.arg}' contains ${charName(p.char)}: ${grubReason(p.char)}.`, `Run the command again without it. ${GRUB_HINT}`);
    case 'quote-place':
      throw new InputError(`The edited kernel argument '${p.arg}' has a double quote that does not enclose its whole value.`, 'Run the command again and quote values with spaces as a whole: key="a b".');
    default:
      throw new InputError('The edited kernel arguments are empty.', 'A deployment cannot boot without kernel arguments such as root=; nothing was changed.');
  }
}

export function sameKargs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** x86's COMMAND_LINE_SIZE: the bytes of the kernel command line the kernel keeps, its final NUL included. */
export const KERNEL_COMMAND_LINE_SIZE = 2048;

/** The longest kernel version (`uname -r`) the room for GRUB's BOOT_IMAGE= is kept for. */
const KERNEL_VERSION_ROOM = 64;

/**
 * The bytes the boot adds to a deployment's arguments of stateroot `os`: GRUB's
 * `BOOT_IMAGE=/boot/ostree/OS-BOOTCSUM/vmlinuz-VERSION` in front (162 + OS, with a 64-byte
 * version), ostree's `ostree=/ostree/boot.N/OS/CHECKSUM/SERIAL` at the end (91 + OS, with a
 * serial up to 999), two spaces and the NUL: 256 + 2 x OS, 268 for `debian`. ostree= comes
 * last, so a command line over the size loses it first, and the initramfs finds no deployment.
 */
export function bootAddedBytes(os: string): number {
  const osBytes = Buffer.byteLength(os);
  const bootImage = 'BOOT_IMAGE=/boot/ostree/'.length + osBytes + 1 + 64 + '/vmlinuz-'.length + KERNEL_VERSION_ROOM;
  const ostreeArg = 'ostree=/ostree/boot.1/'.length + osBytes + 1 + 64 + 1 + 3;
  return bootImage + ostreeArg + 3;
}

/** The most bytes a deployment's own arguments (joined by spaces) may take in stateroot `os`. */
export function kargsRoom(os: string): number {
  return KERNEL_COMMAND_LINE_SIZE - bootAddedBytes(os);
}

/**
 * The check of a whole argument list before it is written to a boot entry (kargs, provision,
 * every new deployment): each argument as kargProblem wants it, and the command line, with
 * what the boot adds, within KERNEL_COMMAND_LINE_SIZE.
 */
export function checkBootKargs(kargs: readonly string[], os: string): void {
  for (const a of kargs) {
    const p = kargProblem(a, { single: true });
    if (p) {
      throw new InputError(`The kernel arguments of the new deployment cannot go into the boot menu: ${kargProblemText(p)}.`, `Leave that argument out (\`apt-ostree kargs --delete KEY\` removes one). ${GRUB_HINT}`);
    }
  }
  const bytes = Buffer.byteLength(kargs.join(' '));
  const room = kargsRoom(os);
  if (bytes > room) {
    throw new InputError(
      `The kernel arguments of the new deployment take ${bytes} bytes, over the ${room} that fit: the kernel keeps ${KERNEL_COMMAND_LINE_SIZE} bytes of its command line, ${bootAddedBytes(os)} of which are kept for GRUB's BOOT_IMAGE= and ostree's ostree= (last, so it would be cut and the deployment would not boot).`,
      'Shorten or remove arguments (`apt-ostree kargs --delete KEY`).',
    );
  }
}
