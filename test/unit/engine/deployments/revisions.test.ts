/** Revision syntax of the db commands, against a repository layout made by hand (no tools needed). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRef, resolveRevision, requireRevision } from '../../../../src/engine/deployments/revisions.js';
import { Sysroot } from '../../../../src/engine/deployments/sysroot.js';
import { InputError } from '../../../../src/errors.js';

const A1 = `abcdef01${'1'.repeat(56)}`;
const A2 = `abcdef02${'2'.repeat(56)}`;
const B = `bbbbbb${'3'.repeat(58)}`;

describe('revision resolution', () => {
  let dir: string;
  let sysroot: Sysroot;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'revs-'));
    const repo = join(dir, 'ostree', 'repo');
    for (const c of [A1, A2, B]) {
      mkdirSync(join(repo, 'objects', c.slice(0, 2)), { recursive: true });
      writeFileSync(join(repo, 'objects', c.slice(0, 2), `${c.slice(2)}.commit`), '');
    }
    mkdirSync(join(repo, 'refs', 'heads', 'local'), { recursive: true });
    mkdirSync(join(repo, 'refs', 'remotes', 'origin', 'debian', '12'), { recursive: true });
    mkdirSync(join(repo, 'refs', 'remotes', 'other', 'debian', '12'), { recursive: true });
    writeFileSync(join(repo, 'refs', 'heads', 'local', 'ref'), `${A1}\n`);
    writeFileSync(join(repo, 'refs', 'heads', 'booted'), `${B}\n`);
    writeFileSync(join(repo, 'refs', 'remotes', 'origin', 'debian', '12', 'base'), `${A2}\n`);
    writeFileSync(join(repo, 'refs', 'remotes', 'origin', 'debian', '12', 'both'), `${A1}\n`);
    writeFileSync(join(repo, 'refs', 'remotes', 'other', 'debian', '12', 'both'), `${B}\n`);
    writeFileSync(join(dir, 'secret'), `${B}\n`);
    sysroot = Sysroot.load(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('full checksums of present commits, unique prefixes of 6+ digits', () => {
    expect(resolveRevision(sysroot, B)).toEqual({ desc: B, checksum: B });
    expect(resolveRevision(sysroot, 'a'.repeat(64))).toBeUndefined();
    expect(resolveRevision(sysroot, 'abcdef01')?.checksum).toBe(A1);
    expect(resolveRevision(sysroot, 'bbbbbb')?.checksum).toBe(B);
    expect(resolveRevision(sysroot, 'bbbbb')).toBeUndefined();
  });

  it('refuses an ambiguous prefix, listing the candidates', () => {
    expect(() => resolveRevision(sysroot, 'abcdef')).toThrow(InputError);
    expect(() => resolveRevision(sysroot, 'abcdef')).toThrow(/prefix 'abcdef' is ambiguous: it matches 2 commits \(abcdef011111, abcdef022222\)/);
  });

  it('refs: local, remote:ref, REMOTE/REF, and a ref found under exactly one remote', () => {
    expect(resolveRef(sysroot.repoPath, 'local/ref')).toBe(A1);
    expect(resolveRef(sysroot.repoPath, 'origin:debian/12/base')).toBe(A2);
    expect(resolveRef(sysroot.repoPath, 'origin/debian/12/base')).toBe(A2);
    expect(resolveRef(sysroot.repoPath, 'debian/12/base')).toBe(A2);
    expect(resolveRef(sysroot.repoPath, 'debian/12/both')).toBeUndefined(); // under two remotes: ambiguous
    expect(resolveRef(sysroot.repoPath, 'other:debian/12/both')).toBe(B);
  });

  it('never reads outside refs/ (path traversal)', () => {
    for (const t of ['../../../secret', 'local/../../../../secret', 'origin:../../../../secret', '../x:y', '/etc/passwd', 'local//ref']) {
      expect(resolveRef(sysroot.repoPath, t), t).toBeUndefined();
    }
  });

  it('a ref named like a keyword wins over the keyword', () => {
    expect(resolveRevision(sysroot, 'booted')).toEqual({ desc: 'booted', checksum: B });
  });

  it('deployment keywords fail clearly on a sysroot without deployments', () => {
    expect(() => resolveRevision(sysroot, 'deployment:0')).toThrow(/There is no deployment 0: .* has 0 deployments/);
    expect(() => resolveRevision(sysroot, 'rollback')).toThrow(/There is no rollback deployment/);
  });

  it('requireRevision names the unknown revision and explains the syntax', () => {
    let err: InputError | undefined;
    try {
      requireRevision(sysroot, 'nope');
    } catch (e) {
      err = e as InputError;
    }
    expect(err?.message).toMatch(/^Unknown revision 'nope': no commit, ref or deployment of .* has that name\.$/);
    expect(err?.hint).toMatch(/deployment:N/);
    expect(err?.exitCode).toBe(1);
  });
});
