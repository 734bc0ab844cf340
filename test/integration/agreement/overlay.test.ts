/**
 * The overlay's upper directory as layering commits it (system/overlay.ts), with real overlay
 * mounts (root): what can be laid over the base by adding files, and what the change removes
 * from the base's tree.
 * An integration test: it needs root (mount) and getfattr.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mountOverlay, prepareUpperForCommit, unmount, upperRemovals, type OverlayDirs } from '../../../src/system/overlay.js';

let dir: string;
let ov: OverlayDirs;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'overlay-test-'));
  ov = { lower: join(dir, 'lower'), upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(dir, 'merged') };
  mkdirSync(join(ov.lower, 'usr/share/doc'), { recursive: true });
  mkdirSync(join(ov.lower, 'usr/lib/tree'), { recursive: true });
  writeFileSync(join(ov.lower, 'usr/share/doc/readme'), 'base\n');
  writeFileSync(join(ov.lower, 'usr/lib/tree/file'), 'base\n');
  symlinkSync('doc', join(ov.lower, 'usr/share/link'));
  chmodSync(join(ov.lower, 'usr/share/doc'), 0o750);
  chmodSync(ov.lower, 0o711);
  await mountOverlay(ov);
});

afterEach(async () => {
  await unmount(ov.merged).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const xattrNames = (path: string) =>
  execFileSync('getfattr', ['--absolute-names', '--no-dereference', '--recursive', '--match=-', path], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));

describe('upperRemovals', () => {
  it('added and replaced files, in place included, remove nothing', async () => {
    writeFileSync(join(ov.merged, 'usr/share/doc/new'), 'new\n');
    writeFileSync(join(ov.merged, 'usr/share/doc/readme'), 'appended\n', { flag: 'a' });
    mkdirSync(join(ov.merged, 'opt/vendor'), { recursive: true });
    // Made and removed again within the transaction: no trace in the upper directory.
    writeFileSync(join(ov.merged, 'usr/share/doc/tmp'), 'x');
    unlinkSync(join(ov.merged, 'usr/share/doc/tmp'));
    await unmount(ov.merged);
    expect(await upperRemovals(ov.upper, ov.lower)).toEqual({ paths: [], whiteouts: [] });
  });

  it('a removed base file, a renamed one, a replaced directory and a changed type are removals', async () => {
    const cases: Array<[() => void, Array<{ path: string; why: string }>, string[]]> = [
      [() => unlinkSync(join(ov.merged, 'usr/share/doc/readme')), [{ path: '/usr/share/doc/readme', why: 'was removed' }], ['usr/share/doc/readme']],
      [() => renameSync(join(ov.merged, 'usr/lib/tree/file'), join(ov.merged, 'usr/lib/tree/moved')), [{ path: '/usr/lib/tree/file', why: 'was removed' }], ['usr/lib/tree/file']],
      // A directory made anew hides all of the base's: the directory goes, not its entries one by one.
      [() => { rmSync(join(ov.merged, 'usr/lib/tree'), { recursive: true }); mkdirSync(join(ov.merged, 'usr/lib/tree')); writeFileSync(join(ov.merged, 'usr/lib/tree/other'), 'x'); }, [{ path: '/usr/lib/tree', why: 'was replaced' }], []],
      [() => { unlinkSync(join(ov.merged, 'usr/share/link')); mkdirSync(join(ov.merged, 'usr/share/link')); }, [{ path: '/usr/share/link', why: 'changed type' }], []],
      [() => { rmSync(join(ov.merged, 'usr/lib/tree'), { recursive: true }); symlinkSync('../share', join(ov.merged, 'usr/lib/tree')); }, [{ path: '/usr/lib/tree', why: 'changed type' }], []],
      // Not in the base: nothing to remove from it, but the whiteout is not committed either.
      [() => { rmSync(join(ov.merged, 'usr/lib/tree'), { recursive: true }); }, [{ path: '/usr/lib/tree', why: 'was removed' }], ['usr/lib/tree']],
    ];
    for (const [change, paths, whiteouts] of cases) {
      change();
      await unmount(ov.merged);
      const removals = await upperRemovals(ov.upper, ov.lower);
      expect(removals.paths).toEqual(paths);
      expect(removals.whiteouts).toEqual(whiteouts.map((w) => join(ov.upper, w)));
      await prepareUpperForCommit(ov.upper, ov.lower, removals);
      for (const w of removals.whiteouts) expect(existsSync(w)).toBe(false);
      rmSync(ov.upper, { recursive: true, force: true });
      rmSync(ov.work, { recursive: true, force: true });
      await mountOverlay(ov);
    }
  });
});

describe('prepareUpperForCommit', () => {
  it('leaves no overlay attribute, and gives the top directory the metadata of the lower one', async () => {
    writeFileSync(join(ov.merged, 'usr/share/doc/readme'), 'appended\n', { flag: 'a' });
    writeFileSync(join(ov.merged, 'usr/share/doc/new'), 'new\n');
    await unmount(ov.merged);
    expect(xattrNames(ov.upper).some((n) => n.startsWith('trusted.overlay.'))).toBe(true);
    await prepareUpperForCommit(ov.upper, ov.lower);
    expect(xattrNames(ov.upper).filter((n) => n.startsWith('trusted.overlay.'))).toEqual([]);
    expect(statSync(ov.upper).mode & 0o7777).toBe(0o711);
    // Copied-up directories keep the lower's metadata.
    expect(statSync(join(ov.upper, 'usr/share/doc')).mode & 0o7777).toBe(0o750);
  });
});
