// The ref grammar's own cases; test/integration/agreement/ostree-refs.test.ts checks it and the
// ref reader against ostree itself.
import { describe, expect, it } from 'vitest';
import { isValidRef, isValidRefspec, isValidRemoteName, parseRefspec } from '../../../src/ostree/refs.js';

describe('the refspec grammar', () => {
  it('splits a refspec as ostree_parse_refspec does; refs and remote names alone', () => {
    expect(parseRefspec('origin:debian/12/x86_64/base')).toEqual({ remote: 'origin', ref: 'debian/12/x86_64/base' });
    expect(parseRefspec('debian/12')).toEqual({ ref: 'debian/12' });
    expect(parseRefspec('a:b:c')).toBeUndefined();
    expect(isValidRef('debian/12')).toBe(true);
    expect(isValidRef('o:debian/12')).toBe(false);
    expect(isValidRef('a\n')).toBe(false);
    expect(isValidRemoteName('origin')).toBe(true);
    expect(isValidRemoteName('a/b')).toBe(false);
    expect(isValidRefspec('')).toBe(false);
  });

  it('answers for ASCII (matched without Unicode properties) as the Unicode grammar does, and still takes Unicode letters', () => {
    const fragment = String.raw`[\p{L}\p{N}_][-.\p{L}\p{N}_]*`;
    const unicodeRef = new RegExp(`^${fragment}(?:/${fragment})*$`, 'u');
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c);
      for (const ref of [ch, `a${ch}`, `a/${ch}b`, `${ch}/a`]) expect(isValidRef(ref), JSON.stringify(ref)).toBe(unicodeRef.test(ref));
    }
    expect(isValidRef('café/ré-1')).toBe(true);
    expect(parseRefspec('dépôt:été/12')).toEqual({ remote: 'dépôt', ref: 'été/12' });
    expect(isValidRef('.é')).toBe(false);
    expect(isValidRef('a→b')).toBe(false);
    expect(isValidRemoteName('é')).toBe(true);
  });
});
