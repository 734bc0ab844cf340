// What `override remove/replace/reset`, `reset` and `initramfs` do to the origin's lists, and
// the requests they refuse (every bad argument named in one AptOstreeError).
import { describe, expect, it } from 'vitest';
import { AptOstreeError } from '../../../../src/errors.js';
import type { DpkgPackage } from '../../../../src/debian/deb822.js';
import { parseOrigin, type Origin } from '../../../../src/engine/deployments/origin.js';
import { overrideRemove, overrideReplace, overrideReset, resetOrigin, setInitramfs } from '../../../../src/engine/layering/overrides.js';

const SHA = 'a'.repeat(64);

function pkg(name: string, version = '1.0'): DpkgPackage {
  return { name, version, architecture: 'amd64', status: 'installed', want: 'install', installed: true };
}
const base = ['bash', 'nano', 'vim-tiny', 'libc6', 'e2fsprogs', 'apt'].map((n) => pkg(n));

/** An origin with one of everything: layered packages (one local), overrides of each kind, initramfs. */
function origin(): Origin {
  return parseOrigin(
    [
      '[origin]',
      'baserefspec=origin:debian/12/x86_64/base',
      '',
      '[packages]',
      'requested=htop;curl=7.88.1-10;',
      `requested-local=${SHA}:tool_1.0_all;`,
      '',
      '[overrides]',
      'remove=nano;',
      'replace=libc6=2.36-9+deb12u4;',
      `replace-local=${SHA}:e2fsprogs_1.47.0-2_amd64;`,
      '',
      '[aptostree]',
      'regenerate-initramfs=true',
      'initramfs-args=--add=lvm;-I;/etc/x;',
      '',
    ].join('\n'),
  );
}

/** The AptOstreeError `f` throws. */
function failure(f: () => unknown): AptOstreeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AptOstreeError);
    return e as AptOstreeError;
  }
  throw new Error('did not throw');
}

describe('override remove', () => {
  it('adds base packages to the removed list, leaving the rest of the origin as it was', () => {
    const o = origin();
    const next = overrideRemove(o, ['bash', 'apt'], base);
    expect(next.removedBasePackages).toEqual(['nano', 'bash', 'apt']);
    expect({ ...next, removedBasePackages: o.removedBasePackages }).toEqual(o);
    expect(o.removedBasePackages).toEqual(['nano']); // the origin given is not changed
  });

  it('refuses layered packages (local ones too), unknown ones, removed ones and replaced ones, all in one message', () => {
    const e = failure(() => overrideRemove(origin(), ['htop', 'tool', 'nosuch', 'nano', 'libc6', 'e2fsprogs', 'bash'], base));
    expect(e.message).toBe(
      [
        "'htop' is a layered package, not part of the base image (use apt-ostree uninstall htop)",
        "'tool' is a layered package, not part of the base image (use apt-ostree uninstall tool)",
        "'nosuch' is not a package of the base image",
        "'nano' is already removed",
        "'libc6' is replaced; reset that first (apt-ostree override reset libc6)",
        "'e2fsprogs' is replaced; reset that first (apt-ostree override reset e2fsprogs)",
      ].join('; ') + '.',
    );
    expect(e.hint).toMatch(/db list booted/);
  });

  it('matches a layered request by package name, whatever version or suite it asks for', () => {
    const o = { ...origin(), requestedPackages: ['bash=5.2.15-2+b2'] };
    expect(failure(() => overrideRemove(o, ['bash'], base)).message).toMatch(/'bash' is a layered package/);
  });

  it('records a name given twice once', () => {
    expect(overrideRemove(origin(), ['bash', 'bash'], base).removedBasePackages).toEqual(['nano', 'bash']);
  });
});

describe('override replace', () => {
  it('adds NAME=VERSION requests and local .debs of base packages', () => {
    const o = origin();
    const next = overrideReplace(o, ['bash=5.2.15-2+b7'], [{ entry: `${SHA}:apt_2.6.1_amd64`, name: 'apt' }], base);
    expect(next.replacedPackages).toEqual(['libc6=2.36-9+deb12u4', 'bash=5.2.15-2+b7']);
    expect(next.replacedLocalPackages).toEqual([`${SHA}:e2fsprogs_1.47.0-2_amd64`, `${SHA}:apt_2.6.1_amd64`]);
    expect(next.removedBasePackages).toEqual(o.removedBasePackages);
    expect(o.replacedPackages).toEqual(['libc6=2.36-9+deb12u4']);
  });

  it('replaces an earlier replacement of the same package, from apt or from a local .deb', () => {
    const o = origin();
    // libc6 was replaced from apt: now by a local .deb. e2fsprogs was a local .deb: now from apt.
    const next = overrideReplace(o, ['e2fsprogs=1.47.0-2+b1'], [{ entry: `${SHA}:libc6_2.36-9+deb12u7_amd64`, name: 'libc6' }], base);
    expect(next.replacedPackages).toEqual(['e2fsprogs=1.47.0-2+b1']);
    expect(next.replacedLocalPackages).toEqual([`${SHA}:libc6_2.36-9+deb12u7_amd64`]);
    // Another version of the same package from apt takes the place of the first.
    expect(overrideReplace(o, ['libc6=2.36-9+deb12u7'], [], base).replacedPackages).toEqual(['libc6=2.36-9+deb12u7']);
  });

  it('refuses packages the base does not have and removed ones, all in one message', () => {
    const e = failure(() => overrideReplace(origin(), ['nosuch=1', 'nano=7.2-1'], [{ entry: `${SHA}:other_1_all`, name: 'other' }], base));
    expect(e.message).toBe("'nosuch' is not a package of the base image; 'nano' is removed; reset that first (apt-ostree override reset nano); 'other' is not a package of the base image.");
    expect(e.hint).toMatch(/NAME=VERSION/);
  });
});

