/**
 * The owners and modes createVarFromTmpfiles gives what it creates in an image's /var: an
 * integration test because chown needs root (as another user it keeps the defaults). What it
 * creates is checked in test/unit/layout/tmpfiles-prepare.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVarFromTmpfiles } from '../../src/layout/var.js';

describe('createVarFromTmpfiles as root', () => {
  let tmp: string;
  let root: string;
  const put = (rel: string, content: string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  };
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tmpfiles-owners-'));
    root = join(tmp, 'root');
    mkdirSync(join(root, 'var'), { recursive: true });
    put('usr/etc/passwd', 'root:x:0:0::/root:/bin/sh\nsvc:x:901:902::/:/bin/false\n');
    put('usr/etc/group', 'root:x:0:\nsvc:x:902:\nmail:x:8:\n');
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('gives the mode and owner of the line that wins, names read from the image\'s own passwd and group', () => {
    put('usr/lib/tmpfiles.d/50-state.conf', 'd /var/lib/state 0700 root root -\n');
    put('usr/etc/tmpfiles.d/50-state.conf', 'd /var/lib/state 0750 svc svc -\n');
    put('usr/lib/tmpfiles.d/x.conf', 'f /var/log/wtmp 0664 root mail -\n');
    createVarFromTmpfiles(root);
    const state = statSync(join(root, 'var/lib/state'));
    expect(state.mode & 0o7777).toBe(0o750);
    expect([state.uid, state.gid]).toEqual([901, 902]);
    const wtmp = statSync(join(root, 'var/log/wtmp'));
    expect(wtmp.mode & 0o7777).toBe(0o664);
    expect([wtmp.uid, wtmp.gid]).toEqual([0, 8]);
  });
});
