/**
 * Revisions as the `db` commands (and their specs, cli/specs/db.ts) take them, resolved from the sysroot's own files (refs,
 * commit objects, deployments) without starting ostree:
 *
 *   CHECKSUM            a full commit checksum, or a unique prefix of at least 6 hex digits
 *   REF, REMOTE:REF     a ref (refs/heads), or a remote's ref; a bare REF that exists only
 *                       under one remote (origin:debian/12/x86_64/base) also resolves
 *   deployment:N        the deployment at index N as `apt-ostree status` and
 *                       `ostree admin status` list them (0 = default for the next boot)
 *   booted, pending, rollback, default
 *                       the deployments rpm-ostree's db diff talks about (pending: the default
 *                       deployment when it is not the booted one)
 *   REV^, REV~N         the parent, the Nth ancestor
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import { commitObjectPath } from '../../ostree/commit.js';
import { isValidRef, resolveRefFile } from '../../ostree/refs.js';
import { commitPackages, type CommitPackages } from './packages.js';
import type { Deployment, Sysroot } from './sysroot.js';

export interface Revision {
  /** The revision as given, or a description ("booted deployment"). */
  desc: string;
  checksum: string;
  /** Set when the revision names a deployment (its checkout is on disk). */
  deployment?: Deployment;
}

export const REVISION_HINT =
  'A revision is a commit checksum (or a unique prefix of at least 6 hex digits), a ref such as origin:debian/12/x86_64/base, ' +
  'deployment:N (N as `apt-ostree status` lists them, 0 = default), booted, pending, rollback or default; REV^ is its parent.';

/** Resolve a revision, or undefined when it names nothing. Throws on an ambiguous prefix. */
export function resolveRevision(sysroot: Sysroot, text: string, opts: { os?: string } = {}): Revision | undefined {
  const m = /^(.*?)((?:\^|~\d*)+)$/.exec(text);
  if (m && m[1]) {
    const base = resolveRevision(sysroot, m[1], opts);
    if (!base) return undefined;
    let steps = 0;
    for (const s of m[2]!.match(/\^|~\d*/g)!) steps += s === '^' ? 1 : s === '~' ? 1 : Number(s.slice(1));
    let checksum = base.checksum;
    for (let i = 0; i < steps; i++) {
      const parent = sysroot.commit(checksum)?.parent;
      if (!parent || !existsSync(commitObjectPath(sysroot.repoPath, parent))) {
        throw new InputError(`The revision '${text}' does not exist: ${checksum.slice(0, 12)} has no parent in the repository.`, REVISION_HINT);
      }
      checksum = parent;
    }
    return { desc: text, checksum };
  }
  const dep = resolveDeploymentKeyword(sysroot, text, opts.os);
  if (dep !== undefined) return dep ? { desc: dep.desc, checksum: dep.d.checksum, deployment: dep.d } : undefined;
  if (/^[0-9a-f]{64}$/.test(text)) {
    return existsSync(commitObjectPath(sysroot.repoPath, text)) ? { desc: text, checksum: text } : undefined;
  }
  const ref = resolveRef(sysroot.repoPath, text);
  if (ref) return { desc: text, checksum: ref };
  if (/^[0-9a-f]{6,63}$/.test(text)) {
    const found = commitsWithPrefix(sysroot.repoPath, text);
    if (found.length > 1) {
      throw new InputError(`The checksum prefix '${text}' is ambiguous: it matches ${found.length} commits (${found.map((c) => c.slice(0, 12)).join(', ')}).`, 'Give more digits of the checksum.');
    }
    if (found.length === 1) return { desc: text, checksum: found[0]! };
  }
  return undefined;
}

/** Resolve a revision or fail with exit 1 naming it. */
export function requireRevision(sysroot: Sysroot, text: string, opts: { os?: string } = {}): Revision {
  const r = resolveRevision(sysroot, text, opts);
  if (r) return r;
  throw new InputError(`Unknown revision '${text}': no commit, ref or deployment of ${sysroot.path} has that name.`, REVISION_HINT);
}

/**
 * Deployment keywords: undefined when `text` is not one; null when it is one but no such
 * deployment exists (reported as unknown, with the reason in the message below).
 */
