import { describe, expect, it } from 'vitest';
import { applyLayerChange, withLayerChange } from '../../../../src/engine/layering/requests.js';
import { localName, newOrigin, requestName } from '../../../../src/engine/deployments/origin.js';

const base = new Set(['bash', 'dpkg', 'apt']);
const none = { install: [], uninstall: [], installLocal: [] };

describe('requested package set arithmetic', () => {
  it('adds and removes requests, sorted, and says whether anything changed', () => {
    const r = applyLayerChange({ requested: ['vim'], requestedLocal: [] }, { ...none, install: ['htop', 'curl=7.88.1-10'] }, base);
    expect(r).toEqual({ requested: ['curl=7.88.1-10', 'htop', 'vim'], requestedLocal: [], changed: true });
    const u = applyLayerChange({ requested: r.requested, requestedLocal: [] }, { ...none, uninstall: ['curl'] }, base);
    expect(u.requested).toEqual(['htop', 'vim']);
  });

  it('refuses a package already requested, unless idempotent', () => {
    expect(() => applyLayerChange({ requested: ['htop'], requestedLocal: [] }, { ...none, install: ['htop'] }, base)).toThrow(/'htop' is already requested/);
    const r = applyLayerChange({ requested: ['htop'], requestedLocal: [] }, { ...none, install: ['htop'], idempotent: true }, base);
    expect(r.changed).toBe(false);
  });

  it('refuses a base package unless --allow-inactive, and points uninstall of one to override remove', () => {
    expect(() => applyLayerChange({ requested: [], requestedLocal: [] }, { ...none, install: ['bash'] }, base)).toThrow(/already in the base image/);
    expect(applyLayerChange({ requested: [], requestedLocal: [] }, { ...none, install: ['bash'], allowInactive: true }, base).requested).toEqual(['bash']);
    try {
      applyLayerChange({ requested: [], requestedLocal: [] }, { ...none, uninstall: ['dpkg'] }, base);
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/'dpkg' is part of the base image/);
      expect((e as { hint?: string }).hint).toMatch(/override remove dpkg/);
    }
  });

  it('lists every problem in one message', () => {
    expect(() => applyLayerChange({ requested: ['htop'], requestedLocal: [] }, { ...none, install: ['htop', 'bash'], uninstall: ['nope'] }, base)).toThrow(
      /'nope' is not a layered package.*'htop' is already requested.*'bash' is already in the base image/,
    );
  });

  it('uninstalls everything with --all, local packages included', () => {
    const r = applyLayerChange({ requested: ['a1', 'b2'], requestedLocal: ['abc:tool_1.0_all'] }, { ...none, uninstallAll: true }, base);
    expect(r).toEqual({ requested: [], requestedLocal: [], changed: true });
  });

  it('replaces a local package of the same name with a new file', () => {
    const r = applyLayerChange({ requested: [], requestedLocal: ['aaa:tool_1.0_all'] }, { ...none, installLocal: ['bbb:tool_2.0_all'] }, base);
    expect(r.requestedLocal).toEqual(['bbb:tool_2.0_all']);
    expect(applyLayerChange({ requested: [], requestedLocal: ['aaa:tool_1.0_all'] }, { ...none, uninstall: ['tool'] }, base).requestedLocal).toEqual([]);
  });

  it('matches requests by package name', () => {
    expect(requestName('htop=3.2-1')).toBe('htop');
    expect(requestName('htop/bookworm-backports')).toBe('htop');
    expect(requestName('libc6:i386')).toBe('libc6');
    expect(localName('0123:tool_1.0_all')).toBe('tool');
  });
});

describe('withLayerChange', () => {
  it('applies a layer change to the requests of an origin and keeps everything else', () => {
    const origin = { ...newOrigin('origin:debian/13/x86_64/base'), requestedPackages: ['htop'], removedBasePackages: ['nano'] };
    const next = withLayerChange(origin, { install: ['libc6:i386'], uninstall: ['htop'], installLocal: [] }, [{ name: 'bash' }]);
    expect(next.requestedPackages).toEqual(['libc6:i386']);
    expect(next.removedBasePackages).toEqual(['nano']);
    expect(next.refspec).toBe('origin:debian/13/x86_64/base');
  });

  it('refuses a package of the base, as applyLayerChange does', () => {
    const origin = newOrigin('origin:debian/13/x86_64/base');
    expect(() => withLayerChange(origin, { install: ['bash'], uninstall: [], installLocal: [] }, [{ name: 'bash' }])).toThrow(/already in the base image/);
  });
});