describe('override reset', () => {
  it('drops the named overrides of each kind, and nothing else', () => {
    const o = origin();
    const next = overrideReset(o, ['nano', 'e2fsprogs'], false);
    expect(next.removedBasePackages).toEqual([]);
    expect(next.replacedPackages).toEqual(['libc6=2.36-9+deb12u4']);
    expect(next.replacedLocalPackages).toEqual([]);
    expect(next.requestedPackages).toEqual(o.requestedPackages);
    expect(overrideReset(o, ['libc6'], false).replacedPackages).toEqual([]);
    expect(o.removedBasePackages).toEqual(['nano']);
  });

  it('drops every override with --all, even with no names, and keeps layered packages and initramfs', () => {
    const next = overrideReset(origin(), [], true);
    expect(next).toMatchObject({ removedBasePackages: [], replacedPackages: [], replacedLocalPackages: [], requestedPackages: ['htop', 'curl=7.88.1-10'], regenerateInitramfs: true });
    expect(overrideReset(origin(), ['nosuch'], true).removedBasePackages).toEqual([]); // names are not checked with --all
  });

  it('refuses names without an override, all in one message', () => {
    const e = failure(() => overrideReset(origin(), ['bash', 'nano', 'htop'], false));
    expect(e.message).toBe("'bash' has no override; 'htop' has no override.");
    expect(e.hint).toMatch(/apt-ostree status/);
  });
});

describe('reset', () => {
  it('with no part named, resets everything back to the plain base, keeping refspec and pin', () => {
    const o = { ...origin(), overrideCommit: SHA };
    const next = resetOrigin(o, { overlays: false, overrides: false, initramfs: false });
    expect(next).toMatchObject({
      refspec: 'origin:debian/12/x86_64/base',
      overrideCommit: SHA,
      requestedPackages: [],
      requestedLocalPackages: [],
      removedBasePackages: [],
      replacedPackages: [],
      replacedLocalPackages: [],
      regenerateInitramfs: false,
      initramfsArgs: [],
    });
  });

  it('resets only the parts named', () => {
    const o = origin();
    const overlays = resetOrigin(o, { overlays: true, overrides: false, initramfs: false });
    expect(overlays).toMatchObject({ requestedPackages: [], requestedLocalPackages: [], removedBasePackages: ['nano'], regenerateInitramfs: true });
    const overrides = resetOrigin(o, { overlays: false, overrides: true, initramfs: false });
    expect(overrides).toMatchObject({ requestedPackages: ['htop', 'curl=7.88.1-10'], removedBasePackages: [], replacedPackages: [], replacedLocalPackages: [], initramfsArgs: ['--add=lvm', '-I', '/etc/x'] });
    const initramfs = resetOrigin(o, { overlays: false, overrides: false, initramfs: true });
    expect(initramfs).toMatchObject({ requestedPackages: ['htop', 'curl=7.88.1-10'], removedBasePackages: ['nano'], regenerateInitramfs: false, initramfsArgs: [] });
    const two = resetOrigin(o, { overlays: true, overrides: true, initramfs: false });
    expect(two).toMatchObject({ requestedPackages: [], replacedPackages: [], regenerateInitramfs: true });
    expect(o.requestedPackages).toEqual(['htop', 'curl=7.88.1-10']);
  });
});

describe('initramfs', () => {
  it('enables with the arguments given, in order; disabling drops them', () => {
    const on = setInitramfs({ ...origin(), regenerateInitramfs: false, initramfsArgs: [] }, true, ['-I', '/etc/y']);
    expect(on).toMatchObject({ regenerateInitramfs: true, initramfsArgs: ['-I', '/etc/y'] });
    const off = setInitramfs(origin(), false, ['ignored']);
    expect(off).toMatchObject({ regenerateInitramfs: false, initramfsArgs: [] });
    expect(off.removedBasePackages).toEqual(['nano']);
  });
});
