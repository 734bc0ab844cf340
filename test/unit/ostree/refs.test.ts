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
});
