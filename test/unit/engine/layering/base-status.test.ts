// The status files of bases kept for apt's binary caches (baseStatusFile): the newest six only.
// test/integration/agreement/apt-cache.test.ts checks with the real apt-get why each base has one.
import { mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { baseStatusFile } from '../../../../src/engine/layering/apt-setup.js';

const dir = mkdtempSync(join(tmpdir(), 'base-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const STATUS_A = 'Package: libx\nStatus: install ok installed\nVersion: 1:1.0-1\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: test\n\n';

describe('the status files of bases', () => {
  it('keep the status files of the newest bases only', () => {
    const cacheDir = join(dir, 'cache-prune');
    const checksums = [...'0123456789'].map((c) => c.repeat(64));
    checksums.forEach((c, i) => {
      const f = baseStatusFile(cacheDir, c, STATUS_A);
      utimesSync(f, 1_000_000 + i, 1_000_000 + i); // written one after the other
    });
    expect(readdirSync(join(cacheDir, 'base-status')).sort()).toEqual(checksums.slice(-6));
    expect(() => baseStatusFile(cacheDir, '../x', STATUS_A)).toThrow(/Not a commit checksum/);
  });
});
