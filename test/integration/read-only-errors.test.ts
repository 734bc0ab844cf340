/**
 * explainError on a real read-only file system: a read-only tmpfs mounted here, so an integration
 * test (mount needs root). The other errors of the machine are in test/unit/errors.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explainError } from '../../src/cli/explain-error.js';
import { thrown } from '../fixtures/thrown.js';


const tmp = mkdtempSync(join(tmpdir(), 'errors-test-'));
let roMount: string | undefined;
/** A read-only tmpfs, mounted on first use. */
function readOnly(): string {
  if (!roMount) {
    roMount = join(tmp, 'ro');
    mkdirSync(roMount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', roMount]);
  }
  return roMount;
}
afterAll(() => {
  if (roMount) execFileSync('umount', [roMount]);
  rmSync(tmp, { recursive: true, force: true });
});

describe('explainError: the machine, not a bug', () => {
  it('a read-only file system (a real read-only mount) names the path and says to remount it', () => {
    const e = explainError(thrown(() => writeFileSync(join(readOnly(), 'apt-ostree.flock'), 'x')))!;
    expect(e.message).toBe(`${join(readOnly(), 'apt-ostree.flock')} is on a read-only file system.`);
    expect(e.hint).toMatch(/mount -o remount,rw/);
  });

  it('mkdir -p on a read-only file system reports that, not the ENOENT it gives', () => {
    // Node's recursive mkdir reports ENOENT for the deepest directory whatever stopped it.
    const target = join(readOnly(), 'sysroot', 'ostree');
    const raw = thrown(() => mkdirSync(target, { recursive: true })) as NodeJS.ErrnoException;
    expect(raw.code).toBe('ENOENT');
    expect(explainError(raw, { sysroot: join(readOnly(), 'sysroot') })!.message).toBe(`Cannot create ${target}: ${readOnly()} is on a read-only file system.`);
  });
});
