/** Boot loader entries: parsing, the boot order of a sysroot's entries, rewriting values in place. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareBootEntryVersions, editBootEntry, parseBootEntry, parseBootEntryLine, readBootEntries, readBootEntry } from '../../../src/ostree/boot-entry.js';

/** An entry as ostree 2023.1 (Debian 12) writes it. */
const OSTREE_ENTRY = [
  'title Debian GNU/Linux 12 (bookworm) (ostree:debian:1)',
  'version 1',
  'options root=UUID=2c9a0f0e rw console="ttyS0,115200 n8" quiet ostree=/ostree/boot.1/debian/0a1b2c/0',
  'linux /ostree/debian-0a1b2c/vmlinuz-6.1.0-18-amd64',
  'initrd /ostree/debian-0a1b2c/initramfs-6.1.0-18-amd64.img',
  '',
].join('\n');

describe('parseBootEntry', () => {
  it('reads every key of an entry ostree wrote', () => {
    const e = parseBootEntry(OSTREE_ENTRY, '/boot/loader/entries/ostree-1-debian.conf');
    expect(e.file).toBe('/boot/loader/entries/ostree-1-debian.conf');
    expect(e.version).toBe('1');
    expect(e.options).toBe('root=UUID=2c9a0f0e rw console="ttyS0,115200 n8" quiet ostree=/ostree/boot.1/debian/0a1b2c/0');
    expect([...e.fields.keys()]).toEqual(['title', 'version', 'options', 'linux', 'initrd']);
    expect(e.fields.get('title')).toBe('Debian GNU/Linux 12 (bookworm) (ostree:debian:1)');
    expect(e.fields.get('initrd')).toBe('/ostree/debian-0a1b2c/initramfs-6.1.0-18-amd64.img');
  });

  it('takes the value up to the end of the line, without the spaces around it; indentation, tabs and CRLF are allowed', () => {
    const e = parseBootEntry('  title\tA  title  with spaces  \r\nversion    7\r\n\toptions a b\n');
    expect(e.fields.get('title')).toBe('A  title  with spaces');
    expect(e.version).toBe('7');
    expect(e.options).toBe('a b');
  });

  it('keeps the last value of a key given twice, and skips blank lines, comments and keys without a value', () => {
    const e = parseBootEntry('# version 5\n#title x\n\nversion 1\nversion 2\noptions\nlinux   \n');
    expect(e.version).toBe('2');
    expect([...e.fields.keys()]).toEqual(['version']);
    expect(e.fields.has('options')).toBe(false);
    expect(e.fields.has('linux')).toBe(false);
    expect(e.options).toBe('');
  });

  it('has version 0 and no options when they are missing; a key is data, never an object property', () => {
    const e = parseBootEntry('__proto__ x\nconstructor y\n');
    expect(e.version).toBe('0');
    expect(e.options).toBe('');
    expect(e.fields.get('__proto__')).toBe('x');
    expect(e.fields.get('constructor')).toBe('y');
  });

  it('parses a line into parts that write it back as it was', () => {
    for (const line of ['version 1', '  title\t A b  ', 'options a  b\r']) {
      const l = parseBootEntryLine(line)!;
      expect(`${l.indent}${l.key}${l.sep}${l.value}${l.trail}`).toBe(line);
    }
    expect(parseBootEntryLine('')).toBeUndefined();
    expect(parseBootEntryLine('   ')).toBeUndefined();
    expect(parseBootEntryLine('version')).toBeUndefined();
    expect(parseBootEntryLine('# version 1')).toBeUndefined();
  });
});

describe('editBootEntry', () => {
  it('changes the values asked for and nothing else of the text', () => {
    const text = '# kept\n  title Debian (ostree:debian:1)  \nversion\t1\r\noptions a ostree=/x\n\n';
    const out = editBootEntry(text, (key, value) => (key === 'version' ? '3' : key === 'title' ? value.replace(':1)', ':0)') : undefined));
    expect(out).toBe('# kept\n  title Debian (ostree:debian:0)  \nversion\t3\r\noptions a ostree=/x\n\n');
    expect(editBootEntry(OSTREE_ENTRY, () => undefined)).toBe(OSTREE_ENTRY);
  });
});

describe('the entries of a sysroot', () => {
  const root = mkdtempSync(join(tmpdir(), 'boot-entries-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('are those of boot/loader, highest version first (as numbers), .conf files only', () => {
    const sysroot = join(root, 'sysroot');
    const entries = join(sysroot, 'boot', 'loader.1', 'entries');
    mkdirSync(entries, { recursive: true });
    mkdirSync(join(sysroot, 'boot', 'loader.0', 'entries'), { recursive: true });
    writeFileSync(join(sysroot, 'boot', 'loader.0', 'entries', 'ostree-1-old.conf'), 'version 1\n');
    symlinkSync('loader.1', join(sysroot, 'boot', 'loader'));
    for (const v of [2, 10, 1]) writeFileSync(join(entries, `ostree-${v}-debian.conf`), `title t${v}\nversion ${v}\noptions ostree=/ostree/boot.1/debian/c/${v}\n`);
    writeFileSync(join(entries, 'README'), 'version 99\n');
    const read = readBootEntries(sysroot);
    expect(read.map((e) => e.version)).toEqual(['10', '2', '1']);
    expect(read[0]!.file).toBe(join(entries, 'ostree-10-debian.conf'));
    expect(read[0]!.options).toBe('ostree=/ostree/boot.1/debian/c/10');
    expect(readBootEntry(join(entries, 'ostree-2-debian.conf')).fields.get('title')).toBe('t2');
  });

  it('are none without boot/loader or its entries directory', () => {
    mkdirSync(join(root, 'empty', 'boot'), { recursive: true });
    expect(readBootEntries(join(root, 'empty'))).toEqual([]);
    symlinkSync('loader.0', join(root, 'empty', 'boot', 'loader'));
    expect(readBootEntries(join(root, 'empty'))).toEqual([]);
    expect(readBootEntries(join(root, 'missing'))).toEqual([]);
  });

  it('compare versions as numbers when both are, else as text', () => {
    expect(compareBootEntryVersions('10', '9')).toBeGreaterThan(0);
    expect(compareBootEntryVersions('1', '1')).toBe(0);
    expect(compareBootEntryVersions('b', 'a')).toBeGreaterThan(0);
    expect(compareBootEntryVersions('1', 'a')).toBeLessThan(0);
  });
});
