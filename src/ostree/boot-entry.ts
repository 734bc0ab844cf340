/**
 * Boot loader entries, as ostree writes one per deployment (the Boot Loader Specification's
 * format, https://uapi-group.org/specifications/specs/boot_loader_specification/):
 *
 *   SYSROOT/boot/loader -> loader.B          B, the bootversion, is 0 or 1
 *   SYSROOT/boot/loader.B/entries/ostree-V-OS.conf (up to ostree 2024.4) or ostree-V.conf
 *
 *     title Debian GNU/Linux 12 (ostree:debian:0)
 *     version 2
 *     linux /ostree/debian-BOOTCSUM/vmlinuz-6.1.0-18-amd64
 *     initrd /ostree/debian-BOOTCSUM/initramfs-6.1.0-18-amd64.img
 *     options root=UUID=… rw ostree=/ostree/boot.B/debian/BOOTCSUM/0
 *
 * One `key value` per line: the key, whitespace, the value up to the end of the line (spaces
 * at its end are not part of it). Other lines (blank ones, # comments) are left as they are.
 * The boot order is the entries' `version`, highest first: ostree gives the default the highest.
 * Everything that reads or rewrites an entry goes through this module.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** A `key value` line, in parts, so that it can be written back with only its value changed. */
export interface BootEntryLine {
  indent: string;
  key: string;
  sep: string;
  value: string;
  /** Whitespace after the value (a \r of a CRLF line too). */
  trail: string;
}

const LINE = /^(\s*)(\S+)(\s+)(.*?)(\s*)$/;

/** One line of an entry: its parts, or undefined for a line that holds no `key value` (blank, a comment, a key alone). */
export function parseBootEntryLine(line: string): BootEntryLine | undefined {
  const m = LINE.exec(line);
  if (!m || !m[4] || m[2]!.startsWith('#')) return undefined;
  return { indent: m[1]!, key: m[2]!, sep: m[3]!, value: m[4], trail: m[5]! };
}

export interface BootEntry {
  /** The entry's file ('' when parsed from text alone). */
  file: string;
  /** Every key with its value; the last one of a key given twice, as boot loaders read it. */
  fields: ReadonlyMap<string, string>;
  /** `version`, the position in the boot order (highest first); '0' when missing. */
  version: string;
  /** `options`, the kernel command line as written (ostree= included); '' when missing. */
  options: string;
}

/** Parse the text of an entry. */
export function parseBootEntry(text: string, file = ''): BootEntry {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const l = parseBootEntryLine(line);
    if (l) fields.set(l.key, l.value);
  }
  return { file, fields, version: fields.get('version') ?? '0', options: fields.get('options') ?? '' };
}

/** Read and parse an entry file. */
export function readBootEntry(file: string): BootEntry {
  return parseBootEntry(readFileSync(file, 'utf8'), file);
}

/**
 * The entries of the sysroot's current boot version (boot/loader → loader.B/entries/*.conf),
 * in boot order: highest version first. None when there is no boot/loader link or no entries
 * directory (a sysroot that was never deployed to).
 */
export function readBootEntries(sysroot: string): BootEntry[] {
  let entriesDir: string;
  let files: string[];
  try {
    entriesDir = join(sysroot, 'boot', readlinkSync(join(sysroot, 'boot', 'loader')), 'entries');
    files = readdirSync(entriesDir).filter((f) => f.endsWith('.conf'));
  } catch {
    return [];
  }
  const entries = files.map((f) => readBootEntry(join(entriesDir, f)));
  return entries.sort((a, b) => compareBootEntryVersions(b.version, a.version));
}

/** Compare two `version` values: as numbers when both are, else as text. */
export function compareBootEntryVersions(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The text of an entry with values changed: `edit` gets each `key value` line's key and value
 * and returns the new value, or undefined to leave the line as it is. Indentation, separators,
 * other lines and the end of the text are kept.
 */
export function editBootEntry(text: string, edit: (key: string, value: string) => string | undefined): string {
  return text
    .split('\n')
    .map((line) => {
      const l = parseBootEntryLine(line);
      const value = l && edit(l.key, l.value);
      return l && value !== undefined ? `${l.indent}${l.key}${l.sep}${value}${l.trail}` : line;
    })
    .join('\n');
}
