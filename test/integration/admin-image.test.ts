/**
 * `apt-ostree admin image`: a raw ext4 image of a sysroot made with mkfs.ext4 -d, read back with
 * debugfs (no mount): the BLS entries and deployments are in it, hardlinks are kept, the sysroot
 * is unchanged, an existing output is refused without --force, failures leave no file behind.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, sh } from '../fixtures/env.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

/** Path → size and inode of every entry, for "the sysroot is unchanged". */
async function snapshot(dir: string): Promise<string> {
  return sh('find', [dir, '-printf', '%P %y %s %i %m %T@\n']).then((t) => t.split('\n').sort().join('\n'));
}

describe('admin image', () => {
  let tmp: string;
  let s: TestSysroot;
  beforeAll(async () => {
    tmp = makeTemp('image-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0', '2.0'], kargs: ['root=/dev/vda', 'rw'] });
  });
  afterAll(async () => {
    await removeTemp(tmp);
  });

  it('writes an ext4 image holding the sysroot, leaving the sysroot unchanged', async () => {
    const before = await snapshot(s.sysroot);
    const out = join(tmp, 'disk.img');
    const r = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', out, '--size', '256M', '--label', 'root']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Wrote .*disk\.img: an ext4 file system of 256 MiB/);
    expect(statSync(out).size).toBe(256 * 1024 ** 2);
    expect(await snapshot(s.sysroot)).toBe(before);
    expect(readdirSync(tmp).filter((n) => n.includes('apt-ostree-'))).toEqual([]);

    expect(await sh('e2fsck', ['-fn', out])).toMatch(/clean|files/);
    expect((await sh('dumpe2fs', ['-h', out])).toString()).toMatch(/Filesystem volume name:\s+root/);
    const entries = readdirSync(join(s.sysroot, 'boot/loader/entries'));
    expect(entries.length).toBe(2);
    for (const e of entries) {
      const inImage = await sh('debugfs', ['-R', `cat /boot/loader/entries/${e}`, out]);
      expect(inImage).toBe(readFileSync(join(s.sysroot, 'boot/loader/entries', e), 'utf8').replace(/\n$/, ''));
    }
    // A file of a deployment is a hardlink into the repository: the link count is kept.
    const dep = readdirSync(join(s.sysroot, 'ostree/deploy/debian/deploy')).find((n) => /\.\d+$/.test(n))!;
    const local = statSync(join(s.sysroot, 'ostree/deploy/debian/deploy', dep, 'usr/share/apt-ostree/marker')).nlink;
    expect(local).toBeGreaterThan(1);
    const stat = await sh('debugfs', ['-R', `stat /ostree/deploy/debian/deploy/${dep}/usr/share/apt-ostree/marker`, out]);
    expect(stat).toMatch(new RegExp(`Links: ${local}\\b`));
  });

  it('refuses an existing output unless --force, and replaces it with --force', async () => {
    const out = join(tmp, 'existing.img');
    writeFileSync(out, 'keep me');
    const r = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', out, '--size', '256M']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already exists/);
    expect(r.stderr).toMatch(/--force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const f = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', out, '--size', '256M', '--force']);
    expect(f.code, f.stderr).toBe(0);
    expect(statSync(out).size).toBe(256 * 1024 ** 2);
  });

  it('refuses bad input before doing anything, and leaves no file when mkfs fails', async () => {
    const notSysroot = join(tmp, 'plain');
    mkdirSync(notSysroot, { recursive: true });
    const a = await cli(['admin', 'image', '--sysroot', notSysroot, '--output', join(tmp, 'a.img')]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/not an OSTree sysroot/);
    const b = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', join(tmp, 'b.img'), '--size', 'lots']);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/'lots' is not a size/);
    const c = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', join(s.sysroot, 'c.img')]);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/inside the sysroot/);
    const d = await cli(['admin', 'image', '--sysroot', s.sysroot]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/needs --output/);
    // Too small for the content: refused before mkfs runs.
    const e = await cli(['admin', 'image', '--sysroot', s.sysroot, '--output', join(tmp, 'e.img'), '--size', '16M']);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/too small/);
    for (const n of ['a.img', 'b.img', 'e.img']) expect(existsSync(join(tmp, n))).toBe(false);
    expect(readdirSync(tmp).filter((n) => n.includes('apt-ostree-'))).toEqual([]);
  });
});
