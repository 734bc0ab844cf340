/**
 * A reader for GVariant in its serialized (normal) form, enough to read OSTree commit objects
 * and the staged-deployment file without starting `ostree` (status must stay fast).
 * Reference: the GVariant serialization specification (framing offsets, alignment).
 */

export type GValue = string | number | bigint | boolean | null | Uint8Array | GValue[] | GVariantBox | Map<GValue, GValue>;

/** A value of type 'v': its own type string and value. */
export interface GVariantBox {
  type: string;
  value: GValue;
}

type TypeNode =
  | { kind: 'basic'; code: string; size: number; align: number }
  | { kind: 'string'; code: string }
  | { kind: 'variant' }
  | { kind: 'array'; elem: TypeNode }
  | { kind: 'maybe'; elem: TypeNode }
  | { kind: 'tuple'; members: TypeNode[]; dict: boolean };

const BASIC: Record<string, [number, number]> = {
  b: [1, 1], y: [1, 1], n: [2, 2], q: [2, 2], i: [4, 4], u: [4, 4], h: [4, 4], x: [8, 8], t: [8, 8], d: [8, 8],
};

const typeCache = new Map<string, TypeNode>();

function parseType(sig: string): TypeNode {
  const cached = typeCache.get(sig);
  if (cached) return cached;
  const [node, rest] = parseOne(sig, 0);
  if (rest !== sig.length) throw new Error(`invalid GVariant type '${sig}'`);
  typeCache.set(sig, node);
  return node;
}

function parseOne(sig: string, pos: number): [TypeNode, number] {
  const c = sig[pos];
  if (c === undefined) throw new Error(`invalid GVariant type '${sig}'`);
  if (BASIC[c]) return [{ kind: 'basic', code: c, size: BASIC[c][0], align: BASIC[c][1] }, pos + 1];
  if (c === 's' || c === 'o' || c === 'g') return [{ kind: 'string', code: c }, pos + 1];
  if (c === 'v') return [{ kind: 'variant' }, pos + 1];
  if (c === 'a') {
    const [elem, next] = parseOne(sig, pos + 1);
    return [{ kind: 'array', elem }, next];
  }
  if (c === 'm') {
    const [elem, next] = parseOne(sig, pos + 1);
    return [{ kind: 'maybe', elem }, next];
  }
  if (c === '(' || c === '{') {
    const close = c === '(' ? ')' : '}';
    const members: TypeNode[] = [];
    let p = pos + 1;
    while (sig[p] !== close) {
      const [m, next] = parseOne(sig, p);
      members.push(m);
      p = next;
    }
    return [{ kind: 'tuple', members, dict: c === '{' }, p + 1];
  }
  throw new Error(`unsupported GVariant type '${c}' in '${sig}'`);
}

function alignOf(t: TypeNode): number {
  switch (t.kind) {
    case 'basic': return t.align;
    case 'string': return 1;
    case 'variant': return 8;
    case 'array': case 'maybe': return alignOf(t.elem);
    case 'tuple': return t.members.reduce((a, m) => Math.max(a, alignOf(m)), 1);
  }
}

