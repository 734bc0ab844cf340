// ostree's refusals of a pull, said as one sentence naming remote, commit and what failed.
import { describe, expect, it } from 'vitest';
import { refusedPull } from '../../../../src/engine/deployments/verification.js';
import { ToolError } from '../../../../src/errors.js';

describe('why a pull was refused', () => {
  const pullError = (stderr: string) => new ToolError('ostree', ['pull'], { exitStatus: 1, stderr, what: 'ostree pull from origin' });
  const c = 'a'.repeat(64);
  it('names remote, commit and what failed, for ostree\'s own messages', () => {
    const o = { repo: '/nonexistent', remote: 'origin', ref: 'os/base' };
    expect(refusedPull(pullError(`error: Commit ${c}: GPG verification enabled, but no signatures found (use gpg-verify=false in remote config to disable)`), o)?.message)
      .toBe(`Refused commit ${c} of origin:os/base: it is not signed; nothing was changed.`);
    expect(refusedPull(pullError(`error: Commit ${c}: GPG signatures found, but none are in trusted keyring`), o)?.message)
      .toBe(`Refused commit ${c} of origin:os/base: it is signed, but by no key the remote trusts; nothing was changed.`);
    expect(refusedPull(pullError('error: Corrupted file object; checksum expected=\'ab\' actual=\'cd\''), { ...o, commit: c })?.message)
      .toBe(`Refused commit ${c} of origin:os/base: it does not match its checksum: the server's data was tampered with or damaged; nothing was changed.`);
    expect(refusedPull(pullError('error: GPG verification enabled, but no summary signatures found'), o)?.message).toMatch(/^Refused the summary of origin: it is not signed/);
    expect(refusedPull(pullError('error: GPG verification enabled, but no summary found (check that the configured URL in remote config is correct)'), o)?.message).toMatch(/^Refused the summary of origin: it is missing, and the remote verifies its summary/);
    expect(refusedPull(pullError('error: Server returned HTTP 404'), o)).toBeUndefined();
    expect(refusedPull(new Error('other'), o)).toBeUndefined();
  });
});
