// GVariant reading (ostree/gvariant.ts) checked against commit objects the real ostree (GLib)
// wrote: needs ostree, hence an integration test. The format's own cases are in
// test/unit/ostree/gvariant.test.ts.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGVariant, toHex, vardictToObject, type GValue } from '../../../src/ostree/gvariant.js';

describe('commit objects written by GLib (ostree commit)', () => {
  const COMMIT_TYPE = '(a{sv}aya(say)sstayay)';
  const ostree = (...args: string[]) => execFileSync('ostree', args, { encoding: 'utf8' });
  let dir: string;
  let repo: string;
  let tree: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gvariant-'));
    repo = join(dir, 'repo');
    tree = join(dir, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'f'), 'x\n');
    ostree(`--repo=${repo}`, 'init', '--mode=bare-user');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function commit(...args: string[]): { checksum: string; data: Buffer } {
    const checksum = ostree(`--repo=${repo}`, 'commit', '--branch=t', `--tree=dir=${tree}`, ...args).trim();
    return { checksum, data: readFileSync(join(repo, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.commit`)) };
  }

  /** `ostree show --print-metadata-key`, for strings and arrays of strings ('x', ['a', 'b'], @as []). */
  function shownStrings(checksum: string, key: string): unknown {
    const text = ostree(`--repo=${repo}`, 'show', `--print-metadata-key=${key}`, checksum).trim();
    return JSON.parse(text.replace(/^@as /, '').replace(/'/g, '"'));
  }

  it('reads every field of a commit as ostree shows it (2-byte offsets outside, 1-byte in the metadata)', () => {
    const longBody = `body\n${'x'.repeat(80)}`;
    const { checksum, data } = commit('--subject=subject é', `--body=${longBody}`, '--timestamp=2024-01-02 03:04:05 UTC', '--add-metadata-string=version=1.2.3', '--add-metadata=pkgs=["a","bb","ccc"]', '--add-metadata=empty=@as []');
    expect(data.length).toBeGreaterThan(255);
    expect(data.length).toBeLessThan(0x10000);
    const [meta, parent, related, subject, body, ts, rootContents, rootMeta] = readGVariant(COMMIT_TYPE, data) as GValue[];
    const md = vardictToObject(meta!);
    for (const key of ['version', 'pkgs', 'empty', 'ostree.ref-binding']) expect(md[key], key).toEqual(shownStrings(checksum, key));
    expect(md.pkgs).toEqual(['a', 'bb', 'ccc']);
    expect([...(parent as Uint8Array)]).toEqual([]);
    expect(related).toEqual([]);
    expect(subject).toBe('subject é');
    expect(body).toBe(longBody);
    // ostree writes the timestamp big-endian; read as little-endian it comes out byte-swapped.
    const swapped = Buffer.alloc(8);
    swapped.writeBigUInt64LE(ts as bigint);
    expect(swapped.readBigUInt64BE()).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5) / 1000));
    // `ostree ls -C -d` prints the root's dirtree (contents) and dirmeta checksums.
    const [, , , , contents, metaSum] = ostree(`--repo=${repo}`, 'ls', '-C', '-d', checksum, '/').trim().split(/\s+/);
    expect(toHex(rootContents!)).toBe(contents);
    expect(toHex(rootMeta!)).toBe(metaSum);
  });

  it('reads the parent of a second commit', () => {
    const first = ostree(`--repo=${repo}`, 'rev-parse', 't').trim();
    const { data } = commit('--subject=second');
    expect(toHex((readGVariant(COMMIT_TYPE, data) as GValue[])[1]!)).toBe(first);
  });

  it('reads a commit over 64 KiB (4-byte offsets) and a metadata array over 255 bytes (2-byte offsets)', () => {
    const big = 'b'.repeat(70000);
    const long = 'l'.repeat(300);
    const { checksum, data } = commit('--subject=big', `--add-metadata-string=big=${big}`, `--add-metadata=long=["${long}", "x"]`);
    expect(data.length).toBeGreaterThan(0xffff);
    const [meta, , , subject, body] = readGVariant(COMMIT_TYPE, data) as GValue[];
    const md = vardictToObject(meta!);
    expect(md.big).toBe(big);
    expect(md.long).toEqual([long, 'x']);
    expect(md.long).toEqual(shownStrings(checksum, 'long'));
    expect(subject).toBe('big');
    expect(body).toBe('');
  });

  it('reads the value types GLib serializes from GVariant text', () => {
    // `ostree show` byte-swaps every value it prints (commits are big-endian by convention), so
    // numbers are compared with what was given here; GLib wrote them in host (little-endian) order.
    const cases: Array<[string, string, GValue]> = [
      ['y', 'byte 0x41', 65],
      ['b', 'true', true],
      ['n', 'int16 -2', -2],
      ['q', 'uint16 65534', 65534],
      ['i', 'int32 -7', -7],
      ['u', 'uint32 7', 7],
      ['x', 'int64 -5', -5n],
      ['t', 'uint64 5', 5n],
      ['d', '1.5', 1.5],
      ['o', "objectpath '/org/x'", '/org/x'],
      ['g', "signature 'a{sv}'", 'a{sv}'],
      ['ms', "@ms 'x'", 'x'],
      ['ms', '@ms nothing', null],
      ['mu', '@mu 5', 5],
      ['(su)', "('s', uint32 9)", ['s', 9]],
      ['a(ts)', "[(uint64 1, 'a'), (2, 'bc')]", [[1n, 'a'], [2n, 'bc']]],
      ['a{sv}', "{'k': <'v'>, 'n': <uint32 5>}", new Map<GValue, GValue>([['k', { type: 's', value: 'v' }], ['n', { type: 'u', value: 5 }]])],
      ['v', '<uint64 5>', { type: 't', value: 5n }],
      ['aas', "[['a'], @as [], ['b', 'c']]", [['a'], [], ['b', 'c']]],
    ];
    const { data } = commit('--subject=types', ...cases.map(([, text], i) => `--add-metadata=k${i}=${text}`));
    const meta = (readGVariant(COMMIT_TYPE, data) as GValue[])[0] as Map<GValue, GValue>;
    cases.forEach(([type, text, value], i) => expect(meta.get(`k${i}`), text).toEqual({ type, value }));
  });

  it('reads ay values (checksums) inside a variant', () => {
    const { data } = commit('--subject=bytes', "--add-metadata=bytes=[byte 0x01, 0xfe]", '--add-metadata=aay=[[byte 1, 2], @ay []]');
    const md = vardictToObject((readGVariant(COMMIT_TYPE, data) as GValue[])[0]!);
    expect(toHex(md.bytes!)).toBe('01fe');
    expect((md.aay as Uint8Array[]).map(toHex)).toEqual(['0102', '']);
  });
});