/** Fixed size in bytes, or undefined for variable-sized types. */
function fixedSize(t: TypeNode): number | undefined {
  switch (t.kind) {
    case 'basic': return t.size;
    case 'tuple': {
      let size = 0;
      for (const m of t.members) {
        const ms = fixedSize(m);
        if (ms === undefined) return undefined;
        size = alignUp(size, alignOf(m)) + ms;
      }
      // The empty tuple '()' has size 1.
      return t.members.length === 0 ? 1 : alignUp(size, alignOf(t));
    }
    default: return undefined;
  }
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function offsetSize(containerSize: number): number {
  if (containerSize <= 0xff) return 1;
  if (containerSize <= 0xffff) return 2;
  if (containerSize <= 0xffffffff) return 4;
  return 8;
}

function readOffset(buf: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + buf[at + i]!;
  return v;
}

/** Deserialize `data` (little-endian normal form) as type `sig`. */
export function readGVariant(sig: string, data: Uint8Array): GValue {
  return read(parseType(sig), data);
}

function read(t: TypeNode, buf: Uint8Array): GValue {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  switch (t.kind) {
    case 'basic': {
      if (buf.length < t.size) return defaultBasic(t.code);
      switch (t.code) {
        case 'b': return buf[0] !== 0;
        case 'y': return buf[0]!;
        case 'n': return view.getInt16(0, true);
        case 'q': return view.getUint16(0, true);
        case 'i': case 'h': return view.getInt32(0, true);
        case 'u': return view.getUint32(0, true);
        case 'x': return view.getBigInt64(0, true);
        case 't': return view.getBigUint64(0, true);
        case 'd': return view.getFloat64(0, true);
      }
      throw new Error(`unreachable basic ${t.code}`);
    }
    case 'string': {
      const end = buf.length > 0 && buf[buf.length - 1] === 0 ? buf.length - 1 : buf.length;
      return new TextDecoder().decode(buf.subarray(0, end));
    }
    case 'variant': {
      const nul = buf.lastIndexOf(0);
      if (nul < 0) return { type: '()', value: [] };
      const type = new TextDecoder().decode(buf.subarray(nul + 1));
      return { type, value: read(parseType(type), buf.subarray(0, nul)) };
    }
    case 'maybe': {
      if (buf.length === 0) return null;
      const fs = fixedSize(t.elem);
      return read(t.elem, fs !== undefined ? buf : buf.subarray(0, buf.length - 1));
    }
    case 'array': return readArray(t.elem, buf);
    case 'tuple': return readTuple(t, buf);
  }
}

function defaultBasic(code: string): GValue {
  if (code === 'b') return false;
  if (code === 'x' || code === 't') return 0n;
  return 0;
}

function readArray(elem: TypeNode, buf: Uint8Array): GValue {
  const isDict = elem.kind === 'tuple' && elem.dict;
  const items: GValue[] = [];
  const fs = fixedSize(elem);
  if (elem.kind === 'basic' && elem.code === 'y') return buf.slice();
  if (fs !== undefined) {
    for (let p = 0; p + fs <= buf.length; p += fs) items.push(read(elem, buf.subarray(p, p + fs)));
  } else if (buf.length > 0) {
    const os = offsetSize(buf.length);
    const tableStart = readOffset(buf, buf.length - os, os);
    const n = (buf.length - tableStart) / os;
    const align = alignOf(elem);
    let start = 0;
    for (let i = 0; i < n; i++) {
      const end = readOffset(buf, tableStart + i * os, os);
      items.push(read(elem, buf.subarray(start, end)));
      start = alignUp(end, align);
    }
  }
  if (!isDict) return items;
  const map = new Map<GValue, GValue>();
  for (const entry of items as GValue[][]) map.set(entry[0]!, entry[1]!);
  return map;
}

function readTuple(t: Extract<TypeNode, { kind: 'tuple' }>, buf: Uint8Array): GValue[] {
  const os = offsetSize(buf.length);
  let frameEnd = buf.length;
  let pos = 0;
  const out: GValue[] = [];
  t.members.forEach((m, idx) => {
    pos = alignUp(pos, alignOf(m));
    const fs = fixedSize(m);
    let end: number;
    if (fs !== undefined) end = pos + fs;
    else if (idx === t.members.length - 1) end = frameEnd;
    else {
      frameEnd -= os;
      end = readOffset(buf, frameEnd, os);
    }
    out.push(read(m, buf.subarray(pos, Math.min(end, buf.length))));
    pos = end;
  });
  return out;
}

/** Unbox a{sv} into a plain object of unboxed values. */
export function vardictToObject(v: GValue): Record<string, GValue> {
  const out: Record<string, GValue> = {};
  if (v instanceof Map) {
    // defineProperty: a key named __proto__ is data, not the object's prototype.
    for (const [k, val] of v) Object.defineProperty(out, String(k), { value: isBox(val) ? val.value : val, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export function isBox(v: unknown): v is GVariantBox {
  return typeof v === 'object' && v !== null && !(v instanceof Map) && !Array.isArray(v) && !(v instanceof Uint8Array) && 'type' in v && 'value' in v;
}

export function toHex(bytes: GValue): string {
  return bytes instanceof Uint8Array ? Buffer.from(bytes).toString('hex') : '';
}
