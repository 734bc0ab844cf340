// The grubenv reader on what is not a GRUB environment block. Reader and writer against GRUB's own
// grub-editenv are in test/integration/agreement/grubenv.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGrubEnv, readGrubEnv } from '../../../../src/engine/deployments/grubenv.js';
import { AptOstreeError } from '../../../../src/errors.js';

const dir = { path: mkdtempSync(join(tmpdir(), 'grubenv-')) };
afterAll(() => rmSync(dir.path, { recursive: true, force: true }));

describe('grubenv', () => {
  it('names a file that is not a block, and reads a missing one as none', () => {
    const junk = join(dir.path, 'junk');
    writeFileSync(junk, 'hello\n');
    expect(() => readGrubEnv(junk)).toThrow(AptOstreeError);
    expect(() => readGrubEnv(junk)).toThrow(expect.objectContaining({ hint: expect.stringMatching(/grub-editenv .*junk create/) }));
    expect(readGrubEnv(join(dir.path, 'missing'))).toBeUndefined();
    expect(parseGrubEnv(Buffer.from('nope'))).toBeUndefined();
  });
});
