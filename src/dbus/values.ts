/**
 * The package and repository values of --dbus-compat in rpm-ostree's shapes: package
 * dictionaries, ListRepos dictionaries, package diffs (a(sua{sv})) and the cached update's
 * 'rpm-diff'.
 */
import dbus from 'dbus-next';
import { parseVersion } from '../debian/version.js';
import { diffPackages, type PackageDiff, type PackageEntry } from '../engine/deployments/packages.js';
import { sourceLine, type AptSource } from '../engine/layering/apt-sources.js';
import type { VarDict } from './variant.js';

const { Variant } = dbus;

/** rpm-ostree's package diff kinds (RpmOstreePackageDiffTypes). */
const DIFF_ADDED = 0;
const DIFF_REMOVED = 1;
const DIFF_UPGRADED = 2;
const DIFF_DOWNGRADED = 3;

/** rpm-ostree's package types in the cached update's rpm-diff (RpmOstreePkgTypes): a base package. */
const PKG_TYPE_BASE = 0;

/**
 * A package as rpm-ostree's GetPackages and WhatProvides give one: 'name', 'epoch' (t),
 * 'version' (without the epoch), 'arch', 'evr' (the full Debian version), 'nevra'
 * (name_version_arch, as the .deb file is named).
 */
export function packageDict(p: { name: string; version: string; arch: string }): VarDict {
  let epoch = 0;
  let version = p.version;
  try {
    const v = parseVersion(p.version, { strict: false });
    epoch = v.epoch;
    version = `${v.upstream}${v.revision ? `-${v.revision}` : ''}`;
  } catch {
    /* keep the text as it is */
  }
  return {
    name: new Variant('s', p.name),
    epoch: new Variant('t', epoch),
    version: new Variant('s', version),
    arch: new Variant('s', p.arch),
    evr: new Variant('s', p.version),
    nevra: new Variant('s', `${p.name}_${p.version}_${p.arch}`),
  };
}

/**
 * An apt source as a ListRepos dictionary: rpm-ostree's keys ('id', 'description',
 * 'is-enabled', 'is-source', 'is-devel') and the source's own ('file', 'types', 'uris',
 * 'suites', 'components', 'signed-by', 'architectures').
 */
export function repoDict(s: AptSource): VarDict {
  return {
    id: new Variant('s', s.id),
    description: new Variant('s', s.name ?? sourceLine(s)),
    'is-enabled': new Variant('b', s.enabled),
    // deb-src only: GNOME Software hides these, as rpm-ostree's source repositories.
    'is-source': new Variant('b', !s.types.includes('deb')),
    // Debian's and Ubuntu's debug-symbol archives (trixie-debug, ddebs.ubuntu.com), as rpm-ostree's -debuginfo repositories.
    'is-devel': new Variant('b', (s.suites.length > 0 && s.suites.every((x) => x.endsWith('-debug'))) || s.uris.some((u) => /\/\/ddebs\.|\/debian-debug\b/.test(u))),
    file: new Variant('s', s.file),
    types: new Variant('as', s.types),
    uris: new Variant('as', s.uris),
    suites: new Variant('as', s.suites),
    components: new Variant('as', s.components),
    ...(s.signedBy ? { 'signed-by': new Variant('s', s.signedBy) } : {}),
    ...(s.architectures ? { architectures: new Variant('as', s.architectures) } : {}),
  };
}

/**
 * The cached update's 'rpm-diff' in rpm-ostree's shape: 'upgraded' and 'downgraded'
 * a(us(ss)(ss)) (type, name, (previous version, arch), (new version, arch)), 'removed' and
 * 'added' a(usss) (type, name, version, arch), each sorted by name; every package of the base
 * (type 0), Debian versions for evr.
 */
export function cachedUpdateRpmDiff(d: PackageDiff): VarDict {
  const byName = <T extends { name: string; arch: string }>(xs: readonly T[]) => [...xs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
  const modified = (xs: PackageDiff['upgraded']) => byName(xs).map((c) => [PKG_TYPE_BASE, c.name, [c.from, c.previousArch ?? c.arch], [c.to, c.arch]]);
  const single = (xs: PackageEntry[]) => byName(xs).map((p) => [PKG_TYPE_BASE, p.name, p.version, p.arch]);
  return {
    upgraded: new Variant('a(us(ss)(ss))', modified(d.upgraded)),
    downgraded: new Variant('a(us(ss)(ss))', modified(d.downgraded)),
    removed: new Variant('a(usss)', single(d.removed)),
    added: new Variant('a(usss)', single(d.added)),
  };
}

/** rpm-ostree's package diff (a(sua{sv})): by kind, then name. */
export function rpmDiff(from: PackageEntry[], to: PackageEntry[]): unknown[] {
  const pkg = (name: string, version: string, arch: string) => new Variant('(sss)', [name, version, arch]);
  const d = diffPackages(from, to);
  const rows: [string, number, VarDict][] = [
    ...d.added.map((p): [string, number, VarDict] => [p.name, DIFF_ADDED, { NewPackage: pkg(p.name, p.version, p.arch) }]),
    ...d.removed.map((p): [string, number, VarDict] => [p.name, DIFF_REMOVED, { PreviousPackage: pkg(p.name, p.version, p.arch) }]),
    ...d.upgraded.map((c): [string, number, VarDict] => [c.name, DIFF_UPGRADED, { PreviousPackage: pkg(c.name, c.from, c.previousArch ?? c.arch), NewPackage: pkg(c.name, c.to, c.arch) }]),
    ...d.downgraded.map((c): [string, number, VarDict] => [c.name, DIFF_DOWNGRADED, { PreviousPackage: pkg(c.name, c.from, c.previousArch ?? c.arch), NewPackage: pkg(c.name, c.to, c.arch) }]),
  ];
  return rows.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
