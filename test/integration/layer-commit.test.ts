/**
 * How a layered commit is made (engine/layering/build.ts, base-checkout.ts): the base's kept
 * checkout as the sandbox's root, the change-only commit (the base's tree with the overlay's
 * upper directory on top) and the full walk it falls back to. With
 * APT_OSTREE_VERIFY_LAYER_COMMIT=1 every change-only commit is also made by the full walk of
 * the same transaction and the two trees compared: here on installs that add files, append to
 * base files in place, write /etc, /var, /opt and users.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsckClean } from '../fixtures/env.js';
import { makeLayeringBed, type LayeringBed } from '../fixtures/layering.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const VERIFY = { APT_OSTREE_VERIFY_LAYER_COMMIT: '1' };

describe('layered commits', () => {
  let tmp: string;
  let bed: LayeringBed;
  let kept: string;
  beforeAll(async () => {
    tmp = makeTemp('layer-commit-');
    bed = await makeLayeringBed(tmp);
    kept = join(bed.sysroot, 'ostree', 'apt-ostree', 'base-checkouts');
  });
  afterAll(async () => {
    await bed?.close();
    await removeTemp(tmp);
  });
  const base = async () => JSON.parse((await bed.run(['status', '--json'])).stdout).deployments[0]['base-checksum'] as string;

  it('an install that only adds and replaces files commits what changed, the same tree as the full walk', async () => {
    const r = await bed.run(['-v', 'install', 'hello-ao', 'conf-ao', 'svc-ao'], { env: VERIFY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/verified: the change-only commit has the tree of the full walk/);
    expect(r.stderr).not.toMatch(/committing the whole tree/);
    // The base is checked out once, and kept.
    expect(r.stderr).toMatch(/Checking out the base/);
    expect(readdirSync(kept)).toEqual([await base()]);
    await fsckClean(bed.repo);
  });

  it('the next transaction on the same base starts from the kept checkout', async () => {
    const r = await bed.run(['-v', 'uninstall', 'svc-ao'], { env: VERIFY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Checking out the base/);
    expect(r.stderr).toMatch(/verified: the change-only commit/);
    // The deployment is what the packages say, from the kept checkout.
    const dep = await bed.defaultDeployment();
    expect(existsSync(join(dep, 'usr/bin/hello-ao'))).toBe(true);
    expect(existsSync(join(dep, 'usr/lib/opt/conf-ao/bin/tool'))).toBe(true);
    await fsckClean(bed.repo);
  });

  it('a transaction that removes files of the base falls back to the full walk', async () => {
    const r = await bed.run(['-v', 'override', 'remove', 'tzdata'], { env: VERIFY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/committing the whole tree: \/usr\/\S+ was removed/);
    expect(existsSync(join(await bed.defaultDeployment(), 'usr/share/zoneinfo/UTC'))).toBe(false);
    expect(existsSync(join(await bed.defaultDeployment(), 'usr/bin/hello-ao'))).toBe(true);
    const reset = await bed.run(['override', 'reset', '--all']);
    expect(reset.code, reset.stderr).toBe(0);
    await fsckClean(bed.repo);
  });

  it('kept checkouts of commits no deployment is based on are dropped; cleanup -b drops all', async () => {
    // A stale one, as an earlier base would leave it.
    mkdirSync(join(kept, '0'.repeat(64), 'usr'), { recursive: true });
    writeFileSync(join(kept, '0'.repeat(64), 'usr', 'f'), 'x');
    const r = await bed.run(['install', 'dep-ao']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(kept)).toEqual([await base()]);
    const c = await bed.run(['cleanup', '-b']);
    expect(c.code, c.stderr).toBe(0);
    expect(existsSync(kept) ? readdirSync(kept) : []).toEqual([]);
    // And the next install checks out again.
    const again = await bed.run(['-v', 'install', 'svc-ao'], { env: VERIFY });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/Checking out the base/);
    await fsckClean(bed.repo);
  });
});

describe('pruning after layering', () => {
  let tmp: string;
  let bed: LayeringBed;
  beforeAll(async () => {
    tmp = makeTemp('layer-prune-');
    bed = await makeLayeringBed(tmp);
  });
  afterAll(async () => {
    await bed?.close();
    await removeTemp(tmp);
  });
  const commitObject = (c: string) => join(bed.repo, 'objects', c.slice(0, 2), `${c.slice(2)}.commit`);
  const layered = async () => JSON.parse((await bed.run(['status', '--json'])).stdout).deployments[0].checksum as string;

  it('a layering deploy leaves the previous layered commit for a later prune; cleanup -b prunes it', async () => {
    expect((await bed.run(['install', 'dep-ao'])).code).toBe(0);
    const first = await layered();
    expect((await bed.run(['install', 'conf-ao'])).code).toBe(0);
    expect((await bed.run(['install', 'svc-ao'])).code).toBe(0);
    // The first layered commit is no deployment's any more (the plain deploy dropped it), and
    // still in the repository: no prune ran.
    const st = JSON.parse((await bed.run(['status', '--json'])).stdout);
    expect(st.deployments.map((d: { checksum: string }) => d.checksum)).not.toContain(first);
    expect(existsSync(commitObject(first))).toBe(true);
    const c = await bed.run(['cleanup', '-b']);
    expect(c.code, c.stderr).toBe(0);
    expect(existsSync(commitObject(first))).toBe(false);
    // Every deployment keeps its commit and its base.
    for (const d of st.deployments) {
      expect(existsSync(commitObject(d.checksum))).toBe(true);
      if (d['base-checksum']) expect(existsSync(commitObject(d['base-checksum']))).toBe(true);
    }
    await fsckClean(bed.repo);
  });

  it('once the repository has grown by ten commits, a layering deploy prunes', async () => {
    const state = join(bed.sysroot, 'ostree', 'apt-ostree', 'commits-after-prune');
    const before = await layered();
    expect((await bed.run(['uninstall', 'svc-ao'])).code).toBe(0);
    // `before` is the rollback deployment now; the next deploy drops it.
    const recorded = Number(readFileSync(state, 'utf8'));
    expect(recorded).toBeGreaterThan(0);
    // As if the last prune had left ten commits fewer than there are now.
    writeFileSync(state, `${recorded - 10}\n`);
    expect((await bed.run(['uninstall', 'conf-ao'])).code).toBe(0);
    expect(existsSync(commitObject(before))).toBe(false);
    expect(Number(readFileSync(state, 'utf8'))).toBeLessThanOrEqual(recorded + 1);
    await fsckClean(bed.repo);
  });
});