function resolveDeploymentKeyword(sysroot: Sysroot, text: string, os?: string): { desc: string; d: Deployment } | null | undefined {
  const idx = /^deployment[:=](\d+)$/.exec(text);
  if (idx) {
    const d = sysroot.deployments[Number(idx[1])];
    if (!d) {
      throw new InputError(`There is no deployment ${idx[1]}: ${sysroot.path} has ${sysroot.deployments.length} deployment${sysroot.deployments.length === 1 ? '' : 's'} (0 to ${sysroot.deployments.length - 1}).`, 'See `apt-ostree status` for the deployments in order.');
    }
    return { desc: `deployment ${idx[1]}`, d };
  }
  if (!['booted', 'pending', 'rollback', 'default'].includes(text)) return undefined;
  // A ref of that name wins: it was made on purpose.
  if (resolveRef(sysroot.repoPath, text)) return undefined;
  const stateroot = sysroot.deployments.length ? sysroot.resolveOs(os) : undefined;
  const booted = sysroot.booted;
  const def = stateroot ? sysroot.defaultDeployment(stateroot) : undefined;
  let d: Deployment | undefined;
  let why = '';
  switch (text) {
    case 'booted':
      d = booted;
      why = 'the sysroot is not the running system, so nothing is booted';
      break;
    case 'default':
      d = def;
      why = 'the stateroot has no deployment';
      break;
    case 'pending':
      d = def && def !== booted ? def : undefined;
      why = def ? 'the default deployment is the booted one' : 'the stateroot has no deployment';
      break;
    case 'rollback':
      d = stateroot ? sysroot.rollbackDeployment(stateroot) : undefined;
      why = 'the stateroot has no rollback deployment';
      break;
  }
  if (!d) throw new InputError(`There is no ${text} deployment: ${why}.`, 'See `apt-ostree status` for the deployments; deployment:N names one by its index.');
  return { desc: `${text} deployment`, d };
}

/** A ref: refs/heads/REF, REMOTE:REF, refs/remotes/REMOTE/REF, or REF under exactly one remote. */
export function resolveRef(repo: string, text: string): string | undefined {
  if (text.includes(':')) return resolveRefFile(repo, text);
  if (!isValidRef(text)) return undefined;
  const slash = text.indexOf('/');
  const head = resolveRefFile(repo, text) ?? (slash > 0 ? resolveRefFile(repo, `${text.slice(0, slash)}:${text.slice(slash + 1)}`) : undefined);
  if (head) return head;
  let remotes: string[] = [];
  try {
    remotes = readdirSync(join(repo, 'refs', 'remotes'));
  } catch {
    return undefined;
  }
  const found = [...new Set(remotes.map((r) => resolveRefFile(repo, `${r}:${text}`)).filter((c): c is string => !!c))];
  return found.length === 1 ? found[0] : undefined;
}

/** Commit objects whose checksum starts with `prefix` (6 to 63 hex digits). */
function commitsWithPrefix(repo: string, prefix: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(repo, 'objects', prefix.slice(0, 2)));
  } catch {
    return [];
  }
  const rest = prefix.slice(2);
  return names.filter((n) => n.endsWith('.commit') && n.startsWith(rest)).map((n) => prefix.slice(0, 2) + n.slice(0, -'.commit'.length));
}

/**
 * Expand A..B into the commits from B back to (not including) A, newest first, following
 * parents; other revisions resolve to themselves.
 */
export function resolveRange(sysroot: Sysroot, text: string, opts: { os?: string } = {}): Revision[] | undefined {
  const dots = text.indexOf('..');
  if (dots < 0) {
    const r = resolveRevision(sysroot, text, opts);
    return r ? [r] : undefined;
  }
  const from = resolveRevision(sysroot, text.slice(0, dots), opts);
  const to = resolveRevision(sysroot, text.slice(dots + 2), opts);
  if (!from || !to) return undefined;
  const out: Revision[] = [];
  let c: string | undefined = to.checksum;
  while (c && c !== from.checksum) {
    out.push({ desc: c, checksum: c });
    const parent: string | undefined = sysroot.commit(c)?.parent;
    c = parent && existsSync(commitObjectPath(sysroot.repoPath, parent)) ? parent : undefined;
  }
  if (c !== from.checksum) {
    throw new InputError(`The range '${text}' is not a line of history: ${from.desc} is not an ancestor of ${to.desc} in the repository.`, 'Give FROM..TO with FROM an ancestor of TO, or list the revisions one by one.');
  }
  return out;
}

/** The package list of a revision; a deployment's is read from its checkout when it has no metadata. */
export function revisionPackages(sysroot: Sysroot, rev: Revision): Promise<CommitPackages> {
  return commitPackages(sysroot, rev.checksum, { treeRoot: rev.deployment?.path });
}

/** "DESC (CHECKSUM)", or the checksum alone when that is what was given. */
export function describeRevision(rev: Revision): string {
  return rev.desc === rev.checksum ? rev.checksum : `${rev.desc} (${rev.checksum})`;
}
