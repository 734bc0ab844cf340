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
 */
import { KeyFile } from './keyfile.js';

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
  kf.remove('origin', 'refspec');
  kf.remove('origin', 'baserefspec');
  // A new deployment starts locked, whatever the one it came from was.
  kf.remove('origin', 'unlocked');
  kf.set('origin', hasClientLayer(o) ? 'baserefspec' : 'refspec', o.refspec);
  if (o.overrideCommit) kf.set('origin', 'override-commit', o.overrideCommit);
  else kf.remove('origin', 'override-commit');
  setOrRemoveList(kf, 'packages', 'requested', o.requestedPackages);
  setOrRemoveList(kf, 'packages', 'requested-local', o.requestedLocalPackages);
  setOrRemoveList(kf, 'overrides', 'remove', o.removedBasePackages);
  setOrRemoveList(kf, 'overrides', 'replace', o.replacedPackages);
  setOrRemoveList(kf, 'overrides', 'replace-local', o.replacedLocalPackages);
  if (o.regenerateInitramfs) kf.setBool('aptostree', 'regenerate-initramfs', true);
  else kf.remove('aptostree', 'regenerate-initramfs');
  setOrRemoveList(kf, 'aptostree', 'initramfs-args', o.initramfsArgs);
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

/** Split `remote:ref` into its parts; a bare ref has no remote. */
export function splitRefspec(refspec: string): { remote?: string; ref: string } {
  const i = refspec.indexOf(':');
  return i < 0 ? { ref: refspec } : { remote: refspec.slice(0, i), ref: refspec.slice(i + 1) };
}
