/**
 * The origin file of a deployment (`<deploy>.origin`), as ostree and rpm-ostree write it:
 *
 *   [origin]    refspec=remote:ref            (plain image)
 *               baserefspec=remote:ref        (image with client-side changes, so that plain
 *                                              `ostree admin upgrade` refuses instead of dropping them)
 *               override-commit=CHECKSUM      (pinned to one commit by `deploy`)
 *   [packages]  requested=a;b;                (layered packages, as the admin asked for them)
 *               requested-local=SHA256:NAME;  (local .deb files, stored in the stateroot)
 *   [overrides] remove=pkg;                   (base packages removed)
 *               replace=pkg=VERSION;          (base packages replaced by another version from apt)
 *               replace-local=SHA256:NAME;    (… or by a local .deb)
 *   [aptostree] regenerate-initramfs=true, initramfs-args=...
 *   [libostree-transient] pinned=true         (ostree admin pin)
 *
 * parseOrigin reads leniently; validateOrigin says what is wrong with a damaged file (empty,
 * cut off, not text, no usable refspec), so that commands refuse it instead of writing a new
 * origin from what little they could read (an empty refspec, layered packages silently lost).
 */
import { isUtf8 } from 'node:buffer';
import { AptOstreeError } from '../../errors.js';
import { isValidRefspec } from '../../ostree/refs.js';
import { KeyFile } from '../../ostree/keyfile.js';
import { META } from '../../layout/commit-metadata.js';

export interface Origin {
  refspec: string;
  overrideCommit?: string;
  requestedPackages: string[];
  requestedLocalPackages: string[];
  removedBasePackages: string[];
  /** `name=version` requests replacing base packages from the apt sources. */
  replacedPackages: string[];
  replacedLocalPackages: string[];
  regenerateInitramfs: boolean;
  initramfsArgs: string[];
  pinned: boolean;
  /** `unlocked=hotfix` of a deployment cloned by `ostree admin unlock --hotfix`. */
  unlocked?: string;
  /** Everything else in the file, kept as it was. */
  keyfile: KeyFile;
}

/** The package name of a request: `name`, `name=ver`, `name/suite`, `name:arch` → `name`. */
export function requestName(request: string): string {
  return request.split(/[=/:]/, 1)[0]!;
}

/** The package name of a requested-local entry `SHA256:name_version_arch`. */
export function localName(entry: string): string {
  const rest = entry.includes(':') ? entry.slice(entry.indexOf(':') + 1) : entry;
  return rest.split('_', 1)[0]!;
}

export function parseOrigin(text: string): Origin {
  const kf = KeyFile.parse(text);
  const refspec = kf.get('origin', 'baserefspec') ?? kf.get('origin', 'refspec') ?? '';
  return {
    refspec,
    overrideCommit: kf.get('origin', 'override-commit') || undefined,
    requestedPackages: kf.getList('packages', 'requested'),
    requestedLocalPackages: kf.getList('packages', 'requested-local'),
    removedBasePackages: kf.getList('overrides', 'remove'),
    replacedPackages: kf.getList('overrides', 'replace'),
    replacedLocalPackages: kf.getList('overrides', 'replace-local'),
    regenerateInitramfs: kf.getBool('aptostree', 'regenerate-initramfs'),
    initramfsArgs: kf.getList('aptostree', 'initramfs-args'),
    pinned: kf.getBool('libostree-transient', 'pinned'),
    unlocked: kf.get('origin', 'unlocked') || undefined,
    keyfile: kf,
  };
}

/** True when the deployment carries client-side changes on top of its base commit. */
export function hasClientLayer(o: Origin): boolean {
  return (
    o.requestedPackages.length > 0 ||
    o.requestedLocalPackages.length > 0 ||
    o.removedBasePackages.length > 0 ||
    o.replacedPackages.length > 0 ||
    o.replacedLocalPackages.length > 0 ||
    o.regenerateInitramfs
  );
}

