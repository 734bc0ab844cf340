/**
 * A full disk: the sysroot lives on a small tmpfs, and a filler file takes the free space at a
 * chosen moment of an install (seen in the progress output, or in a maintainer script that
 * says it waits). Each failure must be reported as a full disk with a way out (`apt-ostree
 * cleanup`), leave the deployments as they were and the repository intact; and `cleanup` must
 * still work on a disk with no byte free, and give space back.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DebSpec } from '../fixtures/debs.js';
import { fsckClean } from '../fixtures/env.js';
import {
  deploymentIds, deploymentState, fillUp, freeBytes, keepFull, leftovers, mountTmpfs, NOTHING_LEFT, serveGated,
  startCli, unmountTmpfs, waitUntil, type BackgroundRun, type GatedServer, type RunOutcome,
} from '../fixtures/faults.js';
import { makeLayeringBed, setDeploymentSources, type LayeringBed } from '../fixtures/layering.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const MB = 1024 * 1024;
/** Room for the minbase sysroot (about 175 MB) and the cases' packages, not much more: filling is not free. */
const TMPFS_MB = 270;

const HOLD_FILE = 'faults.hold';
const HOLDING_FILE = 'faults.holding';

/**
 * A package per case (a case that wrongly succeeds must not spoil the next one), with 8 MB of
 * data that compresses badly, whose preinst can wait for the test.
 */
function big(i: number): DebSpec {
  return {
    name: `big${i}-ao`,
    version: '1.0',
    files: { [`/usr/share/big${i}-ao/blob`]: randomBytes(6 * MB).toString('base64') },
    preinst: `if [ -e /var/cache/apt/archives/${HOLD_FILE} ]; then\n  touch /var/cache/apt/archives/${HOLDING_FILE}\n  while [ -e /var/cache/apt/archives/${HOLD_FILE} ]; do sleep 0.1; done\nfi`,
  };
}

