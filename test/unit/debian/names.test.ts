import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import {
  isLocalDebPath, packageNameProblem, parsePackageArguments, requestProblem, splitArchQualifier,
} from '../../../src/debian/names.js';
import { architectureSchema, packageRequestSchema } from '../../../src/debian/schemas.js';

describe('package names', () => {
  it('accepts policy-conforming names', () => {
    for (const n of ['htop', 'libc6', 'g++', 'libstdc++6', 'python3.11', 'x11-common', '0ad', 'ca-certificates', 'e2fsprogs', 'xz-utils', 'r-base']) {
      expect(packageNameProblem(n)).toBeUndefined();
    }
  });

  it('rejects the rest and says why', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['a', /at least two/],
      ['Htop', /lowercase/],
      ['-foo', /start with/],
      ['.foo', /start with/],
      ['+foo', /start with/],
      ['foo_bar', /not '_'/],
      ['foo bar', /not ' '/],
      ['foo;rm', /not ';'/],
      ['foo$(x)', /not '\$'/],
      ['café', /not 'é'/],
    ];
    for (const [n, re] of cases) {
      expect(packageNameProblem(n), n).toMatch(re);
    }
  });

  it('splits an architecture qualifier', () => {
    expect(splitArchQualifier('libc6:i386')).toEqual({ name: 'libc6', arch: 'i386' });
    expect(splitArchQualifier('libc6')).toEqual({ name: 'libc6' });
  });
});

describe('package requests', () => {
  const parse = (t: string) => parsePackageArguments([t]).requests[0];
  it('parses what apt-get install takes', () => {
    expect(parse('htop')).toEqual({ text: 'htop', name: 'htop' });
    expect(parse('curl=7.88.1-10+deb12u5')).toEqual({ text: 'curl=7.88.1-10+deb12u5', name: 'curl', version: '7.88.1-10+deb12u5' });
    expect(parse('vim/bookworm-backports')).toEqual({ text: 'vim/bookworm-backports', name: 'vim', release: 'bookworm-backports' });
    expect(parse('libc6:i386')).toEqual({ text: 'libc6:i386', name: 'libc6', arch: 'i386' });
    expect(parse('libc6:amd64=2.36-9')).toEqual({ text: 'libc6:amd64=2.36-9', name: 'libc6', arch: 'amd64', version: '2.36-9' });
    expect(parse('libc6:arm64/stable')).toEqual({ text: 'libc6:arm64/stable', name: 'libc6', arch: 'arm64', release: 'stable' });
    expect(parse('foo=1:2.0-1')).toMatchObject({ name: 'foo', version: '1:2.0-1' }); // an epoch's colon is not an arch
  });

  it('rejects bad requests naming the argument and the accepted forms', () => {
    const cases: Array<[string, RegExp]> = [
      ['Htop', /lowercase/],
      ['h', /at least two/],
      ['curl=', /version .* empty|empty/],
      ['curl=abc', /does not start with a digit/],
      ['curl=1.0_1', /character/],
      ['curl=1.0/stable', /either =VERSION or \/SUITE/],
      ['vim/stable=1.0', /either =VERSION or \/SUITE/],
      ['vim/', /not a suite/],
      ['vim/-x', /not a suite/],
      ['libc6:', /not an architecture/],
      ['libc6:I386', /not an architecture/],
      ['foo;bar', /not ';'/],
      [':i386', /empty/],
      ['=1.0', /empty/],
    ];
    for (const [t, re] of cases) {
      expect(requestProblem(t).problem, t).toMatch(re);
      let err: unknown;
      try {
        parsePackageArguments([t]);
      } catch (e) {
        err = e;
      }
      expect(err, t).toBeInstanceOf(InputError);
      const e = err as InputError;
      expect(e.message, t).toContain(`Not a valid package: '${t}' (`);
      expect(e.message, t).toMatch(re);
      expect(e.hint).toMatch(/NAME=VERSION/);
      expect(e.exitCode).toBe(1);
    }
  });
});

describe('isLocalDebPath and parsePackageArguments', () => {
  it('tells local .deb files from package names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'names-'));
    try {
      const deb = join(dir, 'foo_1.0_all.deb');
      writeFileSync(deb, '');
      expect(isLocalDebPath(deb)).toBe(true);
      expect(isLocalDebPath('./missing_1.0_all.deb')).toBe(true); // a path: apt would say it is missing
      expect(isLocalDebPath('foo.deb')).toBe(false); // no slash and no such file: a (bad) name
      expect(isLocalDebPath('htop')).toBe(false);
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        expect(isLocalDebPath('foo_1.0_all.deb')).toBe(true);
      } finally {
        process.chdir(cwd);
      }
      expect(parsePackageArguments(['htop', deb, 'curl=7.0-1'])).toEqual({
        requests: [{ text: 'htop', name: 'htop' }, { text: 'curl=7.0-1', name: 'curl', version: '7.0-1' }],
        localDebs: [deb],
      });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('reports every bad argument in one error', () => {
    expect(() => parsePackageArguments(['htop', 'Bad', 'x'])).toThrow(/Not valid packages: 'Bad' \(package names are lowercase\), 'x' \(package names have at least two characters\)/);
    expect(() => parsePackageArguments(['Bad'])).toThrow(/Not a valid package: 'Bad'/);
  });
});

describe('zod schemas', () => {
  it('validate architectures and requests', () => {
    expect(architectureSchema.safeParse('amd64').success).toBe(true);
    expect(architectureSchema.safeParse('AMD64').success).toBe(false);
    expect(packageRequestSchema.parse('vim/stable')).toEqual({ text: 'vim/stable', name: 'vim', release: 'stable' });
    const r = packageRequestSchema.safeParse('vim/');
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/'vim\/' is not a valid package/);
  });
});
