// KeyFile (ostree/keyfile.ts) checked against GLib's GKeyFile, as `ostree config get` reads a
// repository config: needs ostree, hence an integration test. The format's own cases are in
// test/unit/ostree/keyfile.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyFile } from '../../../src/ostree/keyfile.js';

describe('agreement with GLib GKeyFile (ostree config get)', () => {
  let dir: string;
  let repo: string;
  const HEAD = '[core]\nrepo_version=1\nmode=bare-user\n';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyfile-'));
    repo = join(dir, 'repo');
    execFileSync('ostree', [`--repo=${repo}`, 'init', '--mode=bare-user']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** What GKeyFile makes of `text` as the repository config: a value, or refusal. */
  function gkeyfile(text: string, groupKey = 'core.mode'): { ok: boolean; value: string } {
    writeFileSync(join(repo, 'config'), text);
    const r = spawnSync('ostree', [`--repo=${repo}`, 'config', 'get', groupKey], { encoding: 'utf8' });
    return { ok: r.status === 0, value: r.stdout.replace(/\n$/, '') };
  }

  it('refuses the files in which KeyFile records a problem, and only those', () => {
    const lines = ['garbage', '=v', '[]', '[a[b]', '[g] x', '  [g]  ', '  # c', 'k ey = v', '', '[g]\n\tk=v'];
    for (const l of lines) {
      const text = `${HEAD}${l}\n`;
      expect(KeyFile.parse(text).problems.length === 0, JSON.stringify(l)).toBe(gkeyfile(text).ok);
    }
    const before = `k=v\n${HEAD}`;
    expect(gkeyfile(before).ok).toBe(false);
    expect(KeyFile.parse(before).problems).toHaveLength(1);
  });

  it('unescapes values as g_key_file_get_string does', () => {
    const text = `${HEAD}[x]\nk= \\s a\\tb\\\\c\\nd\\re\ndup=1\ndup=2\nsp=  x y  \n`;
    const kf = KeyFile.parse(text);
    for (const key of ['k', 'dup', 'sp']) expect(kf.get('x', key), key).toBe(gkeyfile(text, `x.${key}`).value);
  });

  it('writes values that GKeyFile reads back unchanged', () => {
    const kf = KeyFile.parse(HEAD);
    const value = '  two leading\ttab\\back';
    kf.set('x', 'k', value);
    expect(gkeyfile(kf.toString(), 'x.k')).toEqual({ ok: true, value });
  });
});
