/**
 * The report at the end of .ci/run (scripts/test-times.mjs): steps against the budget of
 * docs/testing.md, and for each suite how long its files ran side by side, from the files' spans
 * that scripts/file-times-reporter.mjs writes (hooks included).
 */
import { execa } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('scripts/test-times.mjs', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = makeTemp('times-');
  });
  afterAll(async () => removeTemp(tmp));

  it('prints the steps against their budget and an idle lane as time at fewer files side by side', async () => {
    const dir = join(tmp, 'reports');
    mkdirSync(dir);
    writeFileSync(join(dir, 'steps.tsv'), 'npm test\t600\t0\nnpm run test:boot\t1500\t0\n');
    // Two lanes: a and b side by side for 100 s; then c alone for 300 s while the other lane idles.
    const t0 = 1_800_000_000;
    const files = [
      { file: 'test/boot/a.test.ts', start: t0, seconds: 100, status: 'passed' },
      { file: 'test/boot/b.test.ts', start: t0, seconds: 100, status: 'passed' },
      { file: 'test/boot/c.test.ts', start: t0 + 100, seconds: 300, status: 'fail' },
    ];
    writeFileSync(join(dir, 'boot.json'), JSON.stringify({ files }));
    const r = await execa('node', ['scripts/test-times.mjs', dir]);
    expect(r.stdout).toMatch(/npm test\s+10:00 of 20:00\n/);
    expect(r.stdout).toMatch(/npm run test:boot\s+25:00 of 20:00 {2}OVER BUDGET/);
    expect(r.stdout).toMatch(/total\s+35:00 of 45:00\n/);
    expect(r.stdout).toMatch(/boot\s+3 files\s+8:20 {3}side by side: 2 for 1:40, 1 for 5:00/);
    expect(r.stdout).toMatch(/5:00 {2}boot\s+test\/boot\/c\.test\.ts {2}\(fail\)/);
  });
});
