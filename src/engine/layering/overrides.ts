/**
 * Origin changes for base package overrides, reset and initramfs regeneration. Pure: each
 * returns the new origin or throws an AptOstreeError naming every bad argument.
 */
import { AptOstreeError } from '../../errors.js';
import type { DpkgPackage } from '../../debian/deb822.js';
import { localName, requestName } from '../deployments/origin.js';
import type { Origin } from '../deployments/origin.js';

function fail(problems: string[], hint: string): never {
  throw new AptOstreeError(`${problems.join('; ')}.`, { hint });
}

export function overrideRemove(o: Origin, names: string[], base: DpkgPackage[]): Origin {
  const baseNames = new Set(base.map((p) => p.name));
  const layered = new Set([...o.requestedPackages.map(requestName), ...o.requestedLocalPackages.map(localName)]);
  const problems: string[] = [];
  for (const n of names) {
    if (layered.has(n)) problems.push(`'${n}' is a layered package, not part of the base image (use apt-ostree uninstall ${n})`);
    else if (!baseNames.has(n)) problems.push(`'${n}' is not a package of the base image`);
    else if (o.removedBasePackages.includes(n)) problems.push(`'${n}' is already removed`);
    else if (replacedNames(o).includes(n)) problems.push(`'${n}' is replaced; reset that first (apt-ostree override reset ${n})`);
  }
  if (problems.length) fail(problems, 'See the base packages with `apt-ostree db list booted` or `dpkg -l`.');
  return { ...o, removedBasePackages: [...new Set([...o.removedBasePackages, ...names])] };
}

/** `replacements` are `name=version` requests; `locals` the origin entries of local .debs. */
export function overrideReplace(o: Origin, replacements: string[], locals: Array<{ entry: string; name: string }>, base: DpkgPackage[]): Origin {
  const baseNames = new Set(base.map((p) => p.name));
  const problems: string[] = [];
  for (const name of [...replacements.map(requestName), ...locals.map((l) => l.name)]) {
    if (!baseNames.has(name)) problems.push(`'${name}' is not a package of the base image`);
    else if (o.removedBasePackages.includes(name)) problems.push(`'${name}' is removed; reset that first (apt-ostree override reset ${name})`);
  }
  if (problems.length) fail(problems, 'override replace takes NAME=VERSION or a .deb file of a package the base image has.');
  const newNames = new Set([...replacements.map(requestName), ...locals.map((l) => l.name)]);
  // A name given twice: the last request counts.
  replacements = [...new Map(replacements.map((r) => [requestName(r), r])).values()];
  locals = [...new Map(locals.map((l) => [l.name, l])).values()];
  return {
    ...o,
    replacedPackages: [...o.replacedPackages.filter((r) => !newNames.has(requestName(r))), ...replacements],
    replacedLocalPackages: [...o.replacedLocalPackages.filter((r) => !newNames.has(localName(r))), ...locals.map((l) => l.entry)],
  };
}

export function overrideReset(o: Origin, names: string[], all: boolean): Origin {
  if (all) return { ...o, removedBasePackages: [], replacedPackages: [], replacedLocalPackages: [] };
  const overridden = new Set([...o.removedBasePackages, ...replacedNames(o)]);
  const unknown = names.filter((n) => !overridden.has(n));
  if (unknown.length) fail(unknown.map((n) => `'${n}' has no override`), 'See the overrides with `apt-ostree status`.');
  const drop = new Set(names);
  return {
    ...o,
    removedBasePackages: o.removedBasePackages.filter((n) => !drop.has(n)),
    replacedPackages: o.replacedPackages.filter((r) => !drop.has(requestName(r))),
    replacedLocalPackages: o.replacedLocalPackages.filter((r) => !drop.has(localName(r))),
  };
}

export interface ResetParts {
  overlays: boolean;
  overrides: boolean;
  initramfs: boolean;
}

/** reset: back to the plain base for the parts asked for (all when none is named). */
export function resetOrigin(o: Origin, parts: ResetParts): Origin {
  const all = !parts.overlays && !parts.overrides && !parts.initramfs;
  const next = { ...o, overrideCommit: o.overrideCommit };
  if (all || parts.overlays) Object.assign(next, { requestedPackages: [], requestedLocalPackages: [] });
  if (all || parts.overrides) Object.assign(next, { removedBasePackages: [], replacedPackages: [], replacedLocalPackages: [] });
  if (all || parts.initramfs) Object.assign(next, { regenerateInitramfs: false, initramfsArgs: [] });
  return next;
}

export function setInitramfs(o: Origin, enable: boolean, args: string[]): Origin {
  return { ...o, regenerateInitramfs: enable, initramfsArgs: enable ? args : [] };
}

function replacedNames(o: Origin): string[] {
  return [...o.replacedPackages.map(requestName), ...o.replacedLocalPackages.map(localName)];
}
