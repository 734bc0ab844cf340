/**
 * SIGINT, SIGTERM and SIGKILL at each phase of install, upgrade and cleanup, on a real minbase
 * sysroot reached through a symlink, followed by an immediate rerun of the same command.
 *
 * The phase is observed, never guessed: a .deb or ostree object request the test's HTTP server
 * holds back (download, pull), the `ostree checkout` process running (checkout), a maintainer
 * script that says it runs and waits for a file the test removes (sandbox install), or the
 * progress line the plain reporter prints as a step starts (commit, deploy, undeploy, prune).
 *
 * Before the commit point (ostree admin deploy), SIGINT and SIGTERM must undo everything: exit
 * 130/143, the same deployments and boot entries, no mount, work directory or lock left, and
 * a clean fsck. At and after it, the deploy finishes. After a SIGKILL the programs apt-ostree
 * started may still run and hold the lock; the rerun waits for them (--lock-wait) and must
 * clean up whatever was left by itself.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DebSpec } from '../fixtures/debs.js';
import { cli, sh } from '../fixtures/env.js';
import {
  deploymentIds, deploymentState, findProcess, fsckProblems, leftovers, mountsBelow, NOTHING_LEFT, serveGated, startCli, waitUntil,
  type BackgroundRun, type DeploymentState, type GatedServer,
} from '../fixtures/faults.js';
import { makeLayeringBed, setDeploymentSources, type LayeringBed, provisionedFrom } from '../fixtures/layering.js';
import { minbaseArchiveCopy, minbaseRepo } from '../fixtures/minbase.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

type Phase = 'download' | 'checkout' | 'sandbox' | 'commit' | 'deploy' | 'pull' | 'undeploy' | 'prune';
type Sig = 'SIGINT' | 'SIGTERM' | 'SIGKILL';
interface Case { command: 'install' | 'upgrade' | 'cleanup'; phase: Phase; sig: Sig; why: string }

/** Phases from which SIGINT/SIGTERM undo everything; from the deploy on, the change completes. */
const BEFORE_COMMIT_POINT = new Set<Phase>(['download', 'checkout', 'sandbox', 'commit', 'pull']);

const CASES: Case[] = [
  { command: 'install', phase: 'download', sig: 'SIGKILL', why: 'the orphaned apt-get holds the lock until it is done; the rerun waits for it' },
  { command: 'install', phase: 'checkout', sig: 'SIGTERM', why: 'the half-made hardlinked checkout is removed, the resolution running beside it stopped' },
  { command: 'install', phase: 'sandbox', sig: 'SIGINT', why: 'the sandbox is stopped, the overlay unmounted' },
  { command: 'install', phase: 'sandbox', sig: 'SIGTERM', why: 'the same, with the exit code of SIGTERM' },
  { command: 'install', phase: 'sandbox', sig: 'SIGKILL', why: 'the overlay mount and work directory are left; the rerun finds them through the symlink and removes them' },
  { command: 'install', phase: 'commit', sig: 'SIGINT', why: 'ostree commit is stopped and the layered ref put back' },
  { command: 'install', phase: 'commit', sig: 'SIGKILL', why: 'the orphaned ostree commit finishes on its own; nothing is deployed' },
  { command: 'install', phase: 'deploy', sig: 'SIGTERM', why: 'the commit point: the deploy finishes and the command succeeds' },
  { command: 'install', phase: 'deploy', sig: 'SIGKILL', why: 'the detached ostree admin deploy finishes the deployment' },
  { command: 'upgrade', phase: 'pull', sig: 'SIGINT', why: 'ostree pull is stopped and the ref put back' },
  { command: 'upgrade', phase: 'sandbox', sig: 'SIGKILL', why: 'the layer rebuild on the new base is left half-done; the rerun cleans up and upgrades' },
  { command: 'upgrade', phase: 'deploy', sig: 'SIGTERM', why: 'the commit point: the upgrade completes' },
  { command: 'cleanup', phase: 'undeploy', sig: 'SIGINT', why: 'the removal finishes (it is atomic) and is reported; prune is not done' },
  { command: 'cleanup', phase: 'prune', sig: 'SIGTERM', why: 'prune finishes; the report says what had started' },
  { command: 'cleanup', phase: 'undeploy', sig: 'SIGKILL', why: 'the orphaned ostree admin undeploy finishes; the rerun waits for it and prunes' },
];

/** A package per case (install cases layer theirs), each waiting in its postinst while the test's hold file exists. */
const HOLD_FILE = 'faults.hold';
const HOLDING_FILE = 'faults.holding';
function faultPackage(i: number): DebSpec {
  return {
    name: `fault${i}-ao`,
    version: '1.0',
    files: { [`/usr/share/fault${i}-ao/data`]: `fault package ${i}\n` },
    // The archive cache is the one host directory the sandbox sees (/var/cache/apt/archives).
    postinst: `if [ -e /var/cache/apt/archives/${HOLD_FILE} ]; then\n  touch /var/cache/apt/archives/${HOLDING_FILE}\n  while [ -e /var/cache/apt/archives/${HOLD_FILE} ]; do sleep 0.1; done\nfi`,
  };
}

