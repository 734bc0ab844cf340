import { describe, expect, it } from 'vitest';
import { InputError } from '../../../../src/errors.js';
import {
  applyKargEdits,
  editorText,
  KernelArgs,
  kargsFromProcCmdline,
  parseEditorText,
  splitKernelArgs,
  validateKarg,
} from '../../../../src/engine/deployments/kargs.js';

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

const BASE = ['root=/dev/vda', 'rw', 'console=tty0', 'console=ttyS0,115200', 'quiet'];

describe('splitKernelArgs', () => {
  it('splits at spaces outside double quotes and drops empty pieces', () => {
    expect(splitKernelArgs('  a=1  b "c=x y"  d="p q" e')).toEqual(['a=1', 'b', '"c=x y"', 'd="p q"', 'e']);
    expect(splitKernelArgs('')).toEqual([]);
    expect(splitKernelArgs('x\ny\tz')).toEqual(['x', 'y', 'z']);
  });
});

describe('append', () => {
  it('appends at the end, keeping duplicates of a key in order', () => {
    expect(applyKargEdits(BASE, { append: ['console=ttyS1', 'foo'] })).toEqual([...BASE, 'console=ttyS1', 'foo']);
    expect(applyKargEdits(['a'], { append: ['a', 'a'] })).toEqual(['a', 'a', 'a']);
  });

  it('splits one value with several arguments, keeping quoted spaces', () => {
    expect(applyKargEdits(['a'], { append: ['b=1 c="x y"'] })).toEqual(['a', 'b=1', 'c="x y"']);
  });

  it('append-if-missing looks for the exact argument, not only the key', () => {
    expect(applyKargEdits(BASE, { appendIfMissing: ['console=tty0'] })).toEqual(BASE);
    expect(applyKargEdits(BASE, { appendIfMissing: ['console=tty1'] })).toEqual([...BASE, 'console=tty1']);
    expect(applyKargEdits(BASE, { appendIfMissing: ['quiet'] })).toEqual(BASE);
    // rpm-ostree: --append=foo --append-if-missing=foo gives one foo
    expect(applyKargEdits([], { append: ['foo'], appendIfMissing: ['foo'] })).toEqual(['foo']);
    expect(applyKargEdits([], { appendIfMissing: ['bar=foo', 'bar=foo'] })).toEqual(['bar=foo']);
  });
});

describe('delete', () => {
  it('deletes a key with one value by key or by exact value', () => {
    expect(applyKargEdits(BASE, { delete: ['quiet'] })).toEqual(['root=/dev/vda', 'rw', 'console=tty0', 'console=ttyS0,115200']);
    expect(applyKargEdits(BASE, { delete: ['root=/dev/vda'] })).toEqual(BASE.slice(1));
    expect(applyKargEdits(BASE, { delete: ['root'] })).toEqual(BASE.slice(1));
  });

  it('deletes one of several values when named', () => {
    expect(applyKargEdits(BASE, { delete: ['console=ttyS0,115200'] })).toEqual(['root=/dev/vda', 'rw', 'console=tty0', 'quiet']);
    expect(applyKargEdits(['a', 'a=1'], { delete: ['a'] })).toEqual(['a=1']); // the bare one
  });

  it('refuses a bare key with several values and names the values', () => {
    const e = inputError(() => applyKargEdits(BASE, { delete: ['console'] }));
    expect(e.message).toContain("'console' has several values");
    expect(e.message).toContain('console=tty0, console=ttyS0,115200');
    expect(e.hint).toContain('--delete console=');
  });

  it('refuses missing keys and values', () => {
    expect(inputError(() => applyKargEdits(BASE, { delete: ['nosuch'] })).message).toContain("no kernel argument 'nosuch'");
    const e = inputError(() => applyKargEdits(BASE, { delete: ['root=/dev/sda'] }));
    expect(e.message).toContain("'root=/dev/sda'");
    expect(e.message).toContain('root=/dev/vda');
    expect(inputError(() => applyKargEdits(BASE, { delete: ['console=tty9'] })).message).toContain("'console=tty9'");
  });

  it('delete-if-present does nothing unless the exact argument is there', () => {
    expect(applyKargEdits(BASE, { deleteIfPresent: ['nosuch', 'root=/dev/sda', 'console=tty9'] })).toEqual(BASE);
    expect(applyKargEdits(BASE, { deleteIfPresent: ['console=tty0', 'quiet'] })).toEqual(['root=/dev/vda', 'rw', 'console=ttyS0,115200']);
  });
});

