/** `apt-ostree db list REV… [PATTERN…]`: the packages of revisions. Read-only. */
import { InputError } from '../../errors.js';
import { openSysroot } from '../../engine/deployments/sysroot.js';
import type { PackageEntry } from '../../engine/deployments/packages.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { DB_LIST } from '../specs/db.js';
import { describeRevision, REVISION_HINT, resolveRange, revisionPackages, type Revision } from '../../engine/deployments/revisions.js';

export async function run(ctx: CommandContext<ArgsOf<typeof DB_LIST>>): Promise<number> {
  const sysroot = openSysroot(ctx.sysroot);
  const revisions: Revision[] = [];
  const patterns = [...ctx.args.pattern];
  for (const arg of ctx.args.revisions) {
    const r = resolveRange(sysroot, arg, { os: ctx.os });
    if (r) revisions.push(...r);
    else if (looksLikePattern(arg)) patterns.push(arg);
    else throw new InputError(`Unknown revision '${arg}': no commit, ref or deployment of ${sysroot.path} has that name.`, REVISION_HINT);
  }
  if (!revisions.length) {
    throw new InputError(`No revision given: ${ctx.args.revisions.map((a) => `'${a}'`).join(', ')} name no commit, ref or deployment.`, REVISION_HINT);
  }
  const matchers = patterns.map(globToRegExp);
  const keep = (p: PackageEntry) => !matchers.length || matchers.some((m) => m.test(p.name));
  const lists = await Promise.all(revisions.map(async (r) => ({ r, packages: (await revisionPackages(sysroot, r)).packages.filter(keep) })));
  if (ctx.args.json) {
    process.stdout.write(JSON.stringify(lists.map(({ r, packages }) => ({ revision: r.desc, checksum: r.checksum, packages })), null, 2) + '\n');
    return 0;
  }
  const out: string[] = [];
  for (const { r, packages } of lists) {
    out.push(`ostree commit: ${describeRevision(r)}`);
    const wn = Math.max(0, ...packages.map((p) => p.name.length));
    const wv = Math.max(0, ...packages.map((p) => p.version.length));
    for (const p of packages) out.push(` ${p.name.padEnd(wn)} ${p.version.padEnd(wv)} ${p.arch}`);
  }
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

/**
 * An argument that is not a revision is a package pattern if it could match a package name:
 * the characters of names plus glob characters. Hex strings of checksum length stay
 * revisions (a mistyped checksum must not silently become a pattern).
 */
function looksLikePattern(arg: string): boolean {
  return /^[a-z0-9+.\-*?[\]!]+$/.test(arg) && !/^[0-9a-f]{6,}$/.test(arg);
}

/** A shell glob (* ? [...] [!...]) as an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
