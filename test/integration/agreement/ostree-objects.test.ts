/** Counting commit objects (ostree/objects.ts) against a repository the real ostree wrote (needs ostree). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { countCommitObjects } from '../../../src/ostree/objects.js';

const dir = mkdtempSync(join(tmpdir(), 'objects-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('counts the commits ostree wrote, in any repository mode, and 0 for no repository', () => {
  for (const mode of ['bare', 'archive']) {
    const repo = join(dir, mode);
    execFileSync('ostree', [`--repo=${repo}`, 'init', `--mode=${mode}`]);
    expect(countCommitObjects(repo)).toBe(0);
    const tree = join(dir, `tree-${mode}`);
    mkdirSync(tree);
    for (let i = 1; i <= 3; i++) {
      writeFileSync(join(tree, 'f'), `${i}\n`);
      execFileSync('ostree', [`--repo=${repo}`, 'commit', '--branch=test', `--tree=dir=${tree}`]);
    }
    expect(countCommitObjects(repo)).toBe(3);
  }
  expect(countCommitObjects(join(dir, 'none'))).toBe(0);
});
