// The sysusers.d lines layering writes (layout/rootfs.ts), read back by the real systemd-sysusers
// (hence an integration test; the lines themselves are checked in test/unit/layout/rootfs.test.ts).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatSysusersLine } from '../../../src/layout/sysusers.js';

describe('sysusersConf', () => {
  it('writes fields that systemd-sysusers reads back exactly: quotes, backslashes, spaces, %', () => {
    const gecos = `A "q" b\\c 100% 'x'`;
    const lines = [
      formatSysusersLine({ type: 'g', name: 'grp', gid: '1234' }),
      formatSysusersLine({ type: 'u', name: 'tester', uid: '1234', gid: '1234', gecos, home: '/home/with space', shell: '' }),
      formatSysusersLine({ type: 'u', name: 'plain', uid: '1235', gid: '1234' }),
    ];
    expect(lines).toEqual(['g grp 1234', `u tester 1234:1234 "A \\"q\\" b\\\\c 100%% 'x'" "/home/with space" -`, 'u plain 1235:1234 - - -']);
    const root = mkdtempSync(join(tmpdir(), 'sysusers-'));
    try {
      mkdirSync(join(root, 'etc'));
      mkdirSync(join(root, 'usr/lib/sysusers.d'), { recursive: true });
      writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
      writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
      writeFileSync(join(root, 'usr/lib/sysusers.d/t.conf'), lines.join('\n') + '\n');
      const r = spawnSync('systemd-sysusers', [`--root=${root}`], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
      expect(passwd).toContain(`tester:x:1234:1234:${gecos}:/home/with space:/usr/sbin/nologin\n`);
      expect(passwd).toContain('plain:x:1235:1234::/:/usr/sbin/nologin\n');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
