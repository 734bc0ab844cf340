import { describe, expect, it } from 'vitest';
import { InputError } from '../../../../src/errors.js';
import {
  applyKargEdits,
  bootAddedBytes,
  checkBootKargs,
  editorText,
  KERNEL_COMMAND_LINE_SIZE,
  kargsRoom,
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

describe('what GRUB and the kernel would misread', () => {
  const GOOD = ['quiet', 'console=ttyS0,115200n8', 'root=UUID=0b5d1c3e-8f2a-4c1e-9d7b-2a6f0e4c9b11', 'rd.luks.options=discard', 'foo="a b"', 'x=', 'a=b=c', 'acpi_osi="!Windows 2012"', 'dyndbg="file drivers/usb/* +p"', 'init=/bin/sh', 'systemd.setenv=A=B', 'video=efifb:off'];
  const METACHARACTERS = ['|', '&', ';', '<', '>', '(', ')', '{', '}', '$', '`', '\\', "'", '#'];

  it('accepts ordinary arguments and a double-quoted value with spaces', () => {
    for (const a of GOOD) {
      validateKarg(a, '--append');
      validateKarg(a, '--karg', { single: true });
    }
    checkBootKargs(GOOD, 'debian');
  });

  it('refuses each character GRUB reads as syntax, naming the argument and why', () => {
    for (const c of METACHARACTERS) {
      for (const arg of [`x=a${c}b`, `x=${c}`, `${c}x`, `foo="a ${c} b"`]) {
        const e = inputError(() => validateKarg(arg, '--append'));
        expect(e.message, arg).toContain(`'${arg}' given to --append contains`);
        expect(e.message, arg).toMatch(/GRUB/);
        expect(e.hint).toContain('key="a b"');
        expect(inputError(() => checkBootKargs(['root=/dev/vda', arg], 'debian')).message, arg).toContain(`'${arg}'`);
      }
    }
    expect(inputError(() => validateKarg('x=1;reboot', '--append')).message).toContain("';'");
    expect(inputError(() => validateKarg('#x', '--append')).message).toContain('comment, ostree= included');
    expect(inputError(() => validateKarg('x=$(reboot)', '--append')).message).toContain('expands');
    expect(inputError(() => validateKarg("x='a b'", '--append')).message).toContain('a single quote');
  });

  it('refuses newlines and other whitespace than a space inside quotes, and quotes not around a whole value', () => {
    for (const arg of ['x=a\nb', 'x="a\tb"', 'x="a\rb"']) expect(inputError(() => validateKarg(arg, '--append')).message).toContain('control character');
    for (const arg of ['"x=a b"', 'x=a"b c"', 'x="a"b', 'k"y"=v']) expect(inputError(() => validateKarg(arg, '--append')).message, arg).toContain('does not enclose its whole value');
    expect(inputError(() => parseEditorText('root=/dev/vda x=a|b')).message).toContain("'x=a|b'");
  });

  it('lets --delete name an argument an older version let in', () => {
    validateKarg('x=$(reboot)', '--delete', { removal: true });
    validateKarg('"x=a b"', '--delete-if-present', { removal: true });
    expect(inputError(() => validateKarg('a\nb', '--delete', { removal: true })).message).toContain('control character');
  });

  it('keeps the command line within 2048 bytes with the room BOOT_IMAGE= and ostree= need', () => {
    const os = 'debian';
    // What the boot adds, written out for the longest cases it allows for.
    const bootImage = `BOOT_IMAGE=/boot/ostree/${os}-${'a'.repeat(64)}/vmlinuz-${'v'.repeat(64)}`;
    const ostreeArg = `ostree=/ostree/boot.1/${os}/${'b'.repeat(64)}/999`;
    expect(bootAddedBytes(os)).toBe(bootImage.length + ostreeArg.length + 3);
    expect(bootAddedBytes(os)).toBe(268);
    expect(ostreeArg.length).toBe(97);
    expect(kargsRoom(os)).toBe(KERNEL_COMMAND_LINE_SIZE - 268);
    expect(bootAddedBytes('a-much-longer-stateroot')).toBe(bootAddedBytes(os) + 2 * ('a-much-longer-stateroot'.length - os.length));
    const fill = (bytes: number) => ['root=/dev/vda', `x=${'y'.repeat(bytes - 'root=/dev/vda '.length - 2)}`];
    expect(fill(kargsRoom(os)).join(' ')).toHaveLength(kargsRoom(os));
    checkBootKargs(fill(kargsRoom(os)), os);
    const e = inputError(() => checkBootKargs(fill(kargsRoom(os) + 1), os));
    expect(e.message).toBe(`The kernel arguments of the new deployment take ${kargsRoom(os) + 1} bytes, over the 1780 that fit: the kernel keeps 2048 bytes of its command line, 268 of which are kept for GRUB's BOOT_IMAGE= and ostree's ostree= (last, so it would be cut and the deployment would not boot).`);
    // Counted in bytes, not characters.
    expect(() => checkBootKargs(['root=/dev/vda', `x=${'é'.repeat(900)}`], os)).toThrow(/take 1816 bytes/);
    expect(() => checkBootKargs([`x=${'y'.repeat(10_000)}`], os)).toThrow(InputError);
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
