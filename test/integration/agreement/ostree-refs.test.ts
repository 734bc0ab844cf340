// The one ref grammar and ref reader, checked against ostree itself (needs ostree, hence an
// integration test; the grammar's own cases are in test/unit/ostree/refs.test.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidRefspec, resolveRefFile } from '../../../src/ostree/refs.js';

let dir: string;
let repo: string;
let commit: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'refs-'));
  repo = join(dir, 'repo');
  mkdirSync(join(dir, 'tree'));
  writeFileSync(join(dir, 'tree', 'f'), 'x\n');
  execFileSync('ostree', [`--repo=${repo}`, 'init', '--mode=bare-user']);
  commit = execFileSync('ostree', [`--repo=${repo}`, 'commit', '--branch=os/base', `--tree=dir=${join(dir, 'tree')}`], { encoding: 'utf8' }).trim();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the refspec grammar', () => {
  const candidates = [
    'ref', 'a/b/c', 'remote:ref', 'my-remote:debian/12/x86_64/base', 'a_b.c-d', '_a', 'a..b', 'é', 'ré:f', '²', 'Ⅰ/٣',
    ':ref', 'remote:', 'a/', '/a', 'a//b', 'a b', 'a:b:c', '.a', '-a', 'r:.hidden/x', '-r:a', 'a/.b', 'a/-b', 'a\u0301', 'a‿', 'a$', 'a\u00a0',
  ];

  it('accepts exactly what `ostree rev-parse` parses as a refspec', () => {
    for (const c of candidates) {
      const r = spawnSync('ostree', [`--repo=${repo}`, 'rev-parse', '--', c], { encoding: 'utf8' });
      const ostreeAccepts = !/Invalid refspec/.test(r.stderr);
      expect(isValidRefspec(c), JSON.stringify(c)).toBe(ostreeAccepts);
    }
    expect(isValidRefspec('')).toBe(false); // rev-parse reads '' as no argument
  });
});

describe('resolveRefFile', () => {
  it('reads local and remote refs as ostree resolves them', () => {
    execFileSync('ostree', [`--repo=${repo}`, 'refs', `--create=origin:debian/12`, commit]);
    expect(resolveRefFile(repo, 'os/base')).toBe(commit);
    expect(resolveRefFile(repo, 'origin:debian/12')).toBe(commit);
    expect(resolveRefFile(repo, 'origin:debian/12')).toBe(execFileSync('ostree', [`--repo=${repo}`, 'rev-parse', 'origin:debian/12'], { encoding: 'utf8' }).trim());
  });

  it('reads nothing outside refs/, nor a file that holds no checksum', () => {
    writeFileSync(join(repo, 'refs', 'heads', 'junk'), 'not a checksum\n');
    expect(resolveRefFile(repo, 'junk')).toBeUndefined();
    expect(resolveRefFile(repo, 'os')).toBeUndefined(); // a directory
    expect(resolveRefFile(repo, 'os/missing')).toBeUndefined();
    expect(resolveRefFile(repo, '../../config')).toBeUndefined();
    expect(resolveRefFile(repo, 'origin:../heads/os/base')).toBeUndefined();
  });
});
