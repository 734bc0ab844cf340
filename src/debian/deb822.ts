/**
 * deb822, the format of dpkg's status file, apt's Packages/Sources/Release files and
 * debian/control (Debian policy 5.1): paragraphs separated by blank lines, `Field: value`
 * lines, continuation lines starting with a space or tab, `#` comments (control files).
 * Field names are case-insensitive. A small in-house parser: no npm package does this right.
 */
import { AptOstreeError } from '../errors.js';

export interface Field {
  /** The name as written. */
  name: string;
  /**
   * The value: the first line without surrounding whitespace, then each continuation line
   * on its own line as written (leading space kept, " ." for an empty line in descriptions).
   */
  value: string;
}

export class Stanza {
  readonly fields: Field[];
  /** 1-based line number of the stanza's first field (for messages). */
  readonly line: number;
  private readonly byName = new Map<string, Field>();

  constructor(fields: Field[], line = 0) {
    this.fields = fields;
    this.line = line;
    for (const f of fields) this.byName.set(f.name.toLowerCase(), f);
  }

  /** The value of a field (case-insensitive name), or undefined. */
  get(name: string): string | undefined {
    return this.byName.get(name.toLowerCase())?.value;
  }

  has(name: string): boolean {
    return this.byName.has(name.toLowerCase());
  }

  /** Fields as a plain object keyed by their names as written. */
  toObject(): Record<string, string> {
    return Object.fromEntries(this.fields.map((f) => [f.name, f.value]));
  }
}

export interface ParseOptions {
  /** Allow `#` comment lines (debian/control, apt sources); dpkg's status file has none. */
  comments?: boolean;
  /** Where the text came from, for error messages. */
  source?: string;
}

/** Field names: printable ASCII except ':' and space, not starting with '#' or '-'. */
const FIELD_RE = /^([!-9;-~][!-9;-~]*)[ \t]*:(.*)$/;

/** Parse deb822 text into stanzas; throws AptOstreeError with the line of a malformed line. */
export function parseDeb822(text: string, opts: ParseOptions = {}): Stanza[] {
  const stanzas: Stanza[] = [];
  let fields: Field[] = [];
  let start = 0;
  let seen = new Set<string>();
  const bad = (lineNo: number, why: string): never => {
    throw new AptOstreeError(`${opts.source ?? 'deb822 text'} is malformed at line ${lineNo}: ${why}.`, {
      hint: 'Fields are "Name: value" lines, continued by lines that start with a space, and paragraphs are separated by empty lines.',
    });
  };
  const flush = () => {
    if (fields.length) stanzas.push(new Stanza(fields, start));
    fields = [];
    seen = new Set();
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const lineNo = i + 1;
    if (/^[ \t]*$/.test(line)) {
      flush();
      continue;
    }
    if (opts.comments && line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      const last = fields.at(-1);
      if (!last) bad(lineNo, 'a continuation line comes before any field');
      last!.value += `\n${line}`;
      continue;
    }
    const m = FIELD_RE.exec(line);
    if (!m || m[1]!.startsWith('-') || m[1]!.startsWith('#')) bad(lineNo, `'${line.slice(0, 60)}' is not a "Field: value" line`);
    const name = m![1]!;
    const key = name.toLowerCase();
    if (seen.has(key)) bad(lineNo, `the field ${name} appears twice in one paragraph`);
    seen.add(key);
    if (!fields.length) start = lineNo;
    fields.push({ name, value: m![2]!.trim() });
  }
  flush();
  return stanzas;
}

/** The states of dpkg's Status field (third word): see dpkg-query(1). */
export type DpkgState =
  | 'not-installed' | 'config-files' | 'half-installed' | 'unpacked'
  | 'half-configured' | 'triggers-awaited' | 'triggers-pending' | 'installed';

export interface DpkgPackage {
  name: string;
  version: string;
  architecture: string;
  /** The package state (Status: WANT FLAG STATE). */
  status: DpkgState | string;
  /** The desired action (install, hold, deinstall, purge). */
  want: string;
  /**
   * The package's files are unpacked and it was configured: installed, or only waiting for
   * triggers (triggers-awaited/-pending), which dpkg lists as installed ("it"/"iw" in dpkg -l).
   * half-installed, unpacked, half-configured, config-files and not-installed are not.
   */
  installed: boolean;
}

const INSTALLED_STATES = new Set(['installed', 'triggers-pending', 'triggers-awaited']);

/** Every package in a dpkg status file, installed or not, in file order. */
export function dpkgPackages(statusText: string, source = 'the dpkg status file'): DpkgPackage[] {
  const out: DpkgPackage[] = [];
  for (const s of parseDeb822(statusText, { source })) {
    const name = s.get('Package');
    if (!name) continue;
    const words = (s.get('Status') ?? '').split(/\s+/).filter(Boolean);
    const want = words[0] ?? 'unknown';
    const state = words[2] ?? 'not-installed';
    out.push({
      name,
      version: s.get('Version') ?? '',
      architecture: s.get('Architecture') ?? '',
      status: state,
      want,
      installed: INSTALLED_STATES.has(state),
    });
  }
  return out;
}

/** The installed packages of a dpkg status file (see DpkgPackage.installed). */
export function installedPackages(statusText: string, source?: string): DpkgPackage[] {
  return dpkgPackages(statusText, source).filter((p) => p.installed);
}
