// The GVariant reader at byte level: buffers built by hand after the serialization spec
// (alignment, fixed and variable sizes, framing offsets of 1, 2 and 4 bytes). The bytes GLib itself
// wrote are read in test/integration/agreement/ostree-gvariant.test.ts.
import { describe, expect, it } from 'vitest';
import { isBox, readGVariant, toHex, vardictToObject, type GValue } from '../../../src/ostree/gvariant.js';

/** Bytes from parts: a string is its UTF-8 bytes (write '\0' for NULs), a number one byte. */
function b(...parts: Array<string | number | number[]>): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') out.push(...Buffer.from(p, 'utf8'));
    else if (typeof p === 'number') out.push(p);
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const zeros = (n: number) => new Array<number>(n).fill(0);
const le16 = (n: number) => [n & 0xff, n >> 8];
const le32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];

describe('fixed-size basic types (little-endian)', () => {
  it('reads each at its size', () => {
    expect(readGVariant('y', b(0xff))).toBe(255);
    expect(readGVariant('b', b(1))).toBe(true);
    expect(readGVariant('b', b(0))).toBe(false);
    expect(readGVariant('n', b(0xfe, 0xff))).toBe(-2);
    expect(readGVariant('q', b(0xfe, 0xff))).toBe(65534);
    expect(readGVariant('i', b(0xf9, 0xff, 0xff, 0xff))).toBe(-7);
    expect(readGVariant('h', b(0xf9, 0xff, 0xff, 0xff))).toBe(-7);
    expect(readGVariant('u', b(0xf9, 0xff, 0xff, 0xff))).toBe(4294967289);
    expect(readGVariant('u', b(1, 2, 3, 4))).toBe(0x04030201);
    expect(readGVariant('x', b(zeros(8).fill(0xff)))).toBe(-1n);
    expect(readGVariant('t', b(zeros(8).fill(0xff)))).toBe(2n ** 64n - 1n);
    expect(readGVariant('t', b(1, 0, 0, 0, 0, 0, 0, 0x80))).toBe(2n ** 63n + 1n);
    expect(readGVariant('d', b(0, 0, 0, 0, 0, 0, 0xf8, 0x3f))).toBe(1.5);
  });

  it('gives the default value for data too short, as the spec asks', () => {
    expect(readGVariant('u', b(1, 2))).toBe(0);
    expect(readGVariant('t', b())).toBe(0n);
    expect(readGVariant('x', b(1))).toBe(0n);
    expect(readGVariant('b', b())).toBe(false);
  });
});

describe('strings', () => {
  it('reads s, o and g up to their NUL, as UTF-8', () => {
    expect(readGVariant('s', b('hello\0'))).toBe('hello');
    expect(readGVariant('s', b('\0'))).toBe('');
    expect(readGVariant('s', b(0x63, 0x61, 0x66, 0xc3, 0xa9, 0))).toBe('café');
    expect(readGVariant('o', b('/org/x\0'))).toBe('/org/x');
    expect(readGVariant('g', b('a{sv}\0'))).toBe('a{sv}');
  });
});