describe('a full disk', () => {
  let tmp: string;
  let bed: LayeringBed;
  let aptGate: GatedServer;
  let archives: string;
  /** The file that takes the free space; removed after each case. */
  let filler: string;

  beforeAll(async () => {
    tmp = makeTemp('faults-disk-');
    // The sysroot (tmp/sr) is the tmpfs; the apt repository beside it is not.
    await mountTmpfs(join(tmp, 'sr'), TMPFS_MB);
    bed = await makeLayeringBed(tmp);
    await bed.apt.add([1, 2, 3, 4, 5, 6].map(big));
    aptGate = await serveGated(bed.apt.dir);
    setDeploymentSources(await bed.defaultDeployment(), `deb [trusted=yes] ${aptGate.url} ./`);
    archives = join(bed.sysroot, 'ostree', 'deploy', bed.os, 'var', 'cache', 'apt-ostree', 'archives');
    filler = join(bed.sysroot, 'filler');
    // The cases need about 60 MB (six 6 MB .debs in the cache, one 8 MB package installed).
    const free = freeBytes(bed.sysroot);
    if (free < 80 * MB) throw new Error(`only ${Math.round(free / MB)} MB free on the ${TMPFS_MB} MB tmpfs; make it larger`);
  });
  afterAll(async () => {
    await aptGate?.close();
    await bed?.close();
    if (tmp) await unmountTmpfs(join(tmp, 'sr'));
    if (tmp) await removeTemp(tmp);
  });

  interface DiskCase {
    /** Bytes left free before the run starts, so that the space can be taken fast at the phase. */
    margin?: number;
    /** Wait until the run is in the phase. */
    reach(run: BackgroundRun): Promise<void>;
    /** Bytes left free from the phase on. */
    leave?: number;
    /** The step that must be the one that failed. */
    failed?: RegExp;
  }

  /**
   * Install big<pkg>-ao and fill the disk when the run reaches the phase (and keep it full):
   * the install must fail at that step, cleanly, saying that the disk is full and what to do.
   */
  async function installRunsOutOfSpace(pkg: number, c: DiskCase): Promise<void> {
    const before = await deploymentState(bed.sysroot);
    let r: RunOutcome;
    try {
      if (c.margin !== undefined) await fillUp(filler, c.margin);
      const run = startCli(['--sysroot', bed.sysroot, 'install', `big${pkg}-ao`]);
      let full: Promise<void> | undefined;
      try {
        await c.reach(run);
        full = keepFull(filler, c.leave ?? 0, run.result);
        await fillUp(filler, c.leave ?? 0);
      } finally {
        aptGate.release();
        rmSync(join(archives, HOLD_FILE), { force: true });
        r = await run.result;
        await full;
      }
    } finally {
      rmSync(filler, { force: true });
      rmSync(join(archives, HOLDING_FILE), { force: true });
    }
    expect(r.code, r.stderr).toBe(1);
    if (c.failed) expect(r.stderr).toMatch(c.failed);
    expect(r.stderr).toMatch(/space|full/i);
    expect(r.stderr).toMatch(/cleanup/);
    expect(r.stderr).not.toMatch(/This is a bug/);
    expect(await deploymentState(bed.sysroot)).toEqual(before);
    expect(await leftovers(bed.sysroot)).toEqual(NOTHING_LEFT);
    await fsckClean(bed.repo);
  }

  it('with no byte free from the start: the transaction cannot write its first work file', async () => {
    await installRunsOutOfSpace(1, { margin: 0, reach: async () => undefined });
  });

  it('before the download: apt finds no room for the package in its cache', async () => {
    await installRunsOutOfSpace(1, {
      // Room for the work files, not for the 6 MB .deb: apt checks the free space itself.
      margin: 2 * MB,
      reach: async () => undefined,
      leave: 2 * MB,
      // apt-cache policy, which finds the versions only the kept packages offer (issue 32), writes
      // apt's binary cache first and is now what meets the full disk; else the download does.
      failed: /running apt-cache policy|Downloading 1 package: failed/,
    });
  });

  it('while downloading: the .deb cannot be written to the cache', async () => {
    aptGate.hold(/big2-ao.*\.deb$/);
    await installRunsOutOfSpace(2, {
      // The request for the .deb is held until the disk is full.
      reach: async (run) => {
        await run.waitForOutput(/Downloading 1 package/);
        await aptGate.waitForHeld();
      },
      failed: /Downloading 1 package: failed/,
    });
  });

  it('while unpacking: dpkg cannot write the package files into the overlay', async () => {
    writeFileSync(join(archives, HOLD_FILE), '');
    await installRunsOutOfSpace(3, {
      // The preinst waits until the disk is full.
      reach: async (run) => {
        await run.waitForOutput(/Installing 1 package/);
        await waitUntil(() => existsSync(join(archives, HOLDING_FILE)), 'the preinst to run');
      },
      // Room for dpkg's own small writes, not for the 8 MB the package unpacks.
      leave: 1 * MB,
      failed: /Installing 1 package: failed/,
    });
  });

  it('while committing: ostree cannot write the new objects', async () => {
    await installRunsOutOfSpace(4, {
      // Enough for the download and the unpack (about 15 MB), and 15 MB more to take at the commit.
      margin: 30 * MB,
      reach: (run) => run.waitForOutput(/Committing the new tree\.\.\./),
      failed: /Committing the new tree: failed/,
    });
  });

  it('while deploying: ostree admin deploy cannot write the new deployment', async () => {
    await installRunsOutOfSpace(5, {
      // Enough for the download, the unpack and the commit (about 25 MB).
      margin: 45 * MB,
      reach: (run) => run.waitForOutput(/Writing the new deployment\.\.\./),
      failed: /Writing the new deployment: failed/,
    });
  });

  it('cleanup -r -b still works on a disk with no byte free, and frees space', async () => {
    // Something to free: the install makes the base deployment the rollback one.
    const ok = startCli(['--sysroot', bed.sysroot, 'install', 'big6-ao']);
    const r0 = await ok.result;
    expect(r0.code, r0.stderr).toBe(0);
    const before = await deploymentState(bed.sysroot);
    expect(deploymentIds(before)).toHaveLength(2);
    await fillUp(filler, 0);
    expect(freeBytes(bed.sysroot)).toBeLessThan(4096);
    try {
      const r = await startCli(['--sysroot', bed.sysroot, 'cleanup', '-r', '-b']).result;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Deployments removed: 1/);
      expect(freeBytes(bed.sysroot)).toBeGreaterThan(1 * MB);
      expect(deploymentIds(await deploymentState(bed.sysroot))).toEqual([deploymentIds(before)[0]]);
      expect(await leftovers(bed.sysroot)).toEqual(NOTHING_LEFT);
    } finally {
      rmSync(filler, { force: true });
    }
    await fsckClean(bed.repo);
  });

  it('cleanup -b alone still works on a disk with no byte free: cached packages and unused objects go', async () => {
    // Something for -b to free: a package downloaded into the cache and not installed.
    const dl = await startCli(['--sysroot', bed.sysroot, 'install', '--download-only', 'big1-ao']).result;
    expect(dl.code, dl.stderr).toBe(0);
    await cleanupFreesSpaceOnFullDisk(['-b'], /Freed: .* of package cache/);
  });

  it('cleanup -m still works on a disk with no byte free: the package lists go', async () => {
    await cleanupFreesSpaceOnFullDisk(['-m'], /Removed the cached package lists/);
  });

  /** With the disk full to the last byte, cleanup with these flags succeeds and frees space. */
  async function cleanupFreesSpaceOnFullDisk(flags: string[], says: RegExp): Promise<void> {
    const before = await deploymentState(bed.sysroot);
    await fillUp(filler, 0);
    try {
      const r = await startCli(['--sysroot', bed.sysroot, 'cleanup', ...flags]).result;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(says);
      expect(freeBytes(bed.sysroot)).toBeGreaterThan(0);
      expect(await deploymentState(bed.sysroot)).toEqual(before);
      expect(await leftovers(bed.sysroot)).toEqual(NOTHING_LEFT);
    } finally {
      rmSync(filler, { force: true });
    }
    await fsckClean(bed.repo);
  }
});
