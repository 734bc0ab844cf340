/**
 * `cleanup`: free space. -p drops the pending deployment (on the running system), -r the
 * rollback deployment(s), -b prunes unused refs/objects and downloaded packages, -m the apt
 * lists. `ostree admin pin`-ned deployments are never removed.
 *
 * Removal cannot be undone, so the transaction is built so that no step can leave a broken
 * state: every deployment removal is one `ostree admin undeploy` (an atomic boot
 * configuration switch), the default and the booted deployment are never candidates, and
 * pruning only removes what nothing references.
 */
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import { deploymentId, describeDeployment, undeployByPath } from '../../engine/deployments/deploy.js';
import { basesOf, setBaseRefs } from '../../engine/deployments/base-refs.js';
import { cacheDirOf } from '../../engine/layering/apt-setup.js';
import { LAYERED_REF_PREFIX } from '../../engine/layering/build.js';
import { Sysroot, type Deployment } from '../../engine/deployments/sysroot.js';
import { Transaction } from '../../engine/transaction/transaction.js';
import { resolveRefFile } from '../../ostree/refs.js';
import { formatBytes } from '../../output/reporter.js';
import * as ostree from '../../system/ostree.js';
import { bool, commandLine, lockWaitOf, type CommandContext } from '../context.js';

interface Usage {
  bytes: number;
  files: number;
}