describe('arrays', () => {
  it('reads ay as a copy of its bytes', () => {
    const buf = b(1, 2, 3);
    const v = readGVariant('ay', buf) as Uint8Array;
    expect(v).toBeInstanceOf(Uint8Array);
    expect([...v]).toEqual([1, 2, 3]);
    buf[0] = 9;
    expect(v[0]).toBe(1);
    expect([...(readGVariant('ay', b()) as Uint8Array)]).toEqual([]);
  });

  it('reads fixed-size elements back to back, without framing offsets', () => {
    expect(readGVariant('au', b(1, 0, 0, 0, 2, 0, 0, 0))).toEqual([1, 2]);
    expect(readGVariant('aq', b(1, 0, 0xff, 0xff))).toEqual([1, 65535]);
    expect(readGVariant('au', b())).toEqual([]);
    // (yu): y, three bytes of padding to align u to 4; 8 bytes each.
    expect(readGVariant('a(yu)', b(7, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0))).toEqual([[7, 1], [8, 2]]);
    // (ty) is 9 bytes of data padded to 16, its alignment being 8: the padding is part of each element.
    expect(readGVariant('a(ty)', b(1, zeros(7), 0x41, zeros(7), 2, zeros(7), 0x42, zeros(7)))).toEqual([[1n, 0x41], [2n, 0x42]]);
  });

  it('reads variable-size elements through the framing offsets at the end (1 byte each)', () => {
    // The spec's own example of 'as' ["i", "can", "has", "strings?"], and ostree's ['a', 'bb', 'ccc'].
    expect(readGVariant('as', b('i\0can\0has\0strings?\0', 2, 6, 10, 19))).toEqual(['i', 'can', 'has', 'strings?']);
    expect(readGVariant('as', b('a\0bb\0ccc\0', 2, 5, 9))).toEqual(['a', 'bb', 'ccc']);
    expect(readGVariant('as', b('\0', 1))).toEqual(['']);
    expect(readGVariant('as', b())).toEqual([]);
    // aay: elements of 2 and 1 bytes, offsets 2 and 3.
    expect((readGVariant('aay', b(1, 2, 3, 2, 3)) as Uint8Array[]).map((x) => [...x])).toEqual([[1, 2], [3]]);
  });

  it('skips the padding between variable-size elements that have an alignment', () => {
    // (su): "a\0", 2 bytes of padding, u → 8 bytes, then its own framing offset (2): 9 bytes.
    // The second element starts at 12 (aligned to 4); the array's offsets are 9 and 21.
    const e1 = ['a\0', 0, 0, ...le32(1), 2];
    const e2 = ['bc\0', 0, ...le32(2), 3];
    expect(readGVariant('a(su)', b(...e1, 0, 0, 0, ...e2, 9, 21))).toEqual([['a', 1], ['bc', 2]]);
  });

  it('uses 1-byte offsets up to a container of 255 bytes and 2-byte offsets beyond', () => {
    // 126 + 127 bytes of strings and two 1-byte offsets: 255 bytes.
    const a = 'a'.repeat(125);
    const bb = 'b'.repeat(126);
    const small = b(a, 0, bb, 0, 126, 253);
    expect(small.length).toBe(255);
    expect(readGVariant('as', small)).toEqual([a, bb]);
    // One byte more of string: 1-byte offsets would make 256, so the offsets take 2 bytes (258).
    const bbb = 'b'.repeat(127);
    const large = b(a, 0, bbb, 0, le16(126), le16(254));
    expect(large.length).toBe(258);
    expect(readGVariant('as', large)).toEqual([a, bbb]);
  });

  it('uses 4-byte offsets for a container over 65535 bytes', () => {
    const x = 'x'.repeat(40000);
    const y = 'y'.repeat(40000);
    const buf = b(x, 0, y, 0, le32(40001), le32(80002));
    expect(buf.length).toBe(80010);
    expect(readGVariant('as', buf)).toEqual([x, y]);
  });
});

describe('tuples and dictionary entries', () => {
  it('reads fixed-size members at their alignment', () => {
    // u at 0, padding to 8, t at 8.
    expect(readGVariant('(ut)', b(...le32(7), 0, 0, 0, 0, 5, zeros(7)))).toEqual([7, 5n]);
    expect(readGVariant('(yy)', b(1, 2))).toEqual([1, 2]);
    expect(readGVariant('()', b(0))).toEqual([]);
  });

  it('gives a non-last variable-size member a framing offset at the end, the last one none', () => {
    expect(readGVariant('(sy)', b('ab\0', 7, 3))).toEqual(['ab', 7]);
    expect(readGVariant('(ys)', b(7, 'ab\0'))).toEqual([7, 'ab']);
    // (su) as GLib writes ("s", uint32 9): "s\0", padding to 4, u, offset 2.
    expect(readGVariant('(su)', b('s\0', 0, 0, ...le32(9), 2))).toEqual(['s', 9]);
    // A lone variable-size member has no offset: here the array's own offsets follow.
    expect(readGVariant('(as)', b('a\0bb\0', 2, 5))).toEqual([['a', 'bb']]);
  });

  it('stores the offsets of several variable-size members in reverse order', () => {
    // Ends of members 1 and 2 are 2 and 5: the first member's offset is the last byte.
    expect(readGVariant('(sss)', b('a\0bb\0ccc\0', 5, 2))).toEqual(['a', 'bb', 'ccc']);
  });

  it('uses 2-byte offsets in a tuple over 255 bytes', () => {
    const long = 'x'.repeat(300);
    expect(readGVariant('(ss)', b(long, 0, 'y\0', le16(301)))).toEqual([long, 'y']);
  });

  it('reads a{yu}: fixed-size dictionary entries, as a Map', () => {
    const m = readGVariant('a{yu}', b(1, 0, 0, 0, ...le32(10), 2, 0, 0, 0, ...le32(20)));
    expect(m).toEqual(new Map([[1, 10], [2, 20]]));
  });
});

