/** `apt-ostree db version REV…`: the dpkg database version (COUNT:HASH) of revisions. Read-only. */
import { packageListVersion } from '../../engine/deployments/packages.js';
import { openSysroot } from '../../engine/deployments/sysroot.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { DB_VERSION } from '../specs/db.js';
import { describeRevision, requireRevision, resolveRange, revisionPackages, type Revision } from '../../engine/deployments/revisions.js';

export async function run(ctx: CommandContext<ArgsOf<typeof DB_VERSION>>): Promise<number> {
  const sysroot = openSysroot(ctx.sysroot);
  const revisions: Revision[] = ctx.args.revisions.flatMap((a) => resolveRange(sysroot, a, { os: ctx.os }) ?? [requireRevision(sysroot, a, { os: ctx.os })]);
  const results = await Promise.all(revisions.map(async (r) => ({ r, v: packageListVersion((await revisionPackages(sysroot, r)).packages) })));
  if (ctx.args.json) {
    process.stdout.write(JSON.stringify(results.map(({ r, v }) => ({ revision: r.desc, checksum: r.checksum, ...v })), null, 2) + '\n');
    return 0;
  }
  process.stdout.write(results.map(({ r, v }) => `ostree commit: ${describeRevision(r)}\n  dpkg database version: ${v.version}\n`).join(''));
  return 0;
}
