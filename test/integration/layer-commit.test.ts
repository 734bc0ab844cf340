/**
 * How a layered commit is made (engine/layering/build.ts, base-checkout.ts): the base's kept
 * checkout as the sandbox's root, the change-only commit (the base's tree with the overlay's
 * upper directory on top) and the full walk it falls back to. With
 * APT_OSTREE_VERIFY_LAYER_COMMIT=1 every change-only commit is also made by the full walk of
 * the same transaction and the two trees compared: here on installs that add files, append to
 * base files in place, write /etc, /var, /opt and users, and on changes that take paths of the
 * base away (deleted, made anew, turned from file to directory or link and back).
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsckClean } from '../fixtures/env.js';
import { makeLayeringBed, type LayeringBed } from '../fixtures/layering.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const VERIFY = { APT_OSTREE_VERIFY_LAYER_COMMIT: '1' };

/** Takes paths of the base (minbase) away in every way a maintainer script or dpkg can. */
const RESHAPE = {
  name: 'reshape-ao',
  version: '1.0',
  files: { '/usr/share/reshape-ao/README': 'reshape\n' },
  postinst: [
    'set -e',
    'rm /usr/share/base-files/info.dir', // a file
    'rm -r /usr/share/doc/adduser/examples', // a directory
    'rm /etc/issue.net', // a file of /etc (/usr/etc in the image)
    'rm /usr/share/base-files/profile.md5sums && mkdir /usr/share/base-files/profile.md5sums && echo part > /usr/share/base-files/profile.md5sums/part', // file → directory
    'rm /usr/share/doc/libgcc-s1 && mkdir /usr/share/doc/libgcc-s1 && echo note > /usr/share/doc/libgcc-s1/note', // link → directory
    'rm -r /usr/share/doc/apt && ln -s adduser /usr/share/doc/apt', // directory → link
    'rm -r /usr/share/doc/dpkg && echo flat > /usr/share/doc/dpkg', // directory → file
    'rm /usr/share/doc/libstdc++6 && echo text > /usr/share/doc/libstdc++6', // link → file
    'rm -r /usr/share/doc/bash && mkdir /usr/share/doc/bash && echo new > /usr/share/doc/bash/README', // a directory made anew
    'ln -sf dot.profile /usr/share/base-files/dot.bashrc', // file → link
  ].join('\n'),
};