export async function run(ctx: CommandContext): Promise<number> {
  const want = {
    pending: bool(ctx.argv, 'pending'),
    rollback: bool(ctx.argv, 'rollback'),
    base: bool(ctx.argv, 'base'),
    repomd: bool(ctx.argv, 'repomd'),
  };
  if (!Object.values(want).some(Boolean)) {
    throw new InputError('cleanup needs to know what to remove.', 'Give at least one of -p/--pending, -r/--rollback, -b/--base, -m/--repomd.');
  }
  // ostree cannot load a sysroot with an unreadable origin: say so before taking the lock.
  Sysroot.refuseDamagedOrigins(ctx.sysroot, ctx.os, { keepDefault: true });
  const lines = await Transaction.run(
    {
      sysroot: ctx.sysroot,
      command: commandLine(),
      title: 'cleanup',
      reporter: ctx.reporter,
      lockWaitSeconds: lockWaitOf(ctx.argv),
    },
    async (tx) => {
      const sysroot = Sysroot.load(ctx.sysroot);
      const os = sysroot.resolveOs(ctx.os);
      const out: string[] = [];
      const objectsDir = join(sysroot.repoPath, 'objects');

      const doomed: Deployment[] = [];
      const choose = (list: Deployment[], kind: string) => {
        for (const d of list) {
          if (d.pinned) out.push(`Keeping the ${kind} deployment ${describeDeployment(sysroot, d)}: it is pinned (ostree admin pin --unpin to allow removing it).`);
          else doomed.push(d);
        }
        return list.length;
      };
      const mine = sysroot.deploymentsOf(os);
      const booted = sysroot.booted?.osname === os ? sysroot.booted : undefined;
      if (want.pending) {
        // Pending: what the next boot would start instead of the running deployment.
        const pending = booted ? mine.filter((d) => d.index < booted.index) : [];
        if (choose(pending, 'pending') === 0) {
          out.push(booted ? 'No pending deployment.' : `No pending deployment: ${sysroot.path} is not the running system, so nothing is staged or pending.`);
        }
      }
      if (want.rollback) {
        const anchor = booted ?? mine[0];
        const rollback = anchor ? mine.filter((d) => d.index > anchor.index) : [];
        if (choose(rollback, 'rollback') === 0) out.push('No rollback deployment.');
      }
      // Cached packages and lists go first: they are plain files, and on a full disk ostree
      // needs a little room to write before it can remove anything.
      let cacheFreed = 0;
      if (want.base) {
        tx.throwIfCancelled();
        tx.irreversible('the removal of the cached packages');
        const archives = join(cacheDirOf(sysroot, os), 'archives');
        cacheFreed += removeMatching(archives, (n) => n.endsWith('.deb'));
        cacheFreed += removeMatching(join(archives, 'partial'), () => true);
      }
      if (want.repomd) {
        tx.throwIfCancelled();
        tx.irreversible('the removal of the cached package lists');
        const cacheDir = cacheDirOf(sysroot, os);
        const lists = join(cacheDir, 'lists');
        cacheFreed += diskUsage(lists).bytes;
        rmSync(lists, { recursive: true, force: true });
        cacheFreed += removeMatching(cacheDir, (n) => n.endsWith('.bin'));
        out.push('Removed the cached package lists.');
      }

      if (doomed.length || want.base) {
        // Before anything prunes: keep the bases of the layered deployments that stay, and no
        // others. Undone by setting them for the deployments there are by then: a removal that
        // already happened cannot be undone, and a ref to a base its prune deleted would break
        // fsck and every later prune.
        const staying = sysroot.deployments.filter((d) => !doomed.includes(d)).map((d) => d.checksum);
        await setBaseRefs(sysroot.repoPath, basesOf(sysroot, staying));
        tx.onUndo('put back the base refs', async () => {
          const now = Sysroot.load(sysroot.path);
          await setBaseRefs(now.repoPath, basesOf(now, now.deployments.map((d) => d.checksum)));
        });
      }
      // What the repository frees is measured only when objects can go: walking every object
      // takes a while on a real system, and -m alone never touches the repository.
      const repoBefore = doomed.length || want.base ? diskUsage(objectsDir) : undefined;
      // Highest index first, so that removing one does not renumber the next.
      for (const d of doomed.sort((a, b) => b.index - a.index)) {
        tx.throwIfCancelled();
        const label = describeDeployment(sysroot, d);
        // One atomic boot configuration switch: done or not done, never half.
        await tx.reporter.task(`Removing deployment ${label}`, () => undeployByPath(sysroot.path, d.path));
        tx.irreversible(`the removal of deployment ${label}`);
        out.push(`Removed deployment ${label}.`);
      }

      if (want.base) {
        tx.throwIfCancelled();
        tx.irreversible('the removal of unused refs and objects');
        // Leftovers of interrupted deploys (deployment directories, old boot versions). ostree
        // writes a little before it removes anything: on a full disk, prune first, then again.
        const leftovers = () => tx.reporter.task('Removing unreferenced deployment leftovers', () => ostree.adminCleanup(sysroot.path));
        const cleanedFirst = await leftovers().then(
          () => true,
          (e: Error) => {
            tx.reporter.warn(`ostree admin cleanup failed; trying again after the prune: ${e.message}`);
            return false;
          },
        );
        const live = Sysroot.load(sysroot.path);
        const used = new Set(live.deployments.map((d) => d.checksum));
        const prefix = LAYERED_REF_PREFIX.replace(/\/$/, '');
        for (const name of await ostree.listRefs(sysroot.repoPath, prefix)) {
          const ref = `${prefix}/${name}`;
          const target = resolveRefFile(sysroot.repoPath, ref);
          if (target && used.has(target)) continue;
          await ostree.setRef(sysroot.repoPath, ref, null);
          out.push(`Removed the unused ref ${ref}.`);
        }
        await tx.reporter.task('Pruning unused objects', () => ostree.prune(sysroot.repoPath, { refsOnly: true }));
        if (!cleanedFirst) {
          await leftovers().catch((e: Error) =>
            tx.reporter.warn(`ostree admin cleanup failed again, so leftovers of interrupted deploys stay until there is room for it: ${e.message}`),
          );
        }
      }

      const parts: string[] = [];
      if (repoBefore) {
        const repoAfter = diskUsage(objectsDir);
        const freedObjects = Math.max(0, repoBefore.files - repoAfter.files);
        parts.push(`${formatBytes(Math.max(0, repoBefore.bytes - repoAfter.bytes))} from the repository (${freedObjects} object${freedObjects === 1 ? '' : 's'})`);
      }
      if (want.base || want.repomd) parts.push(`${formatBytes(cacheFreed)} of package cache`);
      out.push(`Deployments removed: ${doomed.length}${doomed.length ? ` (${doomed.map(deploymentId).map((id) => id.slice(0, 12) + id.slice(64)).join(', ')})` : ''}`);
      if (parts.length) out.push(`Freed: ${parts.join(', ')}`);
      return out;
    },
  );
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

/** `du`-style usage of a tree: allocated bytes (each inode once) and the number of files. */
function diskUsage(dir: string): Usage {
  const seen = new Set<string>();
  let bytes = 0;
  let files = 0;
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      const st = lstatSync(p);
      files++;
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      bytes += st.blocks * 512;
    }
  };
  walk(dir);
  return { bytes, files };
}

/** Remove the plain files of `dir` whose names match; returns the bytes freed. */
function removeMatching(dir: string, match: (name: string) => boolean): number {
  if (!existsSync(dir)) return 0;
  let freed = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isFile() || !match(e.name)) continue;
    const p = join(dir, e.name);
    freed += lstatSync(p).blocks * 512;
    rmSync(p, { force: true });
  }
  return freed;
}
