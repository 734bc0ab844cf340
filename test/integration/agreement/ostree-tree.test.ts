// Reading files and refs of a repository without starting ostree, checked against ostree itself
// on real repositories (bare, as sysroots have; archive, which is left to ostree). An integration
// test because it needs ostree.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCommitDir, readCommitFile, repoMode } from '../../../src/ostree/tree.js';
import { catFile, ls, revParse } from '../../../src/system/ostree.js';
import { run } from '../../../src/system/run.js';

const ostree = (...args: string[]) => execFileSync('ostree', args, { encoding: 'utf8' });

describe('reading a commit without ostree', () => {
  let dir: string;
  let bare: string;
  let archive: string;
  let commit: string;
  let archiveCommit: string;
  const status = 'Package: dpkg\nStatus: install ok installed\nVersion: 1.21.22\n\n'.repeat(200);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ostree-read-'));
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'usr/share/dpkg/database'), { recursive: true });
    mkdirSync(join(tree, 'usr/lib/other'), { recursive: true });
    writeFileSync(join(tree, 'usr/share/dpkg/database/status'), status);
    writeFileSync(join(tree, 'usr/share/dpkg/empty'), '');
    for (let i = 0; i < 300; i++) writeFileSync(join(tree, 'usr/share/dpkg', `f${i}`), `${i}\n`);
    symlinkSync('database/status', join(tree, 'usr/share/dpkg/link'));
    symlinkSync('share/dpkg', join(tree, 'usr/dpkglink'));
    bare = join(dir, 'bare');
    archive = join(dir, 'archive');
    ostree(`--repo=${bare}`, 'init', '--mode=bare');
    ostree(`--repo=${archive}`, 'init', '--mode=archive');
    commit = ostree(`--repo=${bare}`, 'commit', '--branch=os/base', `--tree=dir=${tree}`).trim();
    archiveCommit = ostree(`--repo=${archive}`, 'commit', '--branch=os/base', `--tree=dir=${tree}`).trim();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('knows the repository mode', () => {
    expect(repoMode(bare)).toBe('bare');
    expect(repoMode(archive)).toMatch(/^archive/);
    expect(repoMode(join(dir, 'none'))).toBeUndefined();
  });

  it('reads regular files of a bare repository exactly as ostree cat does', () => {
    for (const path of ['/usr/share/dpkg/database/status', '/usr/share/dpkg/empty', '/usr/share/dpkg/f299', 'usr/share/dpkg/f0']) {
      const direct = readCommitFile(bare, commit, path);
      expect(direct, path).toBeDefined();
      expect(direct!.toString('utf8')).toBe(ostree(`--repo=${bare}`, 'cat', commit, path));
    }
  });

  it('leaves everything else to ostree: missing paths, symlinks, directories, other repo modes, refs', () => {
    expect(readCommitFile(bare, commit, '/usr/share/dpkg/missing')).toBeUndefined();
    expect(readCommitFile(bare, commit, '/usr/nodir/status')).toBeUndefined();
    expect(readCommitFile(bare, commit, '/usr/share/dpkg/link')).toBeUndefined();
    expect(readCommitFile(bare, commit, '/usr/dpkglink/database/status')).toBeUndefined();
    expect(readCommitFile(bare, commit, '/usr/share/dpkg')).toBeUndefined();
    expect(readCommitFile(bare, commit, '/usr/share/../share/dpkg/f1')).toBeUndefined();
    expect(readCommitFile(bare, commit, '/')).toBeUndefined();
    expect(readCommitFile(archive, archiveCommit, '/usr/share/dpkg/database/status')).toBeUndefined();
    expect(readCommitFile(bare, 'os/base', '/usr/share/dpkg/database/status')).toBeUndefined();
    expect(readCommitFile(bare, 'f'.repeat(64), '/usr/share/dpkg/database/status')).toBeUndefined();
  });

  it('catFile gives the same content either way', async () => {
    expect(await catFile(bare, commit, '/usr/share/dpkg/database/status')).toBe(status);
    expect(await catFile(archive, archiveCommit, '/usr/share/dpkg/database/status')).toBe(status);
    expect(await catFile(bare, commit, '/usr/share/dpkg/link')).toBe(ostree(`--repo=${bare}`, 'cat', commit, '/usr/share/dpkg/link'));
  });

  it('ls lists directories of a bare repository exactly as `ostree ls` does, without starting it', async () => {
    // What ostree itself prints, parsed by the same function on an archive repo (no fast path there).
    const viaOstree = async (path: string) => {
      const r = await run('ostree', [`--repo=${bare}`, 'ls', commit, path], { okCodes: [1] });
      if (r.exitCode !== 0) return undefined;
      return ls(archive, archiveCommit, path);
    };
    for (const path of ['/', '/usr', '/usr/share/dpkg', '/usr/share/dpkg/database', '/usr/lib/other', '/usr/missing', '/no/such/dir']) {
      const direct = await ls(bare, commit, path);
      const expected = await viaOstree(path);
      const sorted = (l: typeof direct) => l && [l[0], ...l.slice(1).sort((a, b) => a.path.localeCompare(b.path))];
      expect(sorted(direct), path).toEqual(sorted(expected));
    }
    expect(listCommitDir(bare, commit, '/usr/share/dpkg')?.find((e) => e.name === 'link')).toEqual({ name: 'link', type: 'symlink', target: 'database/status' });
    expect(listCommitDir(bare, commit, '/usr/missing')).toBeNull();
    // A file, a path through a symlink, another repo mode, a ref instead of a checksum: left to ostree.
    expect(listCommitDir(bare, commit, '/usr/share/dpkg/f1')).toBeUndefined();
    expect(listCommitDir(bare, commit, '/usr/dpkglink/database')).toBeUndefined();
    expect(listCommitDir(archive, archiveCommit, '/usr')).toBeUndefined();
    expect(listCommitDir(bare, 'os/base', '/usr')).toBeUndefined();
  });

  it('revParse reads refs as ostree rev-parse resolves them', async () => {
    mkdirSync(join(bare, 'refs/remotes/origin/os'), { recursive: true });
    writeFileSync(join(bare, 'refs/remotes/origin/os/base'), `${commit}\n`);
    expect(await revParse(bare, 'os/base')).toBe(commit);
    expect(await revParse(bare, 'origin:os/base')).toBe(ostree(`--repo=${bare}`, 'rev-parse', 'origin:os/base').trim());
    expect(await revParse(bare, commit.slice(0, 10))).toBe(commit);
    expect(await revParse(bare, 'os/missing')).toBeUndefined();
    expect(await revParse(bare, 'os')).toBeUndefined();
    // Not a file under refs/ even if one exists at that relative path.
    writeFileSync(join(dir, 'outside'), `${commit}\n`);
    expect(await revParse(bare, '../../outside')).toBeUndefined();
  });
});
