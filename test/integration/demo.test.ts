/**
 * The README's first command, `bash examples/demo.sh`, run as a new user runs it: from a copy of
 * the repository (the files git tracks, as they are in the working tree; node_modules hardlinked),
 * so that its set-up and build touch nothing the other tests run. It composes a signed image
 * from Debian's archive, provisions a sysroot verified with the demo's key, layers `hello` and
 * prints status; then the command it prints to delete the demo must delete it.
 */
import { execa } from 'execa';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../fixtures/env.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('examples/demo.sh', () => {
  let tmp: string;
  let copy: string;

  beforeAll(async () => {
    tmp = makeTemp('demo-');
    copy = join(tmp, 'apt-ostree');
    await execa('mkdir', [copy]);
    await execa('sh', ['-c', 'git -C "$0" ls-files -z | tar -C "$0" --null -T - -cf - | tar -C "$1" -xf -', PROJECT_ROOT, copy]);
    // A copy of node_modules made of hardlinks, never a link to this tree's: the demo's set-up runs
    // `npm ci` where package-lock.json is newer than node_modules, and npm ci through a link
    // emptied the node_modules every other test runs on. (Hardlinks: npm ci unlinks, never writes
    // into installed files.)
    // (`dir/.` follows a node_modules that is itself a link; a plain copy across file systems.)
    const modules = join(copy, 'node_modules');
    await execa('mkdir', [modules]);
    const linked = await execa('cp', ['-al', `${join(PROJECT_ROOT, 'node_modules')}/.`, modules], { reject: false });
    if (linked.exitCode !== 0) await execa('cp', ['-a', `${join(PROJECT_ROOT, 'node_modules')}/.`, modules]);
  });
  afterAll(async () => {
    await removeTemp(tmp);
  });

  it('composes, provisions, layers hello and shows status; the delete command it prints works', async () => {
    const demo = join(tmp, 'demo');
    const r = await execa('bash', ['examples/demo.sh'], { cwd: copy, env: { DEMO_DIR: demo }, reject: false, all: true, timeout: 900_000 });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout).toContain('Layered packages: hello');
    expect(r.stdout).toMatch(/The new default deployment has it: .*\/usr\/bin\/hello/);
    // Two deployments: the image and the layered one (status lists both).
    const deployments = readdirSync(join(demo, 'sysroot/ostree/deploy/debian/deploy')).filter((d) => !d.endsWith('.origin'));
    expect(deployments).toHaveLength(2);

    const lines = r.stdout.split('\n');
    const del = lines[lines.findIndex((l) => l.includes('to delete the demo:')) + 1]?.trim();
    expect(del).toContain('rm -rf');
    const d = await execa('bash', ['-c', del], { reject: false, all: true });
    expect(d.exitCode, d.all).toBe(0);
    expect(existsSync(demo)).toBe(false);
  }, 900_000);
});