describe('maybes', () => {
  it('reads a fixed-size maybe: Nothing is empty, Just is the value alone', () => {
    expect(readGVariant('mu', b())).toBeNull();
    expect(readGVariant('mu', b(...le32(5)))).toBe(5);
  });

  it('reads a variable-size maybe: Just is the value and one zero byte', () => {
    expect(readGVariant('ms', b())).toBeNull();
    expect(readGVariant('ms', b('x\0', 0))).toBe('x');
    expect(readGVariant('ms', b('\0', 0))).toBe('');
    // Just an empty array is one byte, and is not Nothing.
    expect(readGVariant('mas', b(0))).toEqual([]);
    expect(readGVariant('mas', b())).toBeNull();
  });
});

describe('variants', () => {
  it('reads the value, then the type string after the last NUL', () => {
    expect(readGVariant('v', b(...le32(5), 0, 'u'))).toEqual({ type: 'u', value: 5 });
    expect(readGVariant('v', b('hi\0', 0, 's'))).toEqual({ type: 's', value: 'hi' });
    expect(readGVariant('v', b('a\0', 2, 0, 'as'))).toEqual({ type: 'as', value: ['a'] });
    // A variant in a variant: <<uint32 5>>.
    expect(readGVariant('v', b(...le32(5), 0, 'u', 0, 'v'))).toEqual({ type: 'v', value: { type: 'u', value: 5 } });
    // Empty data is the unit: ().
    expect(readGVariant('v', b())).toEqual({ type: '()', value: [] });
  });

  it('aligns a variant to 8 inside a container', () => {
    expect(readGVariant('(yv)', b(1, zeros(7), ...le32(5), 0, 'u'))).toEqual([1, { type: 'u', value: 5 }]);
  });

  it('reads a{sv}, with padding before each value and between entries', () => {
    // {"k": <uint32 5>}: "k\0", padding to 8, the variant (6 bytes), the key's offset 2 → 15 bytes.
    const e1 = ['k\0', ...zeros(6), ...le32(5), 0, 'u', 2];
    // {"n": <"x">}: "n\0", padding to 8, "x\0" "\0" "s", offset 2 → 13 bytes; it starts at 16.
    const e2 = ['n\0', ...zeros(6), 'x\0', 0, 's', 2];
    const dict = readGVariant('a{sv}', b(...e1, 0, ...e2, 15, 29));
    expect(dict).toEqual(new Map<GValue, GValue>([['k', { type: 'u', value: 5 }], ['n', { type: 's', value: 'x' }]]));
    expect(vardictToObject(dict)).toEqual({ k: 5, n: 'x' });
    expect(readGVariant('a{sv}', b())).toEqual(new Map());
  });
});

describe('type strings', () => {
  it('refuses incomplete, extra and unknown types', () => {
    for (const sig of ['', '(s', 'a', 'm', 'ss', 'a{sv', 'as)']) expect(() => readGVariant(sig, b()), sig).toThrow(/invalid GVariant type/);
    for (const sig of ['*', 'r', '?', 'a*', '(s}']) expect(() => readGVariant(sig, b()), sig).toThrow(/unsupported GVariant type/);
    // The type inside a variant is checked the same way.
    expect(() => readGVariant('v', b(0, 'q*'))).toThrow(/GVariant type/);
  });
});

describe('helpers', () => {
  it('isBox tells a variant apart from the other values', () => {
    expect(isBox({ type: 's', value: 'x' })).toBe(true);
    for (const v of ['s', 1, null, [1], new Map(), new Uint8Array(1), { type: 's' }]) expect(isBox(v), String(v)).toBe(false);
  });

  it('vardictToObject unboxes variants, keeps other values, and ignores what is not a dictionary', () => {
    expect(vardictToObject(new Map<GValue, GValue>([['a', 1], ['b', { type: 'as', value: ['x'] }]]))).toEqual({ a: 1, b: ['x'] });
    expect(vardictToObject(['a', 1])).toEqual({});
  });

  it('toHex writes bytes as lowercase hex, and nothing for other values', () => {
    expect(toHex(b(0x0a, 0xff, 0))).toBe('0aff00');
    expect(toHex(b())).toBe('');
    expect(toHex('0aff')).toBe('');
  });

  it('vardictToObject keeps a key named __proto__ as data, without changing the prototype', () => {
    const o = vardictToObject(new Map<GValue, GValue>([['__proto__', { type: 'as', value: ['x'] }]]));
    expect(Object.keys(o)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
  });
});
