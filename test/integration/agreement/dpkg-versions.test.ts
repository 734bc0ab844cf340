// compareVersions (debian/version.ts) against the real `dpkg --compare-versions`, on generated
// pairs and a table of tricky ones: needs dpkg, hence an integration test. The rules themselves
// are checked in test/unit/debian/version.test.ts.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareVersions, versionProblem } from '../../../src/debian/version.js';

/** A seeded PRNG so that a failure can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function generatePairs(n: number, seed: number): Array<[string, string]> {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chunk = () => pick(['0', '00', '1', '01', '2', '9', '10', '010', '123', 'a', 'b', 'z', 'A', 'rc', '~', '~~', '+', '.', '+b', '~rc', 'dfsg', '']);
  const upstream = () => {
    let s = pick(['0', '1', '2', '01', '10', '007', '1.0', '2.36']);
    const k = Math.floor(r() * 4);
    for (let i = 0; i < k; i++) s += chunk() + (r() < 0.5 ? pick(['0', '1', '2', '12']) : '');
    return s;
  };
  const revision = () => (r() < 0.4 ? '' : `-${pick(['0', '1', '2', '1.1', '1+b1', '1~bpo', '10', 'a', '1+deb12u1', '1+deb12u10', '0~1'])}${r() < 0.3 ? chunk() : ''}`);
  const epoch = () => (r() < 0.15 ? `${pick(['0', '1', '2', '01'])}:` : '');
  const version = () => `${epoch()}${upstream()}${revision()}`;
  const mutate = (v: string) => {
    switch (Math.floor(r() * 7)) {
      case 0: return `${v}~`;
      case 1: return `${v}${pick(['a', '.', '+', '0', '1', '~1'])}`;
      case 2: return v.replace(/\d/, (d) => String((Number(d) + 1) % 10));
      case 3: return v.replace(/(\d+)/, '0$1'); // leading zero: equal
      case 4: return v.includes(':') ? v.replace(/^\d+:/, '') : `0:${v}`;
      case 5: return v.replace(/\.(\d)/, '~$1');
      default: return v;
    }
  };
  const out: Array<[string, string]> = [];
  for (let i = 0; i < n; i++) {
    const a = version();
    out.push([a, r() < 0.7 ? mutate(a) : version()]);
  }
  return out.filter(([a, b]) => versionProblem(a) === undefined && versionProblem(b) === undefined);
}

/** dpkg's verdict on each pair (-1/0/1), from one shell loop (a few ms per pair). */
function dpkgCompare(pairs: Array<[string, string]>): number[] {
  const script = 'while read -r a b; do if dpkg --compare-versions "$a" lt "$b"; then echo -1; elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done';
  const out = execFileSync('sh', ['-c', script], { input: pairs.map(([a, b]) => `${a} ${b}\n`).join(''), encoding: 'utf8' });
  return out.trim().split('\n').map(Number);
}

describe('compareVersions agrees with dpkg --compare-versions', () => {
  it('on 400 generated pairs', () => {
    const pairs = generatePairs(450, 20261122).slice(0, 400);
    expect(pairs.length).toBeGreaterThan(350);
    const want = dpkgCompare(pairs);
    expect(want.length).toBe(pairs.length);
    const got = pairs.map(([a, b]) => compareVersions(a, b));
    const mismatches = pairs.map((p, i) => ({ pair: p.join(' vs '), dpkg: want[i], ours: got[i] })).filter((m) => m.dpkg !== m.ours);
    expect(mismatches).toEqual([]);
    // The generator must exercise all three outcomes.
    expect(new Set(want)).toEqual(new Set([-1, 0, 1]));
  }, 60_000);

  it('on the tricky table too', () => {
    const pairs: Array<[string, string]> = [['1.01', '1.1'], ['1.0~rc1', '1.0'], ['1.0a', '1.0.'], ['1.0-0', '1.0'], ['3.0-a', '3.0-1'], ['1+', '1.'], ['1A', '1a']];
    expect(pairs.map(([a, b]) => compareVersions(a, b))).toEqual(dpkgCompare(pairs));
  });
});
