/** Rendering of package differences for summaries (install, upgrade, …). Pure. */
import { displayName, nativeArch, type PackageDiff } from '../../engine/deployments/packages.js';

/** rpm-ostree-style blocks: "Added:", "Removed:", "Upgraded:", "Downgraded:". */
export function renderDiffBlocks(diff: PackageDiff): string {
  const native = nativeArch(diff.added, diff.removed);
  const out: string[] = [];
  const block = (title: string, rows: string[]) => {
    if (!rows.length) return;
    out.push(`${title}:`, ...rows.map((r) => `  ${r}`));
  };
  block('Upgraded', diff.upgraded.map((c) => `${displayName(c, native)} ${c.from} -> ${c.to}`));
  block('Downgraded', diff.downgraded.map((c) => `${displayName(c, native)} ${c.from} -> ${c.to}`));
  block('Removed', diff.removed.map((p) => `${displayName(p, native)} ${p.version}`));
  block('Added', diff.added.map((p) => `${displayName(p, native)} ${p.version}`));
  return out.length ? `${out.join('\n')}\n` : '';
}
