/**
 * Values for the bus: the status JSON of a deployment as a{sv} with the types rpm-ostree uses,
 * commit metadata with the types it has in the commit object, and plain JSON otherwise.
 * Loaded only with --dbus-compat (it imports dbus-next).
 */
import dbus from 'dbus-next';
import { commitObjectPath } from '../ostree/commit.js';
import { isBox, readGVariant, type GValue } from '../ostree/gvariant.js';
import { readFileSync } from 'node:fs';
import { META } from '../layout/commit-metadata.js';

const { Variant } = dbus;
export type Variant = InstanceType<typeof Variant>;
export type VarDict = Record<string, Variant>;

/** The types rpm-ostree gives the keys of a deployment dictionary; other keys are inferred. */
const DEPLOYMENT_KEY_TYPES: Record<string, string> = {
  id: 's',
  osname: 's',
  serial: 'i',
  checksum: 's',
  'base-checksum': 's',
  version: 's',
  timestamp: 't',
  origin: 's',
  booted: 'b',
  staged: 'b',
  pinned: 'b',
  unlocked: 's',
  'live-replaced': 's',
  'live-inprogress': 's',
  'requested-packages': 'as',
  'requested-local-packages': 'as',
  packages: 'as',
  'requested-base-removals': 'as',
  'base-removals': 'as',
  'requested-base-local-replacements': 'as',
  'base-local-replacements': 'as',
  'regenerate-initramfs': 'b',
  'initramfs-args': 'as',
  'override-commit': 's',
  kargs: 'as',
};

/** Keys of commit metadata left out, as rpm-ostree leaves out its package list: large, and promoted to their own keys. */
const FILTERED_COMMIT_META = new Set<string>([META.pkglist, META.packages, META.removedBasePackages, META.replacedBasePackages]);

/** A JSON value as a variant: strings s, booleans b, whole numbers t (x when negative), others d, string lists as. */
function jsonVariant(value: unknown, type?: string): Variant | undefined {
  if (value === null || value === undefined) return undefined;
  if (type) return new Variant(type, coerce(value, type));
  switch (typeof value) {
    case 'string':
      return new Variant('s', value);
    case 'boolean':
      return new Variant('b', value);
    case 'number':
      if (Number.isSafeInteger(value)) return value >= 0 ? new Variant('t', value) : new Variant('x', value);
      return Number.isFinite(value) ? new Variant('d', value) : undefined;
    case 'bigint':
      return value >= 0n ? new Variant('t', value) : new Variant('x', value);
    case 'object': {
      if (Array.isArray(value)) {
        if (value.every((v) => typeof v === 'string')) return new Variant('as', value);
        if (value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) return new Variant('aa{sv}', value.map((v) => jsonDict(v as Record<string, unknown>)));
        return new Variant('av', value.map((v) => jsonVariant(v)).filter((v): v is Variant => v !== undefined));
      }
      return new Variant('a{sv}', jsonDict(value as Record<string, unknown>));
    }
    default:
      return undefined;
  }
}

function coerce(value: unknown, type: string): unknown {
  switch (type) {
    case 's':
    case 'o':
      return String(value);
    case 'b':
      return Boolean(value);
    case 'as':
      return Array.isArray(value) ? value.map(String) : [];
    default:
      return value;
  }
}

/** A JSON object as a{sv}; keys whose value is null (DBus has no null) are left out. */
export function jsonDict(obj: Record<string, unknown>, types: Record<string, string> = {}): VarDict {
  const out: VarDict = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === '__proto__') continue;
    const variant = jsonVariant(v, types[k]);
    if (variant) out[k] = variant;
  }
  return out;
}

/**
 * A deployment of `status --json` as rpm-ostree's deployment dictionary. The commit metadata
 * keys are read again from the commit objects so that their values keep their own types.
 */
export function deploymentDict(status: Record<string, unknown>, repoPath: string): VarDict {
  const { 'base-commit-meta': baseMeta, 'layered-commit-meta': layeredMeta, ...rest } = status;
  const dict = jsonDict(rest, DEPLOYMENT_KEY_TYPES);
  const checksum = String(status.checksum ?? '');
  const base = String(status['base-checksum'] ?? checksum);
  if (baseMeta !== undefined) dict['base-commit-meta'] = new Variant('a{sv}', commitMetaDict(repoPath, base) ?? jsonDict(baseMeta as Record<string, unknown>));
  if (layeredMeta !== undefined) dict['layered-commit-meta'] = new Variant('a{sv}', commitMetaDict(repoPath, checksum) ?? jsonDict(layeredMeta as Record<string, unknown>));
  return dict;
}

