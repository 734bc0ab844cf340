// What `apt-cache policy` says offers each version (as apt 2.6 prints it: a volatile Packages
// file by its path, a repository as URI SUITE [COMPONENT] Packages, the dpkg status file), read
// to tell which packages of a plan only the kept index still has. The real apt's output is
// exercised in test/integration/kept-packages.test.ts.
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../../src/engine/layering/kept-packages.js';

const POLICY = [
  'hello-acc:',
  '  Installed: (none)',
  '  Candidate: 1.0',
  '  Version table:',
  '     1.0 500',
  '        500 /sysroot/ostree/deploy/debian/var/lib/apt-ostree/kept/Packages',
  '     0.9 500',
  '        500 http://127.0.0.1:8080 ./ Packages',
  '        500 /sysroot/ostree/deploy/debian/var/lib/apt-ostree/kept/Packages',
  'libfoo:i386:',
  '  Installed: 2:1.2-1',
  '  Candidate: 2:1.2-1',
  '  Version table:',
  ' *** 2:1.2-1 100',
  '        100 /var/cache/apt-ostree/base-status/abc',
  '     2:1.1-1 -10',
  '        -10 http://deb.debian.org/debian bookworm/main i386 Packages',
  '',
].join('\n');

describe('parsePolicy', () => {
  it('lists, for every version of every package, the sources that offer it', () => {
    const p = parsePolicy(POLICY);
    expect([...p.keys()]).toEqual(['hello-acc', 'libfoo']);
    expect(p.get('hello-acc')!.get('1.0')).toEqual(['/sysroot/ostree/deploy/debian/var/lib/apt-ostree/kept/Packages']);
    expect(p.get('hello-acc')!.get('0.9')).toEqual(['http://127.0.0.1:8080 ./', '/sysroot/ostree/deploy/debian/var/lib/apt-ostree/kept/Packages']);
    expect(p.get('libfoo')!.get('2:1.2-1')).toEqual(['/var/cache/apt-ostree/base-status/abc']);
    expect(p.get('libfoo')!.get('2:1.1-1')).toEqual(['http://deb.debian.org/debian bookworm/main i386']);
  });

  it('reads nothing from output without a version table', () => {
    expect(parsePolicy('').size).toBe(0);
    expect(parsePolicy('unknown-pkg:\n  Installed: (none)\n  Candidate: (none)\n').get('unknown-pkg')!.size).toBe(0);
  });
});
