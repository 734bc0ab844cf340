// The health record (SYSROOT/ostree/apt-ostree/health.json): validated on read, the fallbacks
// kept to the last ten, the bases the automatic update refuses.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addFallback, describeFallback, MAX_FALLBACKS, readHealthRecord, readHealthRecordForBoot, refusedBases, writeHealthRecord, type FallbackRecord } from '../../../../src/engine/health/record.js';
import { healthRecordPath } from '../../../../src/engine/state-paths.js';
import { AptOstreeError } from '../../../../src/errors.js';

const sha = (c: string) => c.repeat(64);
const fallback = (n: number): FallbackRecord => ({
  osname: 'debian', deployment: `${sha(String(n % 10))}.0`, checksum: sha(String(n % 10)), 'base-checksum': sha('b'), version: `${n}.0`,
  time: '2026-11-30T21:00:00.000Z', reason: 'failed-check', 'failed-check': '50-web', output: 'down\n', 'rolled-back-to': `${sha('a')}.1`, 'rolled-back-to-version': '1.0',
});

describe('health record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'health-record-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is empty when there is none, and reads back what was written', () => {
    expect(readHealthRecord(dir)).toEqual({ fallbacks: [] });
    writeHealthRecord(dir, addFallback({ fallbacks: [] }, fallback(2)));
    expect(readHealthRecord(dir).fallbacks).toEqual([fallback(2)]);
  });

  it('keeps the last ten fallbacks and refuses their bases', () => {
    let r = { fallbacks: [] as FallbackRecord[] };
    for (let i = 0; i < 12; i++) r = addFallback(r, { ...fallback(i), 'base-checksum': sha((i % 16).toString(16)) });
    expect(r.fallbacks).toHaveLength(MAX_FALLBACKS);
    expect(r.fallbacks[0]!.version).toBe('2.0');
    expect(refusedBases(r).has(sha('b'))).toBe(true);
    expect(refusedBases(r).has(sha('1'))).toBe(false);
  });

  it('names a damaged file and what is wrong in it', () => {
    mkdirSync(join(dir, 'ostree', 'apt-ostree'), { recursive: true });
    writeFileSync(healthRecordPath(dir), '{"fallbacks": [{"osname": 1}]}');
    expect(() => readHealthRecord(dir)).toThrow(AptOstreeError);
    expect(() => readHealthRecord(dir)).toThrow(/health\.json is damaged \(fallbacks\.0\.osname/);
    writeFileSync(healthRecordPath(dir), 'not json');
    expect(() => readHealthRecord(dir)).toThrow(/damaged \(not JSON\)/);
    expect(() => writeHealthRecord(dir, { fallbacks: [{ ...fallback(1), checksum: 'x' }] })).toThrow();
  });

  it('for the boot, sets a damaged file aside and starts afresh; outside the lock leaves it', () => {
    const path = healthRecordPath(dir);
    for (const damage of [() => writeFileSync(path, ''), () => writeFileSync(path, '[]'), () => mkdirSync(path)]) {
      rmSync(path, { recursive: true, force: true });
      damage();
      expect(readHealthRecordForBoot(dir, { setAside: false })).toEqual({ fallbacks: [] });
      expect(existsSync(path)).toBe(true);
      const warnings: string[] = [];
      expect(readHealthRecordForBoot(dir, { setAside: true, warn: (m) => warnings.push(m) })).toEqual({ fallbacks: [] });
      expect(existsSync(path)).toBe(false);
      expect(existsSync(`${path}.damaged`)).toBe(true);
      expect(warnings).toEqual([expect.stringContaining(`set it aside as ${path}.damaged`)]);
    }
    writeHealthRecord(dir, addFallback({ fallbacks: [] }, fallback(3)));
    expect(readHealthRecordForBoot(dir, { setAside: true }).fallbacks).toEqual([fallback(3)]);
  });

  it('says a fallback in one line', () => {
    expect(describeFallback(fallback(2))).toBe(`2.0 (${sha('2').slice(0, 12)}.0) failed its health check 50-web; back on 1.0 since 2026-11-30T21:00:00.000Z`);
    expect(describeFallback({ ...fallback(2), reason: 'no-check-result' })).toMatch(/never reached its health checks/);
  });
});
