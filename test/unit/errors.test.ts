/**
 * explainError: failures of the machine (full disk, read-only file system, a path that is not
 * a sysroot …) become one sentence naming the path and what to do; programming errors stay bugs.
 * printable/withoutControls: what reaches the terminal. The system errors are real ones where
 * the machine can produce them (/dev/full, a directory read as a file); a real read-only file
 * system needs a mount, in test/integration/read-only-errors.test.ts.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explainError, isSystemError } from '../../src/cli/explain-error.js';
import { AptOstreeError, InputError, printable, ToolError, withoutControls } from '../../src/errors.js';
import { thrown } from '../fixtures/thrown.js';


/** A system error as Node makes it, for errnos this machine cannot be made to produce here. */
function systemError(code: string, syscall: string, path?: string, dest?: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: something, ${syscall}${path ? ` '${path}'` : ''}`) as NodeJS.ErrnoException & { dest?: string };
  Object.assign(e, { code, syscall, errno: -1, ...(path ? { path } : {}), ...(dest ? { dest } : {}) });
  return e;
}

const tmp = mkdtempSync(join(tmpdir(), 'errors-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('explainError: the machine, not a bug', () => {
  it('a full disk (a real ENOSPC from /dev/full) says so, with the cleanup hint', () => {
    const e = explainError(thrown(() => writeFileSync('/dev/full', 'x')))!;
    expect(e).toBeInstanceOf(AptOstreeError);
    expect(e.message).toBe('No space left on device.');
    expect(e.hint).toMatch(/^Free space on that file system, for example with `apt-ostree cleanup`/);
    expect(e.exitCode).toBe(1);
    const withPath = explainError(systemError('ENOSPC', 'open', '/sysroot/ostree/repo/tmp/x'))!;
    expect(withPath.message).toBe('No space left on device while writing /sysroot/ostree/repo/tmp/x.');
    // A rename fails for its destination.
    expect(explainError(systemError('ENOSPC', 'rename', '/a', '/b'))!.message).toBe('No space left on device while renaming /b.');
    expect(explainError(systemError('EDQUOT', 'write'))!.message).toBe('Disk quota exceeded.');
  });

  it('a missing or non-directory --sysroot is "not an OSTree sysroot"', () => {
    const missing = join(tmp, 'nothing-here');
    const e = explainError(thrown(() => readFileSync(join(missing, 'ostree', 'x'))), { sysroot: missing })!;
    expect(e.message).toBe(`${missing} is not an OSTree sysroot (it does not exist).`);
    expect(e.hint).toMatch(/--sysroot/);
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    const f = explainError(thrown(() => readdirSync(join(file, 'ostree'))), { sysroot: file })!;
    expect(f.message).toBe(`${file} is not an OSTree sysroot (it is not a directory).`);
    const empty = join(tmp);
    expect(explainError(thrown(() => readFileSync(join(empty, 'ostree', 'repo', 'config'))), { sysroot: empty })!.message).toBe(`${empty} is not an OSTree sysroot (it has no ostree/repo).`);
  });

  it('other missing paths, directories read as files, permissions: a sentence with the path', () => {
    const missing = join(tmp, 'gone');
    expect(explainError(thrown(() => readFileSync(missing)))!.message).toBe(`${missing} does not exist (while opening it).`);
    expect(explainError(thrown(() => readFileSync(`${tmp}/a-file/x`)))!.message).toBe(`Cannot open ${tmp}/a-file/x: a part of the path is not a directory.`);
    expect(explainError(systemError('EISDIR', 'open', '/etc'))!.message).toBe('/etc is a directory, where a file was expected.');
    const denied = explainError(systemError('EACCES', 'open', '/sysroot/ostree/repo/config'))!;
    expect(denied.message).toBe('Permission denied while opening /sysroot/ostree/repo/config.');
    expect(explainError(systemError('EMFILE', 'open', '/x'))!.message).toBe('Too many open files while opening /x.');
    expect(explainError(systemError('EMFILE', 'open', '/x'))!.hint).toMatch(/ulimit -n/);
    // An errno without its own sentence still names the call, the path and the errno.
    expect(explainError(thrown(() => renameSync('/proc/version', join(tmp, 'v'))))!.message).toBe('Cannot rename /proc/version: cross-device link not permitted (EXDEV).');
    expect(explainError(thrown(() => readdirSync(`${tmp}/a-file`)))!.message).toBe(`Cannot list ${tmp}/a-file: a part of the path is not a directory.`);
  });

  it('a tool that ran out of space (ostree, dpkg) gives the disk-full sentence, and keeps its output', () => {
    const tool = new ToolError('ostree', ['pull', 'origin'], { exitStatus: 1, stderr: 'error: Writing content object: fallocate: No space left on device\n', what: 'ostree pull from origin' });
    const e = explainError(tool)!;
    expect(e.message).toBe('No space left on device while running ostree pull from origin.');
    expect(e.hint).toMatch(/apt-ostree cleanup/);
    expect(e.detail).toMatch(/fallocate: No space left on device/);
    const minFree = new ToolError('ostree', ['pull'], { exitStatus: 1, stderr: "error: Writing content object: min-free-space-percent '3%' would be exceeded, at least 57.3 kB requested" });
    expect(explainError(minFree)!.message).toBe('No space left on device while running ostree pull.');
    // Also when wrapped in another error of ours.
    const wrapped = new AptOstreeError('Installing the packages failed.', { detail: 'dpkg output', cause: new ToolError('dpkg', ['--unpack'], { exitStatus: 2, stderr: "dpkg: error processing archive x.deb (--unpack):\n cannot copy extracted data for './usr/bin/x' to '/usr/bin/x.dpkg-new': failed to write (No space left on device)" }) });
    expect(explainError(wrapped)!.message).toBe('No space left on device while running dpkg --unpack.');
    // A tool failing for another reason stays as it was.
    const other = new ToolError('ostree', ['pull'], { exitStatus: 1, stderr: 'error: No such branch' });
    expect(explainError(other)).toBe(other);
    const input = new InputError('bad');
    expect(explainError(input)).toBe(input);
  });

  it('programming errors are not explained away', () => {
    expect(explainError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBeUndefined();
    expect(explainError(Object.assign(new TypeError('bad arg'), { code: 'ERR_INVALID_ARG_TYPE' }))).toBeUndefined();
    expect(explainError('a string')).toBeUndefined();
    expect(isSystemError(thrown(() => readFileSync(join(tmp, 'gone'))))).toBe(true);
    expect(isSystemError(new RangeError('x'))).toBe(false);
  });
});

describe('printable: what an error message may show', () => {
  it('escapes control characters and bidi overrides, keeps ordinary text', () => {
    expect(printable('plain text: é, 中文, ✓')).toBe('plain text: é, 中文, ✓');
    expect(printable("'\u001b[31mred\u0007' and \u202Eevil")).toBe("'\\x1b[31mred\\x07' and \\u{202e}evil");
    expect(printable('a\nb\tc')).toBe('a\\x0ab\\x09c');
    expect(printable('a\nb\tc', { multiline: true })).toBe('a\nb\tc');
  });

  it('turns what invalid UTF-8 leaves into replacement characters', () => {
    const bytes = Buffer.from([0x61, 0xff, 0xfe, 0x00, 0x62]).toString('utf8');
    expect(printable(bytes)).toBe('a\uFFFD\uFFFD\\x00b');
    expect(printable('x\uD800y')).toBe('x\uFFFDy');
    expect(printable('\uD83D\uDE00')).toBe('\uD83D\uDE00'); // a real pair stays
  });

  it('cuts a long word or quoted input with an ellipsis, keeping the quotes and the rest', () => {
    const long = 'x'.repeat(5000);
    const cut = printable(`'${long}' is not a valid package name.`);
    expect(cut).toBe(`'${'x'.repeat(200)}…' is not a valid package name.`);
    const spaced = printable(`'${'ab '.repeat(1000)}' is not one kernel argument.`);
    expect(spaced).toMatch(/^'(ab ){66}ab…' is not one kernel argument\.$/);
    expect(printable(`word ${long} end`)).toBe(`word ${'x'.repeat(200)}… end`);
    expect([...printable('ab '.repeat(2000))].length).toBeLessThanOrEqual(1001);
    const head = Buffer.alloc(4096);
    const fd = openSync(process.execPath, 'r');
    readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    const binary = printable(head.toString('utf8'));
    expect(binary).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect([...binary].length).toBeLessThanOrEqual(1001);
  });
});

describe('withoutControls: tool output as the tool wrote it, minus the terminal controls', () => {
  it('removes escape sequences and control characters, turns carriage returns into line ends', () => {
    expect(withoutControls('\u001b[1;31merror:\u001b[0m failed\r\nnext')).toBe('error: failed\nnext');
    expect(withoutControls('10%\r50%\r100%\n')).toBe('10%\n50%\n100%\n');
    expect(withoutControls('\u001b]0;title\u0007text\u0000\u0008 ok\tcol')).toBe('text ok\tcol');
    expect(withoutControls('Écrire: ü')).toBe('Écrire: ü');
  });
});