describe('signals at every phase, then a rerun', () => {
  let tmp: string;
  let bed: LayeringBed;
  let srv: string;
  let ref: string;
  let base: string;
  let ostreeGate: GatedServer;
  let aptGate: GatedServer;
  /** The sysroot through a symlink: every faulted command uses this path. */
  let link: string;
  let archives: string;
  let published = 0;

  beforeAll(async () => {
    tmp = makeTemp('faults-signals-');
    const cached = await minbaseRepo();
    srv = join(tmp, 'srv-repo');
    ref = cached.ref;
    base = cached.checksum;
    await minbaseArchiveCopy(srv, cached);
    ostreeGate = await serveGated(srv);
    bed = await makeLayeringBed(tmp, {
      sysroot: provisionedFrom(ostreeGate.url, ref),
    });
    await bed.apt.add(CASES.map((_, i) => faultPackage(i)));
    aptGate = await serveGated(bed.apt.dir);
    setDeploymentSources(await bed.defaultDeployment(), `deb [trusted=yes] ${aptGate.url} ./`);
    link = join(tmp, 'link');
    symlinkSync('sr', link);
    archives = join(bed.sysroot, 'ostree', 'deploy', bed.os, 'var', 'cache', 'apt-ostree', 'archives');
  });
  afterAll(async () => {
    await ostreeGate?.close();
    await aptGate?.close();
    await bed?.close();
    await removeTemp(tmp);
  });

  /** A new base on the update server: the minbase tree plus a version file. */
  async function publish(): Promise<string> {
    const version = `2.${++published}`;
    const extra = join(tmp, `extra-${version}`);
    mkdirSync(join(extra, 'usr/share/faults'), { recursive: true });
    writeFileSync(join(extra, 'usr/share/faults/version'), `${version}\n`);
    const parent = (await sh('ostree', [`--repo=${srv}`, 'rev-parse', ref])).trim();
    return (await sh('ostree', [`--repo=${srv}`, 'commit', `--branch=${ref}`, `--parent=${parent}`, `--tree=ref=${base}`, `--tree=dir=${extra}`, `--add-metadata-string=version=${version}`, '--keep-metadata=aptostree.dpkg.pkglist', '--no-bindings'])).trim();
  }

  /** Set up what makes the phase observable (and slow enough to catch). */
  function arm(c: Case): void {
    if (c.phase === 'download') aptGate.hold(/\.deb$/);
    if (c.phase === 'pull') ostreeGate.hold(/^\/objects\//);
    if (c.phase === 'sandbox') writeFileSync(join(archives, HOLD_FILE), '');
    // And only when it has no kept checkout of it.
    if (c.phase === 'checkout') rmSync(join(bed.sysroot, 'ostree', 'apt-ostree', 'base-checkouts'), { recursive: true, force: true });
  }

  /** Undo arm(): held requests go through, the maintainer script stops waiting. */
  function disarm(): void {
    aptGate.release();
    ostreeGate.release();
    rmSync(join(archives, HOLD_FILE), { force: true });
    rmSync(join(archives, HOLDING_FILE), { force: true });
  }

  /** Wait until the run is in the phase. */
  async function reach(c: Case, run: BackgroundRun): Promise<void> {
    switch (c.phase) {
      case 'download':
        await run.waitForOutput(/Downloading \d+ package/);
        await aptGate.waitForHeld();
        return;
      case 'pull':
        await run.waitForOutput(/Fetching origin:/);
        await ostreeGate.waitForHeld();
        return;
      case 'checkout': {
        // The checkout program itself, caught while it runs.
        const tree = new RegExp(`^ostree .*checkout .*/${run.pid}-layer/tree$`);
        await waitUntil(() => findProcess(tree) !== undefined, 'ostree checkout to run');
        return;
      }
      case 'sandbox':
        await run.waitForOutput(/Installing \d+ package/);
        await waitUntil(() => existsSync(join(archives, HOLDING_FILE)), 'the maintainer script to run');
        return;
      case 'commit':
        return run.waitForOutput(/Committing the new tree\.\.\./);
      case 'deploy':
        return run.waitForOutput(/Writing the new deployment\.\.\./);
      case 'undeploy':
        return run.waitForOutput(/Removing deployment .*\.\.\./);
      case 'prune':
        return run.waitForOutput(/Pruning unused objects\.\.\./);
    }
  }

  /** What each case runs: install a package of its own, upgrade to a new base, cleanup. */
  async function prepare(c: Case, i: number): Promise<string[]> {
    switch (c.command) {
      case 'install':
        if (c.phase === 'checkout') {
          // Layering checks the base out only where no deployment of it is left (base-checkout.ts).
          const r = await cli(['--sysroot', link, 'cleanup', '-r']);
          expect(r.code, r.stderr).toBe(0);
        }
        return ['install', '--idempotent', `fault${i}-ao`];
      case 'upgrade':
        await publish();
        return ['upgrade'];
      case 'cleanup': {
        // Something to remove: a rollback deployment (a kargs change deploys a new default).
        if (deploymentIds(await deploymentState(bed.sysroot)).length < 2) {
          const k = await cli(['--sysroot', link, 'kargs', '--append', `faults=${i}`]);
          expect(k.code, k.stderr).toBe(0);
        }
        return ['cleanup', '-r', '-b'];
      }
    }
  }

  CASES.forEach((c, i) => {
    it(`${c.command}: ${c.sig} during ${c.phase} (${c.why})`, async () => {
      const args = await prepare(c, i);
      const before = await deploymentState(bed.sysroot);
      arm(c);
      let run: BackgroundRun | undefined;
      try {
        run = startCli(['--sysroot', link, ...args]);
        await reach(c, run);
        run.signal(c.sig);
        const r = await run.result;
        if (c.sig === 'SIGKILL' && c.phase === 'download') {
          // The orphaned apt-get still waits for the held .deb, and holds the lock meanwhile.
          const refused = await cli(['--sysroot', link, ...args]);
          expect(refused.code, refused.stderr).toBe(1);
          expect(refused.stderr).toMatch(/no longer running\) started: .*apt-get \(pid \d+\)/);
        }
        // Whatever an orphan still waits for may go on now.
        if (c.sig === 'SIGKILL') disarm();
        const after = await deploymentState(bed.sysroot);
        if (c.sig === 'SIGKILL') {
          expect(r.signal).toBe('SIGKILL');
          if (c.phase !== 'deploy' && c.command !== 'cleanup') expect(after).toEqual(before);
          // The killed run's overlay is still mounted: the rerun must find it (by its real path).
          if (c.phase === 'sandbox') expect(mountsBelow(bed.sysroot)).toHaveLength(1);
        } else {
          expectSignalOutcome(c, r, before, after);
          expect(await leftovers(bed.sysroot)).toEqual(NOTHING_LEFT);
          // Soft: the rerun below is worth seeing even when the repository is damaged.
          expect.soft(await fsckProblems(bed.repo), 'ostree fsck after the signal').toBe('');
        }
      } finally {
        disarm();
        await run?.result;
      }

      // The same command again, at once: it succeeds with no help. After a SIGKILL what the
      // killed run started may still hold the lock: the rerun waits for it.
      const again = await cli(['--sysroot', link, ...args, ...(c.sig === 'SIGKILL' ? ['--lock-wait=120'] : [])]);
      expect(again.code, `${again.stdout}\n${again.stderr}`).toBe(0);
      expect(again.stderr).not.toMatch(/This is a bug/);
      expect(await leftovers(bed.sysroot)).toEqual(NOTHING_LEFT);
      // After a SIGKILL, only now is everything the killed run started done.
      if (c.sig === 'SIGKILL') expect(await fsckProblems(bed.repo), 'ostree fsck after the rerun').toBe('');
      await expectCommandResult(c, i);
    });
  });

  /** SIGINT/SIGTERM: exit code, message, and what the deployments became. */
  function expectSignalOutcome(c: Case, r: { code: number | null; stderr: string }, before: DeploymentState, after: DeploymentState): void {
    const out = r.stderr;
    expect(out).toContain(`${c.sig} received`);
    expect(out).not.toMatch(/This is a bug/);
    if (BEFORE_COMMIT_POINT.has(c.phase)) {
      expect(r.code, out).toBe(c.sig === 'SIGINT' ? 130 : 143);
      expect(out).toMatch(/left as it was/);
      expect(after).toEqual(before);
    } else if (c.phase === 'deploy') {
      // The new deployment is written; the command succeeds.
      expect(r.code, out).toBe(0);
      expect(out).toMatch(/finishing it first/);
      expect(deploymentIds(after)[1]).toBe(deploymentIds(before)[0]);
    } else {
      // cleanup: a removal had started and cannot be undone; the message says so.
      expect(r.code, out).toBe(c.sig === 'SIGINT' ? 130 : 143);
      expect(out).toMatch(/had started; that cannot be undone/);
      expect(out).not.toMatch(/left as it was/);
      expect(deploymentIds(after)[0]).toBe(deploymentIds(before)[0]);
      expect(deploymentIds(after)).toHaveLength(1);
    }
  }

  /** After the rerun, the command's change is there (as ostree and the origin file say). */
  async function expectCommandResult(c: Case, i: number): Promise<void> {
    const st = await deploymentState(bed.sysroot);
    const ids = deploymentIds(st);
    const origin = readFileSync(join(bed.sysroot, 'ostree', 'deploy', bed.os, 'deploy', `${ids[0]}.origin`), 'utf8');
    if (c.command === 'install') expect(origin).toMatch(new RegExp(`^requested=.*\\bfault${i}-ao;`, 'm'));
    if (c.command === 'upgrade') expect(st.status).toMatch(new RegExp(`^\\s+Version: 2\\.${published}$`, 'm'));
    if (c.command === 'cleanup') expect(ids).toHaveLength(1);
  }
});
