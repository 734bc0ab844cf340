import { describe, expect, it } from 'vitest';
import { addedRequests } from '../../../../src/engine/layering/change.js';
import { newOrigin, type Origin } from '../../../../src/engine/deployments/origin.js';

const SHA = 'a'.repeat(64);

function withRequests(requested: string[], local: string[] = []): Origin {
  return { ...newOrigin('origin:debian/13/x86_64/base'), requestedPackages: requested, requestedLocalPackages: local };
}

describe('addedRequests (what LockLayering refuses, as its message names it)', () => {
  it('names a package request as it was typed: an architecture or an epoch after a colon stays', () => {
    const current = withRequests(['htop']);
    const next = withRequests(['htop', 'libc6:i386', 'tmux=1:3.2-1']);
    expect(addedRequests(current, next)).toEqual(['libc6:i386', 'tmux=1:3.2-1']);
  });

  it('names a local package by name_version_arch, without its SHA256', () => {
    const next = withRequests([], [`${SHA}:hello_1:2.10-3_amd64`]);
    expect(addedRequests(withRequests([]), next)).toEqual(['hello_1:2.10-3_amd64']);
  });

  it('names nothing that was already requested', () => {
    const current = withRequests(['htop=1:3.2'], [`${SHA}:hello_2.10_amd64`]);
    expect(addedRequests(current, current)).toEqual([]);
  });
});