export function serializeOrigin(o: Origin): string {
  const kf = KeyFile.parse(o.keyfile.toString());
  // Set before removing the other key: emptied, the [origin] group would move to the end.
  const layered = hasClientLayer(o);
  kf.set('origin', layered ? 'baserefspec' : 'refspec', o.refspec);
  kf.remove('origin', layered ? 'refspec' : 'baserefspec');
  // A new deployment starts locked, whatever the one it came from was.
  kf.remove('origin', 'unlocked');
  if (o.overrideCommit) kf.set('origin', 'override-commit', o.overrideCommit);
  else kf.remove('origin', 'override-commit');
  setOrRemoveList(kf, 'packages', 'requested', o.requestedPackages);
  setOrRemoveList(kf, 'packages', 'requested-local', o.requestedLocalPackages);
  setOrRemoveList(kf, 'overrides', 'remove', o.removedBasePackages);
  setOrRemoveList(kf, 'overrides', 'replace', o.replacedPackages);
  setOrRemoveList(kf, 'overrides', 'replace-local', o.replacedLocalPackages);
  if (o.regenerateInitramfs) kf.setBool('aptostree', 'regenerate-initramfs', true);
  else kf.remove('aptostree', 'regenerate-initramfs');
  // Arguments keep their order (`-I FILE` is two of them); package lists are sets.
  if (o.initramfsArgs.length > 0) kf.setList('aptostree', 'initramfs-args', o.initramfsArgs);
  else kf.remove('aptostree', 'initramfs-args');
  // Pinning belongs to the deployment, not to what we derive from it: a new deployment starts unpinned.
  kf.removeGroup('libostree-transient');
  return kf.toString();
}

function setOrRemoveList(kf: KeyFile, group: string, key: string, values: string[]): void {
  if (values.length > 0) kf.setList(group, key, [...values].sort());
  else kf.remove(group, key);
}

export function newOrigin(refspec: string): Origin {
  return parseOrigin(`[origin]\nrefspec=${refspec}\n`);
}

/** What is wrong with an origin file, worded to follow "FILE: ". */
export interface OriginDamage {
  problem: string;
  /**
   * ostree itself cannot load a sysroot with this file (not UTF-8, a line that is no key file
   * line): every `ostree admin` command fails until it is rewritten by hand.
   */
  unloadable: boolean;
}

const CHECKSUM_RE = /^[0-9a-f]{64}$/;

/**
 * Read an origin file's bytes and say whether it can be trusted. `origin` is always the
 * lenient reading (pinned and unlocked still come from it); act on it only without `damage`.
 */
export function validateOrigin(data: Buffer | string): { origin: Origin; damage?: OriginDamage } {
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    text = data.toString('utf8');
    // GKeyFile refuses both (ostree says "Invalid UTF-8" for NUL bytes too).
    if (data.includes(0)) return { origin: parseOrigin(text), damage: { problem: 'it contains NUL bytes, it is not a text file', unloadable: true } };
    if (!isUtf8(data)) return { origin: parseOrigin(text), damage: { problem: 'it is not UTF-8 text', unloadable: true } };
  }
  const origin = parseOrigin(text);
  const problem = (p: string, unloadable = false) => ({ origin, damage: { problem: p, unloadable } });
  if (text.trim() === '') return problem('the file is empty');
  const bad = origin.keyfile.problems;
  if (bad.length) {
    const first = bad[0]!;
    const more = bad.length > 1 ? ` (and ${bad.length - 1} more bad line${bad.length > 2 ? 's' : ''})` : '';
    return problem(`line ${first.line} "${shorten(first.text)}" ${first.reason}; the file is truncated or corrupt${more}`, true);
  }
  // ostree and apt-ostree end every line they write: a missing final newline is a cut-off file.
  if (!text.endsWith('\n')) return problem(`the last line "${shorten(text.slice(text.lastIndexOf('\n') + 1))}" is cut off (no newline at the end): the file is truncated`);
  const kf = origin.keyfile;
  if (!kf.groupNames().includes('origin')) return problem('it has no [origin] group');
  const refspec = kf.get('origin', 'refspec');
  const baserefspec = kf.get('origin', 'baserefspec');
  if (refspec !== undefined && baserefspec !== undefined) return problem('it has both refspec and baserefspec');
  const key = baserefspec !== undefined ? 'baserefspec' : 'refspec';
  const value = baserefspec ?? refspec;
  if (value === undefined) return problem('it has no refspec');
  if (value === '') return problem(`its ${key} is empty`);
  if (!isValidRefspec(value)) return problem(`its ${key} "${shorten(value)}" is not an OSTree refspec (REMOTE:REF)`);
  const pinnedTo = kf.get('origin', 'override-commit');
  if (pinnedTo !== undefined && !CHECKSUM_RE.test(pinnedTo)) return problem(`its override-commit "${shorten(pinnedTo)}" is not a commit checksum`);
  // baserefspec is written only together with what is layered: alone, the rest was lost.
  if (key === 'baserefspec' && !hasClientLayer(origin) && kf.groupNames().every((g) => g === 'origin' || g === 'libostree-transient')) {
    return problem('it has a baserefspec (a layered deployment) but no [packages] or [overrides]: the rest of the file is missing');
  }
  return { origin };
}

