import { describe, expect, it } from 'vitest';
import { applyUserChanges, diffUserDb, sysusersFor, type UserDb } from '../../../../src/engine/layering/users.js';

const base: UserDb = {
  passwd: 'root:x:0:0:root:/root:/bin/bash\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n',
  group: 'root:x:0:\nvideo:x:44:\n',
  shadow: 'root:*:19000:0:99999:7:::\n',
  gshadow: 'root:*::\nvideo:!::\n',
};

describe('users created by maintainer scripts', () => {
  // The deployment has a user the admin added; the script then adds a system user and a membership.
  const deployment: UserDb = { ...base, passwd: base.passwd + 'alice:x:1000:1000:Alice:/home/alice:/bin/bash\n', group: base.group + 'alice:x:1000:\n' };
  const after: UserDb = {
    passwd: deployment.passwd + 'svc:x:999:999:Service user,,,:/var/lib/svc:/usr/sbin/nologin\n',
    group: 'root:x:0:\nvideo:x:44:svc\nalice:x:1000:\nsvc:x:999:\n',
    shadow: base.shadow + 'svc:!:19000::::::\n',
    gshadow: 'root:*::\nvideo:!::svc\nsvc:!::\n',
  };

  it('finds only what the transaction added', () => {
    const c = diffUserDb(deployment, after);
    expect(c.added.passwd).toEqual(['svc:x:999:999:Service user,,,:/var/lib/svc:/usr/sbin/nologin']);
    expect(c.added.group).toEqual(['svc:x:999:']);
    expect(c.memberships).toEqual([['svc', 'video']]);
  });

  it('adds them to the base image files without the admin\'s local users', () => {
    const merged = applyUserChanges(base, diffUserDb(deployment, after));
    expect(merged.passwd).toContain('svc:x:999:999');
    expect(merged.passwd).not.toContain('alice');
    expect(merged.group).toContain('video:x:44:svc');
    expect(merged.gshadow).toContain('video:!::svc');
    expect(merged.shadow).toContain('svc:!:');
  });

  it('writes sysusers.d lines with the exact ids', () => {
    const text = sysusersFor(diffUserDb(deployment, after));
    expect(text).toContain('g svc 999');
    expect(text).toContain('u svc 999:999 "Service user,,," /var/lib/svc /usr/sbin/nologin');
    expect(text).toContain('m svc video');
    expect(sysusersFor(diffUserDb(base, base))).toBe('');
    // The same writer as compose's (layout.ts): quotes are escaped, not changed into others.
    const quoted = sysusersFor(diffUserDb(base, { ...base, passwd: base.passwd + 'q:x:998:998:Say "hi":/var/lib/q dir:\n' }));
    expect(quoted).toContain('u q 998:998 "Say \\"hi\\"" "/var/lib/q dir" -');
  });
});
