/**
 * What apply-live would change on the running system, from the difference between the commit
 * the running /usr shows (the booted one, or the one applied live before) and the pending
 * deployment's: files of /usr to add, replace and remove, new /etc defaults, and the packages
 * behind them. Changed or removed packages are a "replacement" (rpm-ostree's word): programs
 * that run may see their files change under them, so that needs --allow-replacement.
 */
import type { TreeDiffEntry } from '../../system/ostree.js';
import { diffPackages, type PackageDiff, type PackageEntry } from './packages.js';
import type { TreeChange } from './live-tree.js';

export interface LivePlan {
  packages: PackageDiff;
  /** The packages that change or go ('name 1.0 → 2.0', 'name 1.0 (removed)'); empty: only additions. */
  replaced: string[];
  /** The change of /usr, relative to it. */
  usr: TreeChange;
  /** Entries added under /usr/etc (the new defaults of /etc), relative to it; topmost only. */
  etcAdded: string[];
  /** tmpfiles.d and sysusers.d files of /usr/lib added or changed, absolute ('/usr/lib/tmpfiles.d/x.conf'). */
  tmpfiles: string[];
  sysusers: string[];
  /** Paths outside /usr that differ: apply-live cannot change them (they wait for the reboot). */
  outsideUsr: string[];
}

/**
 * `isDir(relativeToUsr)` says whether a path of the pending tree is a directory (to tell a
 * directory's metadata change from a file's).
 */
export function planLive(diff: readonly TreeDiffEntry[], from: readonly PackageEntry[], to: readonly PackageEntry[], isDir: (rel: string) => boolean): LivePlan {
  const packages = diffPackages(from, to);
  const replaced = [
    ...packages.upgraded.map((p) => `${p.name} ${p.from} → ${p.to}`),
    ...packages.downgraded.map((p) => `${p.name} ${p.from} → ${p.to}`),
    ...packages.removed.map((p) => `${p.name} ${p.version} (removed)`),
  ];
  const usr: TreeChange = { add: [], replace: [], remove: [], dirMeta: [] };
  const added = new Set<string>();
  const removed = new Set<string>();
  const outsideUsr: string[] = [];
  for (const e of [...diff].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (!e.path.startsWith('/usr/')) {
      outsideUsr.push(e.path);
      continue;
    }
    const rel = e.path.slice('/usr/'.length);
    if (e.kind === 'A') {
      added.add(rel);
      // Sorted: a directory comes before its content, which moves with it.
      if (!added.has(parentOf(rel))) usr.add.push(rel);
    } else if (e.kind === 'M') {
      (isDir(rel) ? usr.dirMeta : usr.replace).push(rel);
    } else {
      removed.add(rel);
      if (!removed.has(parentOf(rel))) usr.remove.push(rel);
    }
  }
  const etcAdded = usr.add.filter((p) => p.startsWith('etc/')).map((p) => p.slice('etc/'.length));
  const snippets = (dir: string) =>
    [...added, ...usr.replace]
      .filter((p) => p.startsWith(`${dir}/`) && p.endsWith('.conf') && !p.slice(dir.length + 1).includes('/'))
      .map((p) => `/usr/${p}`)
      .sort();
  return { packages, replaced, usr, etcAdded, tmpfiles: snippets('lib/tmpfiles.d'), sysusers: snippets('lib/sysusers.d'), outsideUsr };
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/** Nothing to do: the running /usr already shows the pending commit's files. */
export function isEmptyPlan(p: LivePlan): boolean {
  const u = p.usr;
  return !u.add.length && !u.replace.length && !u.remove.length && !u.dirMeta.length;
}