describe('layered commits', () => {
  let tmp: string;
  let bed: LayeringBed;
  let kept: string;
  beforeAll(async () => {
    tmp = makeTemp('layer-commit-');
    bed = await makeLayeringBed(tmp);
    await bed.apt.add([RESHAPE]);
    kept = join(bed.sysroot, 'ostree', 'apt-ostree', 'base-checkouts');
  });
  afterAll(async () => {
    await bed?.close();
    await removeTemp(tmp);
  });
  const base = async () => JSON.parse((await bed.run(['status', '--json'])).stdout).deployments[0]['base-checksum'] as string;

  it('an install that only adds and replaces files commits what changed, the same tree as the full walk', async () => {
    // A file only the admin's /etc has: the deployment's /etc must not reach the image.
    writeFileSync(join(await bed.defaultDeployment(), 'etc/admin-only.conf'), 'admin\n');
    const r = await bed.run(['-v', 'install', 'hello-ao', 'conf-ao', 'svc-ao'], { env: VERIFY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/verified: the change-only commit has the tree of the full walk/);
    expect(r.stderr).not.toMatch(/committing the whole tree/);
    // The base is deployed: its deployment is the sandbox's root, nothing is checked out.
    expect(r.stderr).toMatch(/the sandbox's root is the base's deployment \S+ \(its \/etc hidden\): no checkout/);
    expect(r.stderr).not.toMatch(/Checking out the base/);
    expect(existsSync(kept) ? readdirSync(kept) : []).toEqual([]);
    await fsckClean(bed.repo);
  });

  it('the next transaction uses the base\'s deployment while there is one', async () => {
    const r = await bed.run(['-v', 'uninstall', 'svc-ao'], { env: VERIFY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Checking out the base/);
    expect(r.stderr).toMatch(/the sandbox's root is the base's deployment/);
    expect(r.stderr).toMatch(/verified: the change-only commit/);
    // The deployment's /etc never reached the layer: the admin's file is not in the image.
    expect(existsSync(join(await bed.defaultDeployment(), 'usr/etc/admin-only.conf'))).toBe(false);
    // The deployment is what the packages say, from the kept checkout.
    const dep = await bed.defaultDeployment();
    expect(existsSync(join(dep, 'usr/bin/hello-ao'))).toBe(true);
    expect(existsSync(join(dep, 'usr/lib/opt/conf-ao/bin/tool'))).toBe(true);
    await fsckClean(bed.repo);
  });

  it('a transaction that removes files of the base commits only the change, the same tree as the full walk', async () => {
    const r = await bed.run(['-v', 'override', 'remove', 'tzdata'], { env: VERIFY });
    expect(r.code, r.stderr).toBe(0);
    // No deployment of the base is left: it is checked out once, and kept.
    expect(r.stderr).toMatch(/Checking out the base/);
    expect(readdirSync(kept)).toEqual([await base()]);
    expect(r.stderr).not.toMatch(/committing the whole tree/);
    expect(r.stderr).toMatch(/the base's tree without what the change removes: \/usr\/\S+ was removed/);
    expect(r.stderr).toMatch(/verified: the change-only commit has the tree of the full walk/);
    expect(existsSync(join(await bed.defaultDeployment(), 'usr/share/zoneinfo/UTC'))).toBe(false);
    expect(existsSync(join(await bed.defaultDeployment(), 'usr/bin/hello-ao'))).toBe(true);
    const reset = await bed.run(['override', 'reset', '--all']);
    expect(reset.code, reset.stderr).toBe(0);
    await fsckClean(bed.repo);
  });

  it('paths of the base deleted, made anew, or turned into another type and back: the change only, as the full walk has it', async () => {
    const r = await bed.run(['-v', 'install', 'reshape-ao'], { env: VERIFY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/committing the whole tree/);
    expect(r.stderr).toMatch(/the base's tree without what the change removes: .* and \d+ more/);
    expect(r.stderr).toMatch(/verified: the change-only commit has the tree of the full walk/);
    const dep = await bed.defaultDeployment();
    const kind = (p: string) => { const st = lstatSync(join(dep, p), { throwIfNoEntry: false }); return !st ? 'none' : st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file'; };
    const reshaped = {
      'usr/share/base-files/info.dir': 'none',
      'usr/share/doc/adduser/examples': 'none',
      'usr/etc/issue.net': 'none',
      'usr/share/base-files/profile.md5sums': 'dir',
      'usr/share/doc/libgcc-s1': 'dir',
      'usr/share/doc/apt': 'link',
      'usr/share/doc/dpkg': 'file',
      'usr/share/doc/libstdc++6': 'file',
      'usr/share/doc/bash': 'dir',
      'usr/share/base-files/dot.bashrc': 'link',
    };
    expect(Object.fromEntries(Object.keys(reshaped).map((p) => [p, kind(p)]))).toEqual(reshaped);
    // The directory made anew holds only what the script put there.
    expect(readdirSync(join(dep, 'usr/share/doc/bash'))).toEqual(['README']);
    expect(readFileSync(join(dep, 'usr/share/doc/dpkg'), 'utf8')).toBe('flat\n');
    await fsckClean(bed.repo);

    // And back: the next layer starts from the base again, every path as the base has it.
    const back = await bed.run(['-v', 'uninstall', 'reshape-ao'], { env: VERIFY });
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toMatch(/verified: the change-only commit/);
    const restored = await bed.defaultDeployment();
    const keptBase = join(kept, await base());
    for (const p of Object.keys(reshaped)) {
      const [a, b] = [lstatSync(join(restored, p)), lstatSync(join(keptBase, p))];
      expect([p, a.isDirectory(), a.isSymbolicLink()]).toEqual([p, b.isDirectory(), b.isSymbolicLink()]);
    }
    expect(readdirSync(join(restored, 'usr/share/doc/bash')).length).toBeGreaterThan(1);
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