/**
 * A damaged origin that still reads as a valid file: the [packages] group cut off at a line
 * end. The deployment's commit records what its layer was built from; an origin asking for
 * less than that is missing requests (nobody drops a request without a new commit).
 */
export function checkOriginAgainstCommit(o: Origin, metadata: Record<string, unknown>): string | undefined {
  if (metadata[META.clientLayer] !== true && typeof metadata[META.baseChecksum] !== 'string') return undefined;
  const strings = (k: string) => (Array.isArray(metadata[k]) ? (metadata[k] as unknown[]).map(String) : []);
  const missing = (k: string, have: string[]) => strings(k).filter((x) => !have.includes(x));
  const lost: string[] = [];
  const requested = missing(META.requestedPackages, o.requestedPackages);
  if (requested.length) lost.push(`the layered package${requested.length > 1 ? 's' : ''} ${requested.join(', ')}`);
  const removed = missing(META.removedBasePackages, o.removedBasePackages);
  if (removed.length) lost.push(`the removal of ${removed.join(', ')}`);
  // aptostree.packages: the requested packages installed, then the local .debs by name.
  const requestedNames = new Set(strings(META.requestedPackages).map(requestName));
  const localNames = new Set(o.requestedLocalPackages.map(localName));
  const local = strings(META.packages).filter((n) => !requestedNames.has(n) && !localNames.has(n));
  if (local.length) lost.push(`the local package${local.length > 1 ? 's' : ''} ${local.join(', ')}`);
  if (metadata[META.initramfsArgs] !== undefined && !o.regenerateInitramfs) lost.push('the initramfs regeneration');
  if (!lost.length) return undefined;
  return `it does not ask for ${lost.join(', ')}, which the deployment's commit was built with: part of the file is missing`;
}

/** The same request: what serializeOrigin keeps (a new deployment starts unpinned and locked). */
export function sameOrigin(a: Origin, b: Origin): boolean {
  const set = (l: string[]) => JSON.stringify([...l].sort());
  return (
    a.refspec === b.refspec &&
    (a.overrideCommit ?? '') === (b.overrideCommit ?? '') &&
    set(a.requestedPackages) === set(b.requestedPackages) &&
    set(a.requestedLocalPackages) === set(b.requestedLocalPackages) &&
    set(a.removedBasePackages) === set(b.removedBasePackages) &&
    set(a.replacedPackages) === set(b.replacedPackages) &&
    set(a.replacedLocalPackages) === set(b.replacedLocalPackages) &&
    a.regenerateInitramfs === b.regenerateInitramfs &&
    JSON.stringify(a.initramfsArgs) === JSON.stringify(b.initramfsArgs)
  );
}

/**
 * The text of an origin file about to be written. apt-ostree never writes an origin it could
 * not read back as the same request: this is the last check before a deployment gets it.
 */
export function originFileText(o: Origin): string {
  const text = serializeOrigin(o);
  const back = validateOrigin(text);
  const problem = back.damage?.problem ?? (sameOrigin(back.origin, o) ? undefined : 'it reads back as a different request');
  if (problem) {
    throw new AptOstreeError(`Refusing to write an origin file that apt-ostree could not read back: ${problem}.`, {
      hint: 'Nothing was deployed. This is a bug in apt-ostree; please report it with the output of `apt-ostree status`.',
      detail: text,
    });
  }
  return text;
}

function shorten(s: string): string {
  const clean = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > 60 ? `${clean.slice(0, 57)}...` : clean;
}
