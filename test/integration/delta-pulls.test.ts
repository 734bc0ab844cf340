/**
 * Static deltas with an ostree that has the fix for ostree #2053 (2023.7 and later): apt-ostree's
 * pull, run with such an ostree first on PATH, reads its version and pulls through the delta the
 * server publishes. (With this host's older ostree, the publish and fleet tests check the other
 * side: objects only.) The newer ostree is Debian 13's: a small trixie tree with ostree in it
 * (mmdebstrap from the test mirror, made once and kept in the test cache), whose /usr the test
 * swaps in under bwrap.
 */
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ostreeVersion, pull, staticDeltasPayOff } from '../../src/system/ostree.js';
import { serveDirectory, type StaticServer } from '../fixtures/apt-repo.js';
import { CACHE_DIR, sh } from '../fixtures/env.js';
import { DEBIAN_MIRROR, withFileLock } from '../fixtures/minbase.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const REF = 'test/deltas';

/** The /usr of a Debian 13 tree that has ostree (2025.2), made once into the test cache. */
async function newerOstreeRoot(): Promise<string> {
  const root = join(CACHE_DIR, 'trixie-ostree');
  await withFileLock(`${root}.lock`, async () => {
    if (existsSync(join(root, 'usr', 'bin', 'ostree'))) return;
    rmSync(`${root}.partial`, { recursive: true, force: true });
    await sh('mmdebstrap', ['--quiet', '--variant=essential', '--include=ostree', '--mode=root', '--dpkgopt=path-exclude=/usr/share/doc/*', 'trixie', `${root}.partial`, DEBIAN_MIRROR]);
    renameSync(`${root}.partial`, root);
  });
  return root;
}

const root = await newerOstreeRoot();

describe('pulls with an ostree that pulls static deltas alone (Debian 13\'s)', () => {
  let tmp: string;
  let server: StaticServer;
  let src: string;
  let client: string;
  const savedPath = process.env.PATH;

  beforeAll(async () => {
    tmp = makeTemp('delta-pulls-');
    // `ostree` on PATH runs the newer binary over this machine's filesystem (its /usr swapped in).
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'ostree'), `#!/bin/sh\nexec bwrap --bind / / --bind '${root}/usr' /usr --dev-bind /dev /dev --proc /proc --die-with-parent /usr/bin/ostree "$@"\n`);
    chmodSync(join(bin, 'ostree'), 0o755);
    // The publisher's repository at version 1 (a tree with some content, so that a delta pays).
    src = join(tmp, 'srv');
    const tree = join(tmp, 'tree');
    mkdirSync(join(tree, 'usr', 'lib'), { recursive: true });
    for (let i = 0; i < 40; i++) writeFileSync(join(tree, 'usr', 'lib', `f${i}`), `${'line of version 1 of file ' + i + '\n'}`.repeat(2000));
    await sh('ostree', [`--repo=${src}`, 'init', '--mode=archive']);
    await sh('ostree', [`--repo=${src}`, 'commit', `--branch=${REF}`, `--tree=dir=${tree}`, '--no-bindings']);
    await sh('ostree', [`--repo=${src}`, 'summary', '--update']);
    server = await serveDirectory(src);
    client = join(tmp, 'client');
    await sh('ostree', [`--repo=${client}`, 'init', '--mode=bare-user']);
    await sh('ostree', [`--repo=${client}`, 'remote', 'add', '--no-gpg-verify', 'origin', server.url]);
    await sh('ostree', [`--repo=${client}`, 'pull', 'origin', REF]);
    // Version 2: every file changed a little; a static delta 1 -> 2, listed in the summary.
    for (let i = 0; i < 40; i++) writeFileSync(join(tree, 'usr', 'lib', `f${i}`), `${'line of version 1 of file ' + i + '\n'}`.repeat(2000) + 'version 2\n');
    await sh('ostree', [`--repo=${src}`, 'commit', `--branch=${REF}`, `--tree=dir=${tree}`, '--no-bindings']);
    await sh('ostree', [`--repo=${src}`, 'static-delta', 'generate', REF]);
    await sh('ostree', [`--repo=${src}`, 'summary', '--update']);
    process.env.PATH = `${bin}:${savedPath}`;
  });
  afterAll(async () => {
    process.env.PATH = savedPath;
    await server?.close();
    await removeTemp(tmp);
  });

  it('reads the newer version and pulls through the delta, fetching no object loose', async () => {
    const version = await ostreeVersion();
    expect(staticDeltasPayOff(version), `ostree ${version} of ${root}`).toBe(true);
    server.requests.length = 0;
    await pull({ repo: client, remote: 'origin', refs: [REF] });
    expect(server.requests.filter((p) => p.startsWith('/deltas/'))).not.toEqual([]);
    expect(server.requests.filter((p) => /^\/objects\/.*\.filez$/.test(p))).toEqual([]);
    const head = (await sh('ostree', [`--repo=${src}`, 'rev-parse', REF])).trim();
    expect((await sh('ostree', [`--repo=${client}`, 'rev-parse', `origin:${REF}`])).trim()).toBe(head);
    await execa('ostree', [`--repo=${client}`, 'fsck'], { env: { PATH: savedPath! } });
  });
});
