// The JSONPath subset of `status --jsonpath`: $, .key, ['key'], [N], [-N], [*] and .* select;
// anything else (recursive descent, filters, slices, unions) is refused with an InputError.
import { describe, expect, it } from 'vitest';
import { queryJsonPath } from '../../../../src/cli/render/jsonpath.js';
import { InputError } from '../../../../src/errors.js';

const status = {
  deployments: [
    { id: 'debian-a.0', booted: true, checksum: 'aaa', version: '12.1', 'requested-packages': ['htop', 'vim'], 'base-commit-meta': { 'ostree.ref': 'x', 'a.b': 1 } },
    { id: 'debian-b.0', booted: false, checksum: 'bbb', version: '12.0', 'requested-packages': [], pinned: null },
  ],
  transaction: null,
  'cached-update': { version: '12.2' },
};

describe('selecting', () => {
  it('$ (or nothing) is the whole document', () => {
    expect(queryJsonPath(status, '$')).toEqual([status]);
    expect(queryJsonPath(status, '')).toEqual([status]);
    expect(queryJsonPath(status, '  $  ')).toEqual([status]);
  });

  it('.key and [\'key\'] / ["key"] select a member; bracket keys may hold any character but the quote', () => {
    expect(queryJsonPath(status, '$.transaction')).toEqual([null]);
    expect(queryJsonPath(status, '$.cached-update.version')).toEqual(['12.2']);
    expect(queryJsonPath(status, "$['cached-update']['version']")).toEqual(['12.2']);
    expect(queryJsonPath(status, '$["cached-update"].version')).toEqual(['12.2']);
    expect(queryJsonPath(status, "$.deployments[0].base-commit-meta['ostree.ref']")).toEqual(['x']);
    expect(queryJsonPath(status, "$.deployments[0].base-commit-meta['a.b']")).toEqual([1]);
    expect(queryJsonPath(status, '.cached-update.version')).toEqual(['12.2']); // the leading $ may be left out
  });

  it('[N] and [-N] index arrays from the start and the end', () => {
    expect(queryJsonPath(status, '$.deployments[0].id')).toEqual(['debian-a.0']);
    expect(queryJsonPath(status, '$.deployments[1].id')).toEqual(['debian-b.0']);
    expect(queryJsonPath(status, '$.deployments[-1].id')).toEqual(['debian-b.0']);
    expect(queryJsonPath(status, '$.deployments[-2].id')).toEqual(['debian-a.0']);
    expect(queryJsonPath(status, '$.deployments[ 0 ].id')).toEqual(['debian-a.0']);
  });

  it('[*] and .* take every element of an array, every value of an object, in order', () => {
    expect(queryJsonPath(status, '$.deployments[*].version')).toEqual(['12.1', '12.0']);
    expect(queryJsonPath(status, '$.deployments.*.checksum')).toEqual(['aaa', 'bbb']);
    expect(queryJsonPath(status, '$.deployments[*].requested-packages[*]')).toEqual(['htop', 'vim']);
    expect(queryJsonPath(status, '$.cached-update.*')).toEqual(['12.2']);
    expect(queryJsonPath(status, '$.*')).toEqual([status.deployments, null, status['cached-update']]);
    // A wildcard on a scalar, or on null, selects nothing.
    expect(queryJsonPath(status, '$.transaction[*]')).toEqual([]);
    expect(queryJsonPath(status, '$.deployments[0].id.*')).toEqual([]);
  });

  it('selects nothing, without an error, where the document has nothing', () => {
    expect(queryJsonPath(status, '$.nosuch')).toEqual([]);
    expect(queryJsonPath(status, '$.deployments[2]')).toEqual([]);
    expect(queryJsonPath(status, '$.deployments[-3]')).toEqual([]);
    expect(queryJsonPath(status, '$.deployments[*].pinned')).toEqual([null]); // only the second has the key
    expect(queryJsonPath(status, '$.deployments.id')).toEqual([]); // a key does not select inside an array
    expect(queryJsonPath(status, '$.cached-update[0]')).toEqual([]); // an index does not select inside an object
    expect(queryJsonPath(status, '$.transaction.id')).toEqual([]);
    expect(queryJsonPath(status, '$.deployments.length')).toEqual([]);
  });

  it("selects only the object's own members, never what it inherits ($.constructor selects nothing)", () => {
    expect(queryJsonPath({ a: 1 }, '$.constructor')).toEqual([]);
    expect(queryJsonPath({ a: 1 }, '$.toString')).toEqual([]);
  });
});

describe('refusing what it does not support', () => {
  function refusal(expr: string): InputError {
    try {
      queryJsonPath(status, expr);
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return e as InputError;
    }
    throw new Error(`'${expr}' was accepted`);
  }

  it('names the expression and what is wrong with it, with an example in the hint', () => {
    const e = refusal('$..version');
    expect(e.message).toBe("Invalid --jsonpath '$..version': expected a key at position 2.");
    expect(e.hint).toMatch(/\$\.deployments\[0\]\.checksum/);
  });

  it('refuses recursive descent, filters, slices, unions and script expressions', () => {
    expect(refusal('$..id').message).toMatch(/expected a key at position 2/);
    expect(refusal('$.deployments[?(@.booted)]').message).toMatch(/unsupported selector \[\?\(@\.booted\)\]/);
    expect(refusal('$.deployments[0:1]').message).toMatch(/unsupported selector \[0:1\]/);
    expect(refusal('$.deployments[0,1]').message).toMatch(/unsupported selector \[0,1\]/);
    expect(refusal("$['id','version']").message).toMatch(/unsupported selector/);
    expect(refusal('$.deployments[(@.length-1)]').message).toMatch(/unsupported selector/);
  });

  it('refuses malformed paths', () => {
    expect(refusal('$.deployments[0').message).toMatch(/missing '\]'/);
    expect(refusal('$.').message).toMatch(/expected a key at position 2/);
    expect(refusal('$. deployments').message).toMatch(/expected a key at position 2/);
    expect(refusal('deployments').message).toMatch(/unexpected 'd' at position 0/);
    expect(refusal('$deployments').message).toMatch(/unexpected 'd' at position 1/);
    expect(refusal('$.a$').message).toMatch(/unexpected '\$' at position 3/);
    expect(refusal("$['unterminated]").message).toMatch(/unsupported selector/);
    expect(refusal('$[id]').message).toMatch(/unsupported selector \[id\]/);
    expect(refusal('$[]').message).toMatch(/unsupported selector \[\]/);
  });
});
