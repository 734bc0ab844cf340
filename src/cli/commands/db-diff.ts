/** `apt-ostree db diff [FROM] [TO]`: package differences between two revisions. Read-only. */
import { InputError } from '../../errors.js';
import { diffPackages, displayName, isEmptyDiff, nativeArch, type PackageDiff } from '../../engine/deployments/packages.js';
import { openSysroot, type Sysroot } from '../../engine/deployments/sysroot.js';
import { renderDiffBlocks } from '../render/package-diff.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { DB_DIFF } from '../specs/db.js';
import { describeRevision, requireRevision, revisionPackages, type Revision } from '../../engine/deployments/revisions.js';

export async function run(ctx: CommandContext<ArgsOf<typeof DB_DIFF>>): Promise<number> {
  const format: string = ctx.args.format;
  if (!['block', 'diff', 'json'].includes(format)) {
    throw new InputError(`Unknown --format '${format}'.`, 'Pick one of: block, diff, json.');
  }
  const sysroot = openSysroot(ctx.sysroot);
  let [from, to] = pickRevisions(sysroot, ctx.os, ctx.args.from, ctx.args.to);
  if (ctx.args.base) [from, to] = [baseOf(sysroot, from), baseOf(sysroot, to)];
  const [a, b] = await Promise.all([revisionPackages(sysroot, from), revisionPackages(sysroot, to)]);
  const diff = diffPackages(a.packages, b.packages);
  if (format === 'json') {
    const side = (r: Revision, p: typeof a) => ({ revision: r.desc, checksum: r.checksum, source: p.source });
    process.stdout.write(JSON.stringify({ from: side(from, a), to: side(to, b), ...diff }, null, 2) + '\n');
    return 0;
  }
  const header = `ostree diff commit from: ${describeRevision(from)}\nostree diff commit to:   ${describeRevision(to)}\n`;
  if (format === 'diff') process.stdout.write(header + renderDiffLines(diff));
  else process.stdout.write(header + (isEmptyDiff(diff) ? 'No package changes.\n' : renderDiffBlocks(diff)));
  return 0;
}

/** The revisions compared when fewer than two are given (rpm-ostree's rules; see the spec). */
function pickRevisions(sysroot: Sysroot, os: string | undefined, from?: string, to?: string): [Revision, Revision] {
  if (from !== undefined && to !== undefined) return [requireRevision(sysroot, from, { os }), requireRevision(sysroot, to, { os })];
  const stateroot = sysroot.resolveOs(os);
  const dep = (desc: string, d: NonNullable<Sysroot['booted']>): Revision => ({ desc, checksum: d.checksum, deployment: d });
  const booted = sysroot.booted?.osname === stateroot ? sysroot.booted : undefined;
  const def = sysroot.defaultDeployment(stateroot);
  const rollback = sysroot.rollbackDeployment(stateroot);
  if (from !== undefined) {
    const current = booted ? dep('booted deployment', booted) : def ? dep('default deployment', def) : undefined;
    if (!current) throw new InputError(`The stateroot '${stateroot}' has no deployment to compare ${from} with.`, 'Give two revisions: apt-ostree db diff FROM TO.');
    return [current, requireRevision(sysroot, from, { os })];
  }
  if (booted && def && def !== booted) return [dep('booted deployment', booted), dep('pending deployment', def)];
  if (booted && rollback) return [dep('rollback deployment', rollback), dep('booted deployment', booted)];
  if (!booted && def && rollback) return [dep('rollback deployment', rollback), dep('default deployment', def)];
  throw new InputError(`The stateroot '${stateroot}' has no pending or rollback deployment to compare.`, 'Give the revisions to compare: apt-ostree db diff FROM TO.');
}

/** With --base, a deployment stands for the base image it was built on. */
function baseOf(sysroot: Sysroot, r: Revision): Revision {
  if (!r.deployment) return r;
  const base = sysroot.baseChecksum(r.deployment);
  if (base === r.checksum) return r;
  return { desc: `base of ${r.desc}`, checksum: base };
}

/** One line per changed package, sorted by name: "+name version", "-name version", "!name old -> new". */
export function renderDiffLines(diff: PackageDiff): string {
  const native = nativeArch(diff.added, diff.removed, diff.upgraded, diff.downgraded);
  const rows: Array<[string, string]> = [
    ...diff.removed.map((p): [string, string] => [p.name, `-${displayName(p, native)} ${p.version}`]),
    ...diff.added.map((p): [string, string] => [p.name, `+${displayName(p, native)} ${p.version}`]),
    ...[...diff.upgraded, ...diff.downgraded].map((c): [string, string] => [c.name, `!${displayName(c, native)} ${c.from} -> ${c.to}`]),
  ];
  rows.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return rows.map(([, l]) => `${l}\n`).join('');
}
