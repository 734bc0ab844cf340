/**
 * Refs that keep the base commits of layered deployments: aptostree/base/0, /1, … (rpm-ostree
 * keeps rpmostree/base/N for the same reason). A layered deployment is its own commit; its base
 * is referenced by nothing once the origin's ref has moved on (an upgrade), so the prune that
 * every `ostree admin deploy`, `undeploy` and `cleanup` runs would delete it, and the deployment
 * could no longer be changed (install, uninstall, override and initramfs start from the base).
 *
 * The refs are rewritten before every deploy (the bases of the deployments there are, plus the
 * new one's) and before cleanup prunes; a base whose deployment went away is freed by the next
 * prune after that. Nothing is written when the set is already right.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRefFile } from '../../ostree/refs.js';
import * as ostree from '../../system/ostree.js';
import { BASE_REF_PREFIX } from '../state-paths.js';
import type { Sysroot } from './sysroot.js';


/**
 * The distinct base commits of the layered ones among `commits` (the deployments' commits,
 * and one about to be deployed), sorted.
 */
export function basesOf(sysroot: Sysroot, commits: Iterable<string>): string[] {
  const bases = new Set<string>();
  for (const commit of commits) {
    const base = sysroot.baseOf(commit);
    if (base !== commit) bases.add(base);
  }
  return [...bases].sort();
}

/** ref name → commit, as the repository has them now (read from the ref files, no ostree start). */
function currentBaseRefs(repo: string): Map<string, string> {
  const dir = join(repo, 'refs', 'heads', BASE_REF_PREFIX);
  const refs = new Map<string, string>();
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const ref = `${BASE_REF_PREFIX}/${name}`;
    const commit = resolveRefFile(repo, ref);
    if (commit) refs.set(ref, commit);
  }
  return refs;
}

/**
 * Make the base refs point at exactly `bases`. Returns a function that puts back the refs as
 * they were (for a transaction's undo).
 */
export async function setBaseRefs(repo: string, bases: string[]): Promise<() => Promise<void>> {
  const before = currentBaseRefs(repo);
  const want = new Map(bases.map((c, i) => [`${BASE_REF_PREFIX}/${i}`, c]));
  await applyRefs(repo, before, want);
  return () => applyRefs(repo, currentBaseRefs(repo), before);
}

async function applyRefs(repo: string, have: Map<string, string>, want: Map<string, string>): Promise<void> {
  for (const [ref, commit] of want) if (have.get(ref) !== commit) await ostree.setRef(repo, ref, commit);
  for (const ref of have.keys()) if (!want.has(ref)) await ostree.setRef(repo, ref, null);
}
