/**
 * Signed images: `compose commit` signs the commit as ostree writes it (a GPG key generated
 * here), a signature that cannot be made fails the compose and leaves the ref, and the
 * ed25519 option is refused where this host's ostree lacks sign-ed25519.
 */
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, exists, fsckClean, sh } from '../fixtures/env.js';
import { makeGpgKey, showSignatures, stopGpgAgent, writePlainTree, type GpgKey } from '../fixtures/signing.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const REF = 'test/signed';

async function refOf(repo: string): Promise<string> {
  return (await sh('ostree', [`--repo=${repo}`, 'rev-parse', REF])).trim();
}

describe('compose commit --gpg-sign', () => {
  let tmp: string;
  let key: GpgKey;
  let expired: GpgKey;
  let repo: string;
  let rootfs: string;
  beforeAll(async () => {
    tmp = makeTemp('signing-');
    key = await makeGpgKey(tmp, 'builder');
    expired = await makeGpgKey(tmp, 'expired', { expireSeconds: 1 });
    repo = join(tmp, 'repo');
    rootfs = join(tmp, 'rootfs');
    writePlainTree(rootfs, 'one');
    await new Promise((r) => setTimeout(r, 1500)); // the expired key's second is over
  });
  afterAll(async () => {
    for (const k of [key, expired]) if (k) await stopGpgAgent(k);
    await removeTemp(tmp);
  });

  it('signs the commit as it is written', async () => {
    const r = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', REF, '--gpg-sign', key.fingerprint, '--gpg-homedir', key.homedir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/=> [0-9a-f]{64} \(signed\)/);
    const shown = await showSignatures(repo, REF, key.publicKey);
    expect(shown).toMatch(/Found 1 signature/);
    expect(shown).toMatch(/Good signature from "builder <builder@example\.org>"/);
    // Bound to its ref, under the signature: a client refuses it under another ref.
    expect((await sh('ostree', [`--repo=${repo}`, 'show', '--print-metadata-key=ostree.ref-binding', REF])).trim()).toBe(`['${REF}']`);
  });

  it('refuses a key the home directory does not hold, before any work', async () => {
    const before = await refOf(repo);
    writeFileSync(join(rootfs, 'usr/bin/marker'), 'two\n');
    const r = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', REF, '--gpg-sign', 'DEADBEEFDEADBEEF', '--gpg-homedir', key.homedir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no secret key DEADBEEFDEADBEEF in the GnuPG home directory/);
    expect(await refOf(repo)).toBe(before);
    const noHome = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', REF, '--gpg-sign', key.fingerprint, '--gpg-homedir', join(tmp, 'nowhere')]);
    expect(noHome.code).toBe(1);
    expect(noHome.stderr).toMatch(/GnuPG home directory .*nowhere does not exist/);
    const homeOnly = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', REF, '--gpg-homedir', key.homedir]);
    expect(homeOnly.code).toBe(1);
    expect(homeOnly.stderr).toMatch(/--gpg-homedir needs --gpg-sign/);
  });

  it('fails the compose and leaves the ref where it was when the signature cannot be made', async () => {
    const before = await refOf(repo);
    writeFileSync(join(rootfs, 'usr/bin/marker'), 'three\n');
    const r = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', REF, '--gpg-sign', expired.fingerprint, '--gpg-homedir', expired.homedir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`Signing the commit of ${REF} with GPG key ${expired.fingerprint} failed \\(.*[Uu]nusable secret key\\); ${REF} is still ${before}`));
    expect(await refOf(repo)).toBe(before);
    // Signed again with the good key, the same tree commits.
    const ok = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', REF, '--gpg-sign', key.fingerprint, '--gpg-homedir', key.homedir]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await refOf(repo)).not.toBe(before);
  });

  it('signs the existing commit when the tree did not change (ostree writes no new commit to sign)', async () => {
    // An unsigned commit first, as a publisher had before adding --gpg-sign to the build.
    const unsignedRepo = join(tmp, 'repo-unsigned');
    const tree = join(tmp, 'rootfs-unsigned');
    writePlainTree(tree, 'same');
    const first = await cli(['compose', 'commit', tree, '--repo', unsignedRepo, '--ref', REF]);
    expect(first.code, first.stderr).toBe(0);
    const head = await refOf(unsignedRepo);
    expect(await showSignatures(unsignedRepo, REF, key.publicKey)).not.toMatch(/Good signature/);

    // The same tree with a key: no new commit, the existing one signed; a change to publish (exit 0, not 77).
    const signed = await cli(['compose', 'commit', tree, '--repo', unsignedRepo, '--ref', REF, '--gpg-sign', key.fingerprint, '--gpg-homedir', key.homedir, '--unchanged-exit-77']);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toContain(`No new commit: the tree is the same as ${REF}'s commit ${head}; signed it with GPG key ${key.fingerprint}.`);
    expect(await refOf(unsignedRepo)).toBe(head);
    const shown = await showSignatures(unsignedRepo, REF, key.publicKey);
    expect(shown).toMatch(/Found 1 signature/);
    expect(shown).toMatch(/Good signature from "builder <builder@example\.org>"/);

    // Again: already signed by that key (given by its user id this time), so nothing changes.
    const again = await cli(['compose', 'commit', tree, '--repo', unsignedRepo, '--ref', REF, '--gpg-sign', 'builder@example.org', '--gpg-homedir', key.homedir, '--unchanged-exit-77']);
    expect(again.code, again.stderr).toBe(77);
    expect(again.stdout).toContain(`No changes: the tree is the same as ${REF}'s commit ${head}; nothing committed; it is already signed with GPG key builder@example.org.`);
    expect(await showSignatures(unsignedRepo, REF, key.publicKey)).toMatch(/Found 1 signature/);

    // A second key (a rotation) adds its signature beside the first.
    const next = await makeGpgKey(tmp, 'next');
    try {
      const both = await cli(['compose', 'commit', tree, '--repo', unsignedRepo, '--ref', REF, '--gpg-sign', next.fingerprint, '--gpg-homedir', next.homedir]);
      expect(both.code, both.stderr).toBe(0);
      expect(await refOf(unsignedRepo)).toBe(head);
      expect(await showSignatures(unsignedRepo, REF, next.publicKey)).toMatch(/Found 2 signatures[\s\S]*Good signature from "next <next@example\.org>"/);
      expect(await showSignatures(unsignedRepo, REF, key.publicKey)).toMatch(/Good signature from "builder <builder@example\.org>"/);
    } finally {
      await stopGpgAgent(next);
    }
    await fsckClean(unsignedRepo);
  });

  it('refuses --sign-key where ostree has no sign-ed25519 (or cannot read the key from a file), saying so', async () => {
    const version = (await execa('ostree', ['--version'])).stdout;
    const keyFile = join(tmp, 'ed25519.key');
    writeFileSync(keyFile, 'not used\n');
    const r = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', REF, '--sign-key', keyFile]);
    const publish = await cli(['compose', 'publish', '--repo', repo, '--sign-key', keyFile]);
    if (/^\s*-\s*sign-ed25519\s*$/m.test(version)) {
      expect(r.stderr).not.toMatch(/built without ed25519/);
      // An ostree older than 2023.6 takes the secret key only on its command line: refused.
      const fromFile = /--sign-from-file/.test((await execa('ostree', ['commit', '--help'])).stdout);
      if (!fromFile) expect(r.stderr).toMatch(/reads ed25519 secret keys only from its command line/);
      // ostree summary reads no key file in any version: publishing with --sign-key is refused.
      expect(publish.code).toBe(1);
      expect(publish.stderr).toMatch(/ostree summary takes an ed25519 secret key only on its command line \(--sign=KEY\)/);
    } else {
      for (const x of [r, publish]) {
        expect(x.code).toBe(1);
        expect(x.stderr).toMatch(/built without ed25519 signing \(no sign-ed25519 in `ostree --version`\), so --sign-key cannot be used/);
        expect(x.stderr).toMatch(/--gpg-sign KEYID --gpg-homedir DIR/);
      }
    }
  });
});

describe('compose tree --gpg-sign', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = makeTemp('signing-tree-');
  });
  afterAll(async () => removeTemp(tmp));

  it('checks the key before resolving or building anything', async () => {
    const manifest = join(tmp, 'image.yaml');
    writeFileSync(manifest, 'ref: test/tree\nsuite: bookworm\n');
    const repo = join(tmp, 'repo');
    const r = await cli(['compose', 'tree', manifest, '--repo', repo, '--gpg-sign', 'DEADBEEFDEADBEEF', '--gpg-homedir', tmp]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/There is no secret key DEADBEEFDEADBEEF in the GnuPG home directory/);
    expect(r.stderr).not.toMatch(/Resolving packages/);
    expect(exists(repo)).toBe(false);
  });
});