describe('replace', () => {
  it('KEY=OLD=NEW changes that value in place', () => {
    expect(applyKargEdits(BASE, { replace: ['console=tty0=tty1'] })).toEqual(['root=/dev/vda', 'rw', 'console=tty1', 'console=ttyS0,115200', 'quiet']);
  });

  it('KEY=NEW works when the key has one value, in place', () => {
    expect(applyKargEdits(BASE, { replace: ['root=/dev/sda1'] })).toEqual(['root=/dev/sda1', 'rw', 'console=tty0', 'console=ttyS0,115200', 'quiet']);
    expect(applyKargEdits(['a', 'quiet', 'b'], { replace: ['quiet=1'] })).toEqual(['a', 'quiet=1', 'b']);
  });

  it('refuses ambiguous and missing targets', () => {
    expect(inputError(() => applyKargEdits(BASE, { replace: ['console=tty5'] })).message).toContain("'console' has several values");
    expect(inputError(() => applyKargEdits(BASE, { replace: ['nosuch=1'] })).message).toContain("'nosuch'");
    expect(inputError(() => applyKargEdits(BASE, { replace: ['console=tty9=tty1'] })).message).toContain("'console=tty9'");
  });
});

describe('order of edits (rpm-ostree: delete, replace, append, append-if-missing, delete-if-present)', () => {
  it('applies deletes before appends', () => {
    expect(applyKargEdits(['a=1'], { append: ['a=2'], delete: ['a'] })).toEqual(['a=2']);
  });
  it('delete-if-present sees what append added', () => {
    expect(applyKargEdits([], { append: ['x'], deleteIfPresent: ['x'] })).toEqual([]);
  });
});

describe('KernelArgs', () => {
  it('lists the values of a key and round-trips', () => {
    const k = KernelArgs.parse('a b=1 b=2 c= "d=x y"');
    expect(k.values('b')).toEqual(['1', '2']);
    expect(k.values('c')).toEqual(['']);
    expect(k.values('a')).toEqual([undefined]);
    expect(k.toString()).toBe('a b=1 b=2 c= "d=x y"');
  });
});

describe('validateKarg', () => {
  it('accepts ordinary arguments', () => {
    for (const a of ['quiet', 'console=ttyS0,115200n8', 'foo="a b"', 'x=', 'a=b=c']) validateKarg(a, '--append');
  });
  it('rejects ostree=, control characters, empty keys and unbalanced quotes', () => {
    expect(inputError(() => validateKarg('ostree=/x', '--append')).message).toContain("'ostree='");
    expect(inputError(() => validateKarg('a\nb', '--append')).message).toContain('control character');
    expect(inputError(() => validateKarg('=1', '--append')).message).toContain('no key');
    expect(inputError(() => validateKarg('a="b', '--append')).message).toContain('unbalanced');
    expect(inputError(() => validateKarg('  ', '--append')).message).toContain('empty');
  });
  it('with single (--karg of compose and provision), takes exactly one argument', () => {
    for (const a of ['quiet', 'foo="a b"', 'console=ttyS0,115200n8']) validateKarg(a, '--karg', { single: true });
    expect(inputError(() => validateKarg('a b', '--karg', { single: true })).message).toBe("'a b' is not one kernel argument.");
    expect(inputError(() => validateKarg('ostree=/x', '--karg', { single: true })).message).toContain("'ostree='");
    expect(inputError(() => validateKarg('', '--karg', { single: true })).message).toContain('empty');
  });
});

describe('proc cmdline and editor text', () => {
  it('drops boot loader and ostree arguments from /proc/cmdline', () => {
    expect(kargsFromProcCmdline('BOOT_IMAGE=/vmlinuz initrd=/i root=UUID=1 ro ostree=/ostree/boot.1/x/y/0 quiet\n')).toEqual(['root=UUID=1', 'ro', 'quiet']);
  });

  it('reads the edited text back: comments and blank lines ignored, lines joined', () => {
    const text = editorText(['root=/dev/vda', 'rw']);
    expect(text).toMatch(/^# /);
    expect(parseEditorText(text)).toEqual(['root=/dev/vda', 'rw']);
    expect(parseEditorText('# c\nroot=/dev/vda\n\n  console=tty0  \nconsole=ttyS0\n# x=y\n')).toEqual(['root=/dev/vda', 'console=tty0', 'console=ttyS0']);
  });

  it('refuses an empty result, ostree= and unbalanced quotes', () => {
    expect(inputError(() => parseEditorText('# nothing\n\n')).message).toContain('empty');
    expect(inputError(() => parseEditorText('root=/dev/vda ostree=/x')).message).toContain('ostree=');
    expect(inputError(() => parseEditorText('a="b')).message).toContain('unbalanced');
  });
});