/** The metadata of a commit with the types it was written with, or undefined when it cannot be read. */
function commitMetaDict(repoPath: string, checksum: string): VarDict | undefined {
  let meta: GValue;
  try {
    meta = (readGVariant('(a{sv}aya(say)sstayay)', readFileSync(commitObjectPath(repoPath, checksum))) as GValue[])[0]!;
  } catch {
    return undefined;
  }
  const out: VarDict = {};
  if (!(meta instanceof Map)) return out;
  for (const [k, v] of meta) {
    const key = String(k);
    if (FILTERED_COMMIT_META.has(key) || key === '__proto__' || !isBox(v)) continue;
    const converted = gvalueForBus(v.value, v.type);
    if (converted !== undefined) out[key] = new Variant(v.type, converted);
  }
  return out;
}

/**
 * A value read by the GVariant reader, in the form dbus-next marshals for `type`; undefined
 * for what DBus cannot carry (maybe types, file descriptors).
 */
export function gvalueForBus(value: GValue, type: string): unknown {
  if (type.includes('m') || type.includes('h')) return undefined;
  const c = type[0];
  if (c === 'v') {
    if (!isBox(value)) return undefined;
    const inner = gvalueForBus(value.value, value.type);
    return inner === undefined ? undefined : new Variant(value.type, inner);
  }
  if (c === 'a') {
    const elem = type.slice(1);
    if (elem === 'y') return value instanceof Uint8Array ? Array.from(value) : undefined;
    if (elem.startsWith('{')) {
      if (!(value instanceof Map)) return undefined;
      const [keyType, valueType] = dictMemberTypes(elem);
      const out: Record<string, unknown> = {};
      for (const [k, v] of value) {
        const key = String(k);
        if (key === '__proto__') continue;
        const conv = gvalueForBus(v, valueType);
        if (conv === undefined) return undefined;
        out[key] = conv;
      }
      // dbus-next marshals dictionary keys from object keys: only string-like keys survive.
      return keyType === 's' || keyType === 'o' || keyType === 'g' ? out : undefined;
    }
    if (!Array.isArray(value)) return undefined;
    const items = value.map((v) => gvalueForBus(v, elem));
    return items.includes(undefined) ? undefined : items;
  }
  if (c === '(') {
    if (!Array.isArray(value)) return undefined;
    const members = tupleMemberTypes(type);
    if (members.length !== value.length) return undefined;
    const items = value.map((v, i) => gvalueForBus(v, members[i]!));
    return items.includes(undefined) ? undefined : items;
  }
  if (value instanceof Uint8Array || value instanceof Map || Array.isArray(value) || isBox(value) || value === null) return undefined;
  return value;
}

/** Split a complete type string at its first complete type: 'a{sv}s' → ['a{sv}', 's']. */
function firstType(sig: string): [string, string] {
  let i = 0;
  while (sig[i] === 'a' || sig[i] === 'm') i++;
  const c = sig[i];
  if (c === '(' || c === '{') {
    let depth = 0;
    for (let j = i; j < sig.length; j++) {
      if (sig[j] === '(' || sig[j] === '{') depth++;
      else if (sig[j] === ')' || sig[j] === '}') depth--;
      if (depth === 0) return [sig.slice(0, j + 1), sig.slice(j + 1)];
    }
    throw new Error(`unbalanced type '${sig}'`);
  }
  return [sig.slice(0, i + 1), sig.slice(i + 1)];
}

function tupleMemberTypes(type: string): string[] {
  let inner = type.slice(1, -1);
  const out: string[] = [];
  while (inner) {
    const [t, rest] = firstType(inner);
    out.push(t);
    inner = rest;
  }
  return out;
}

function dictMemberTypes(entry: string): [string, string] {
  const members = tupleMemberTypes(entry);
  return [members[0]!, members[1]!];
}
