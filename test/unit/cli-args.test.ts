import { describe, expect, it } from 'vitest';
import { lockWaitWithValue } from '../../src/cli/main.js';

describe('--lock-wait on the command line', () => {
  it('keeps a number of seconds, given either way', () => {
    expect(lockWaitWithValue(['install', '--lock-wait', '30', 'hello'])).toEqual(['install', '--lock-wait=30', 'hello']);
    expect(lockWaitWithValue(['install', '--lock-wait=2.5', 'hello'])).toEqual(['install', '--lock-wait=2.5', 'hello']);
  });

  it('reads a bare --lock-wait as "wait forever", without taking the next word as its value', () => {
    expect(lockWaitWithValue(['install', '--lock-wait', 'hello'])).toEqual(['install', '--lock-wait=Infinity', 'hello']);
    expect(lockWaitWithValue(['upgrade', '--lock-wait'])).toEqual(['upgrade', '--lock-wait=Infinity']);
    expect(lockWaitWithValue(['upgrade', '--lock-wait', '--check'])).toEqual(['upgrade', '--lock-wait=Infinity', '--check']);
  });

  it('refuses a value that is not seconds, naming it', () => {
    expect(() => lockWaitWithValue(['upgrade', '--lock-wait=abc'])).toThrow(/--lock-wait needs a number of seconds, not 'abc'/);
    expect(() => lockWaitWithValue(['upgrade', '--lock-wait=-1'])).toThrow(/not '-1'/);
  });

  it('leaves everything after -- alone', () => {
    expect(lockWaitWithValue(['install', '--', '--lock-wait=abc'])).toEqual(['install', '--', '--lock-wait=abc']);
  });
});
