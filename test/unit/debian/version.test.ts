import { describe, expect, it } from 'vitest';
import { compareVersions, parseVersion, versionProblem } from '../../../src/debian/version.js';

describe('compareVersions', () => {
  // [a, b, expected sign of compare(a, b)]
  const table: Array<[string, string, -1 | 0 | 1]> = [
    ['1.0', '1.0', 0],
    ['1.01', '1.1', 0], // numeric runs compare as numbers
    ['1.001', '1.1', 0],
    ['1.0', '1.00', 0],
    ['1.0', '1.0.0', -1],
    ['1.0~rc1', '1.0', -1], // tilde sorts before the end of the string
    ['1.0~rc1', '1.0~rc2', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0~', '1.0', -1],
    ['1.0~~a', '1.0~', -1],
    ['1.0a', '1.0', 1],
    ['1.0a', '1.0.', -1], // letters sort before non-letters
    ['1.0+b1', '1.0', 1],
    ['1.0+b1', '1.0.1', -1],
    ['1.0-1', '1.0-1.1', -1],
    ['1.0-1', '1.0', 1], // an empty revision is "0"-ish: shorter loses
    ['1.0-0', '1.0', 0], // ...and exactly equal to revision 0
    ['1:1.0', '2.0', 1], // epochs first
    ['0:1.0', '1.0', 0],
    ['2:0.1', '1:9.9', 1],
    ['1.2.3', '1.2.10', -1],
    ['10', '9', 1],
    ['1a', '1b', -1],
    ['1A', '1a', -1], // ASCII order among letters
    ['1+', '1.', -1], // '+' (43) before '.' (46)
    ['1.0-1+deb12u1', '1.0-1', 1],
    ['1.0-1+deb12u1', '1.0-1+deb12u2', -1],
    ['1.0-1~bpo12+1', '1.0-1', -1],
    ['2.36-9+deb12u4', '2.36-9+deb12u10', -1],
    ['7.88.1-10+deb12u5', '7.88.1-10', 1],
    ['1:2.3-4', '1:2.3-4', 0],
    ['3.0-a', '3.0-1', 1], // letters in the revision sort after digits run end
    ['0.0~git20230101', '0.0', -1],
    ['1.0-1-2', '1.0-1-10', -1], // hyphens in the upstream part
    ['1:2:3', '1:2:4', -1], // colons in the upstream part (with an epoch)
    ['000', '0', 0],
    ['1.0009', '1.9', 0],
  ];
  for (const [a, b, want] of table) {
    it(`${a} vs ${b} → ${want}`, () => {
      expect(compareVersions(a, b)).toBe(want);
      expect(compareVersions(b, a)).toBe(want === 0 ? 0 : -want);
    });
  }

  it('compares versions dpkg only warns about, as dpkg does', () => {
    expect(compareVersions('a', '1')).toBe(1); // a letter against the start of a number: the letter sorts after
    expect(compareVersions('1_2', '1_3')).toBe(-1);
  });

  it('throws on versions dpkg refuses', () => {
    expect(() => compareVersions('1.0-', '1.0')).toThrow(/revision .* is empty/);
    expect(() => compareVersions(':1', '1')).toThrow(/epoch/);
    expect(() => compareVersions('', '1')).toThrow(/empty/);
  });
});

describe('parseVersion and validation', () => {
  it('splits epoch, upstream and revision', () => {
    expect(parseVersion('2:1.0-3-4')).toEqual({ epoch: 2, upstream: '1.0-3', revision: '4' });
    expect(parseVersion('1.0')).toEqual({ epoch: 0, upstream: '1.0', revision: '' });
    expect(parseVersion(' 1.0-1 ')).toEqual({ epoch: 0, upstream: '1.0', revision: '1' });
  });

  it('accepts what policy allows', () => {
    for (const v of ['0', '1.0', '1:0', '1.0~rc1+dfsg-2~bpo12+1', '2:4.5-0+deb12u1', '1.0-1-2', '1:2:3', '20230101', '1.0-a.b+c~d']) {
      expect(versionProblem(v), v).toBeUndefined();
    }
  });

  it('names what is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['1.0 1', /spaces/],
      [':1.0', /epoch .* empty/],
      ['a:1.0', /epoch .* not a number/],
      ['-1:1.0', /epoch .* not a number/],
      ['99999999999:1', /epoch .* too big/],
      ['1.0-', /revision .* empty/],
      ['-1', /upstream version is empty/],
      ['1:', /upstream version is empty/],
      ['a1.0', /does not start with a digit/],
      ['1.0_1', /upstream version has a character/],
      ['1.0-1_2', /revision has a character/],
      ['2:1.0-1:2', /revision has a character/],
      ['1.0/1', /upstream version has a character/],
    ];
    for (const [v, re] of cases) {
      expect(versionProblem(v), v).toMatch(re);
      expect(() => parseVersion(v)).toThrow(/is not a valid Debian version/);
    }
  });

  it('lenient parsing accepts what dpkg only warns about', () => {
    expect(parseVersion('a1.0', { strict: false })).toEqual({ epoch: 0, upstream: 'a1.0', revision: '' });
    expect(() => parseVersion('1.0-', { strict: false })).toThrow();
  });
});
