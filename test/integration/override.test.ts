/** override remove/replace/reset, reset and initramfs on a real minbase sysroot. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeb } from '../fixtures/debs.js';
import { fsckClean } from '../fixtures/env.js';
import { makeLayeringBed, type LayeringBed } from '../fixtures/layering.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('overrides, reset, initramfs', () => {
  let tmp: string;
  let bed: LayeringBed;
  beforeAll(async () => {
    tmp = makeTemp('override-');
    bed = await makeLayeringBed(tmp);
  });
  afterAll(async () => {
    await bed?.close();
    await removeTemp(tmp);
  });
  const status = async () => JSON.parse((await bed.run(['status', '--json'])).stdout).deployments[0];
  const dpkgStatus = async () => readFileSync(join(await bed.defaultDeployment(), 'usr/share/dpkg/database/status'), 'utf8');

  it('override remove drops a base package; errors for layered and unknown packages', async () => {
    expect(await dpkgStatus()).toMatch(/^Package: tzdata$/m);
    const r = await bed.run(['override', 'remove', 'tzdata']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Removed:\n\s+tzdata/);
    const d = await status();
    expect(d['requested-base-removals']).toEqual(['tzdata']);
    expect(d['base-removals']).toEqual(['tzdata']);
    expect(await dpkgStatus()).not.toMatch(/^Package: tzdata$/m);
    expect(existsSync(join(await bed.defaultDeployment(), 'usr/share/zoneinfo/UTC'))).toBe(false);
    expect(readFileSync(`${await bed.defaultDeployment()}.origin`, 'utf8')).toMatch(/\[overrides\]\nremove=tzdata;/);

    const unknown = await bed.run(['override', 'remove', 'no-such-package']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/'no-such-package' is not a package of the base image/);
    expect((await bed.run(['install', 'hello-ao'])).code).toBe(0);
    const layered = await bed.run(['override', 'remove', 'hello-ao']);
    expect(layered.code).toBe(1);
    expect(layered.stderr).toMatch(/layered package.*uninstall hello-ao/);
    await fsckClean(bed.repo);
  });

  it('override replace takes a local .deb of a base package; override reset brings the base back', async () => {
    const deb = await buildDeb({ name: 'mawk', version: '99.0-local', arch: 'amd64', files: { '/usr/share/mawk-local/NOTE': 'replaced\n' }, provides: 'awk' }, tmp);
    const r = await bed.run(['override', 'replace', deb]);
    expect(r.code, r.stderr).toBe(0);
    expect(await dpkgStatus()).toMatch(/Package: mawk\nStatus: install ok installed\n(.+\n)*Version: 99\.0-local/);
    const d = await status();
    expect(d['requested-base-local-replacements']).toEqual([expect.stringMatching(/:mawk_99\.0-local_amd64$/)]);
    expect(d['base-local-replacements']).toEqual(['mawk=99.0-local']);

    const reset = await bed.run(['override', 'reset', 'mawk']);
    expect(reset.code, reset.stderr).toBe(0);
    expect(await dpkgStatus()).not.toMatch(/99\.0-local/);
    const none = await bed.run(['override', 'reset', 'mawk']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/'mawk' has no override/);
    await fsckClean(bed.repo);
  });

  it('initramfs --enable runs the image\'s generator in the transaction and records it in the origin', async () => {
    const before = await status();
    const noTool = await bed.run(['initramfs', '--enable']);
    expect(noTool.code).toBe(1);
    expect(noTool.stderr).toMatch(/neither dracut nor initramfs-tools|no kernel/);
    expect((await status()).checksum).toBe(before.checksum);

    expect((await bed.run(['install', 'fake-dracut-ao'])).code).toBe(0);
    const r = await bed.run(['initramfs', '--enable', '--arg=--add=lvm']);
    expect(r.code, r.stderr).toBe(0);
    const d = await status();
    expect(d['regenerate-initramfs']).toBe(true);
    expect(d['initramfs-args']).toEqual(['--add=lvm']);
    const root = await bed.defaultDeployment();
    const kver = (await import('node:fs')).readdirSync(join(root, 'usr/lib/modules'))[0]!;
    expect(readFileSync(join(root, 'usr/lib/modules', kver, 'initramfs.img'), 'utf8')).toMatch(new RegExp(`initramfs by fake-dracut-ao: --force --kver ${kver.replace(/\./g, '\\.')} --add=lvm /usr/lib/modules/`));
    const show = await bed.run(['initramfs']);
    expect(show.stdout).toMatch(/enabled \(arguments: --add=lvm\)/);
    await fsckClean(bed.repo);
  });

  it('reset returns to the plain base; reset --install layers in the same transaction', async () => {
    const r = await bed.run(['reset', '--install', 'svc-ao']);
    expect(r.code, r.stderr).toBe(0);
    let d = await status();
    expect(d['requested-packages']).toEqual(['svc-ao']);
    expect(d['requested-base-removals']).toEqual([]);
    expect(d['regenerate-initramfs']).toBe(false);
    const all = await bed.run(['reset']);
    expect(all.code, all.stderr).toBe(0);
    d = await status();
    expect(d['requested-packages']).toEqual([]);
    expect(d['base-checksum']).toBeUndefined();
    expect(await dpkgStatus()).toMatch(/^Package: tzdata$/m);
    const again = await bed.run(['reset', '--unchanged-exit-77']);
    expect(again.code).toBe(77);
    await fsckClean(bed.repo);
  });
});
