// The dpkg status reader (debian/deb822.ts) against dpkg-query on this machine's real status file:
// needs dpkg, hence an integration test. Its own cases are in test/unit/debian/deb822.test.ts.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { installedPackages } from '../../../src/debian/deb822.js';

describe('dpkg status', () => {
  it('agrees with dpkg-query on this machine\'s real status file', () => {
    const ours = installedPackages(readFileSync('/var/lib/dpkg/status', 'utf8')).map((p) => `${p.name}:${p.architecture} ${p.version}`).sort();
    const theirs = execFileSync('dpkg-query', ['-W', '-f', '${db:Status-Status} ${Package}:${Architecture} ${Version}\\n'], { encoding: 'utf8' })
      .trim().split('\n')
      .filter((l) => /^(installed|triggers-pending|triggers-awaited) /.test(l))
      .map((l) => l.replace(/^\S+ /, ''))
      .sort();
    expect(theirs.length).toBeGreaterThan(50);
    expect(ours).toEqual(theirs);
  });
});
