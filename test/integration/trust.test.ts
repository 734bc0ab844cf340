/**
 * Verification on by default: a sysroot provisioned over HTTP with the publisher's GPG key
 * (generated here) verifies every later pull. An unsigned commit, one signed by another key,
 * and one whose objects were changed on the server are refused by upgrade and deploy before
 * anything changes, naming remote, commit and what failed; `status` shows what is verified.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDirectory, type StaticServer } from '../fixtures/apt-repo.js';
import { cli, exists, fsckClean, sh } from '../fixtures/env.js';
import { deploymentState, findProcess, serveGated, startCli } from '../fixtures/faults.js';
import { minbaseArchiveCopy, minbaseRepo } from '../fixtures/minbase.js';
import { makeGpgKey, stopGpgAgent, type GpgKey } from '../fixtures/signing.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

/** libostree's global keyring directory (OSTREE_GPG_HOME overrides it; Debian's ostree reads this one). */
const SYSTEM_KEYRING_DIR = '/usr/share/ostree/trusted.gpg.d';

describe('verified pulls', () => {
  let tmp: string;
  let publisher: GpgKey;
  let attacker: GpgKey;
  let srv: string;
  let server: StaticServer;
  let ref: string;
  let base: string;
  let sysroot: string;

  /** A new commit on the server (the base plus a marker file), signed by `key` or not at all. */
  async function publish(version: string, key?: GpgKey): Promise<string> {
    const extra = join(tmp, `extra-${version}`);
    mkdirSync(join(extra, 'usr/share/apt-ostree-test'), { recursive: true });
    writeFileSync(join(extra, 'usr/share/apt-ostree-test/version'), `${version}\n`);
    const parent = (await sh('ostree', [`--repo=${srv}`, 'rev-parse', ref])).trim();
    const sign = key ? [`--gpg-sign=${key.fingerprint}`, `--gpg-homedir=${key.homedir}`] : [];
    return (await sh('ostree', [`--repo=${srv}`, 'commit', `--branch=${ref}`, `--parent=${parent}`, `--tree=ref=${base}`, `--tree=dir=${extra}`, `--add-metadata-string=version=${version}`, '--keep-metadata=aptostree.dpkg.pkglist', '--no-bindings', ...sign])).trim();
  }

  async function statusJson(root = sysroot): Promise<{ deployments: Array<Record<string, unknown>> }> {
    const r = await cli(['--sysroot', root, 'status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  }

  beforeAll(async () => {
    tmp = makeTemp('trust-');
    publisher = await makeGpgKey(tmp, 'publisher');
    attacker = await makeGpgKey(tmp, 'attacker');
    const cached = await minbaseRepo();
    ref = cached.ref;
    base = cached.checksum;
    srv = join(tmp, 'srv-repo');
    await minbaseArchiveCopy(srv, cached);
    // The image as published: its commit signed by the publisher's key.
    await sh('ostree', [`--repo=${srv}`, 'gpg-sign', `--gpg-homedir=${publisher.homedir}`, ref, publisher.fingerprint]);
    server = await serveDirectory(srv);
    sysroot = join(tmp, 'sysroot');
  });
  afterAll(async () => {
    await server?.close();
    for (const k of [publisher, attacker]) if (k) await stopGpgAgent(k);
    await removeTemp(tmp);
  });

  it('refuses to provision from a remote without a key, naming both ways out', async () => {
    const r = await cli(['--sysroot', sysroot, 'admin', 'provision', '--url', server.url, '--ref', ref]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/The remote origin \(http:\/\/127\.0\.0\.1:\d+\/\) has no key to verify its commits with/);
    expect(r.stderr).toMatch(/--gpg-import FILE, or pass --no-verify/);
    expect(exists(sysroot)).toBe(false);
  });

  it('refuses a key file that never ends or is not one (a FIFO, /dev/zero, a directory, over 1 MiB) before making anything', async () => {
    const fifo = join(tmp, 'keys.fifo');
    await sh('mkfifo', [fifo]);
    const big = join(tmp, 'big.asc');
    writeFileSync(big, readFileSync(publisher.publicKey, 'utf8').repeat(Math.ceil((1024 * 1024 + 1) / readFileSync(publisher.publicKey).length)));
    const cases: Array<[string, RegExp]> = [
      [fifo, /The key file .*keys\.fifo is a FIFO, not a regular file\./],
      ['/dev/zero', /The key file \/dev\/zero is a device, not a regular file\./],
      [tmp, /The key file .* is a directory, not a regular file\./],
      [big, /The key file .*big\.asc has \d+ bytes, more than the 1048576 a file of public keys has\./],
    ];
    for (const [file, message] of cases) {
      const target = join(tmp, 'never-made');
      const r = await cli(['--sysroot', target, 'admin', 'provision', '--url', server.url, '--ref', ref, '--gpg-import', file], { timeout: 60_000 });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/gpg --export --armor KEYID > FILE/);
      expect(exists(target)).toBe(false);
    }
  });

  it('SIGTERM while provision waits for a server that holds its request: every program stops, the new sysroot is removed', async () => {
    const gate = await serveGated(srv);
    const target = join(tmp, 'terminated');
    try {
      // The remote's summary is asked for after the key is imported (configureRemote), by a step
      // that does not watch the cancel signal.
      gate.hold(/^\/summary/);
      const run = startCli(['--sysroot', target, 'admin', 'provision', '--url', gate.url, '--ref', ref, '--gpg-import', publisher.publicKey]);
      await gate.waitForHeld();
      expect(exists(join(target, 'ostree', 'repo'))).toBe(true);
      const signalled = Date.now();
      run.signal('SIGTERM');
      const r = await run.result;
      expect(Date.now() - signalled).toBeLessThan(15_000);
      expect(r.code, r.stderr).toBe(143);
      expect(r.stderr).toMatch(/SIGTERM received: stopping and undoing the transaction/);
      expect(findProcess(new RegExp(`ostree .*--repo=${target}`))).toBeUndefined();
      expect(exists(target)).toBe(false);
    } finally {
      await gate.close();
    }
  });

  it('provisions with --gpg-import: the remote verifies, status shows the base verified by the key', async () => {
    const r = await cli(['--sysroot', sysroot, 'admin', 'provision', '--url', server.url, '--ref', ref, '--gpg-import', publisher.publicKey]);
    expect(r.code, r.stderr).toBe(0);
    const repo = join(sysroot, 'ostree', 'repo');
    expect(await sh('ostree', [`--repo=${repo}`, 'config', 'get', 'remote "origin".gpg-verify']).catch(() => 'true (default)')).toMatch(/true/);
    // This server publishes no summary (no compose publish): its commits are verified, not a summary.
    expect((await sh('ostree', [`--repo=${repo}`, 'config', 'get', 'remote "origin".gpg-verify-summary'])).trim()).toBe('false');
    const d = (await statusJson()).deployments[0]!;
    expect(d).toMatchObject({ checksum: base, 'gpg-enabled': true, verified: true, verification: 'gpg' });
    expect(d.signatures).toEqual([{ type: 'gpg', key: publisher.fingerprint, timestamp: expect.any(Number) }]);
    const text = await cli(['--sysroot', sysroot, 'status']);
    expect(text.stdout).toMatch(new RegExp(`Verified: yes \\(GPG key ${publisher.fingerprint}\\)`));
    // Again with the same key: nothing to do.
    const again = await cli(['--sysroot', sysroot, 'admin', 'provision', '--url', server.url, '--ref', ref, '--gpg-import', publisher.publicKey, '--unchanged-exit-77']);
    expect(again.code, again.stderr).toBe(77);
    // And without the key: the remote already has it.
    const noKey = await cli(['--sysroot', sysroot, 'admin', 'provision', '--url', server.url, '--ref', ref, '--unchanged-exit-77']);
    expect(noKey.code, noKey.stderr).toBe(77);
  });

  it('provision --gpg-verify: refused when no key the system trusts signed the commit, nothing made', async () => {
    const other = join(tmp, 'sysroot-system-keys');
    const r = await cli(['--sysroot', other, 'admin', 'provision', '--url', server.url, '--ref', ref, '--gpg-verify']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`Refused commit ${base} of origin:${ref}: it is signed, but by no key the remote trusts`));
    expect(exists(other)).toBe(false);
  });

  it('provision --gpg-verify: verifies with the keys in ostree\'s trusted.gpg.d, importing none', async () => {
    // Where a system keeps the keys ostree trusts for every remote (libostree's global keyring
    // directory); the image can ship its publisher's key there.
    const keyFile = join(SYSTEM_KEYRING_DIR, `apt-ostree-test-${process.pid}.gpg`);
    await sh('gpg', ['--batch', '--homedir', publisher.homedir, '--output', keyFile, '--export', publisher.fingerprint]);
    try {
      const other = join(tmp, 'sysroot-system-keys');
      const r = await cli(['--sysroot', other, 'admin', 'provision', '--url', server.url, '--ref', ref, '--gpg-verify']);
      expect(r.code, r.stderr).toBe(0);
      const repo = join(other, 'ostree', 'repo');
      expect(exists(join(repo, 'origin.trustedkeys.gpg'))).toBe(false);
      const d = (await statusJson(other)).deployments[0]!;
      expect(d).toMatchObject({ checksum: base, 'gpg-enabled': true, verified: true, verification: 'gpg' });
      expect(d.signatures).toEqual([{ type: 'gpg', key: publisher.fingerprint, timestamp: expect.any(Number) }]);
      // The same system keys refuse a commit the attacker signed.
      const c = await publish('1-attacker', attacker);
      try {
        const before = await deploymentState(other);
        const u = await cli(['--sysroot', other, 'upgrade']);
        expect(u.code).toBe(1);
        expect(u.stderr).toMatch(new RegExp(`Refused commit ${c} of origin:${ref}: it is signed, but by no key the remote trusts; nothing was changed\\.`));
        expect(await deploymentState(other)).toEqual(before);
      } finally {
        await sh('ostree', [`--repo=${srv}`, 'reset', ref, base]);
      }
    } finally {
      rmSync(keyFile, { force: true });
    }
  });

  it('refuses an unsigned commit before anything changes', async () => {
    const before = await deploymentState(sysroot);
    const c = await publish('2-unsigned');
    const r = await cli(['--sysroot', sysroot, 'upgrade']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`Refused commit ${c} of origin:${ref}: it is not signed; nothing was changed\\.`));
    expect(await deploymentState(sysroot)).toEqual(before);
    const d = await cli(['--sysroot', sysroot, 'deploy', c]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(new RegExp(`Refused commit ${c} of origin:${ref}: it is not signed`));
    expect(await deploymentState(sysroot)).toEqual(before);
  });

  it('refuses a commit signed by a key the remote does not trust', async () => {
    const before = await deploymentState(sysroot);
    const c = await publish('3-other-key', attacker);
    const r = await cli(['--sysroot', sysroot, 'upgrade', '--check']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`Refused commit ${c} of origin:${ref}: it is signed, but by no key the remote trusts; nothing was changed\\.`));
    const u = await cli(['--sysroot', sysroot, 'upgrade']);
    expect(u.code).toBe(1);
    expect(await deploymentState(sysroot)).toEqual(before);
  });

  it('refuses a signed commit whose content was changed on the server, then takes it once repaired', async () => {
    const before = await deploymentState(sysroot);
    const c = await publish('4-signed', publisher);
    // The marker file's object, changed in place on the server.
    const ls = await sh('ostree', [`--repo=${srv}`, 'ls', '-C', c, '/usr/share/apt-ostree-test/version']);
    const object = /([0-9a-f]{64}) \/usr/.exec(ls)![1]!;
    const path = join(srv, 'objects', object.slice(0, 2), `${object.slice(2)}.filez`);
    const good = readFileSync(path);
    const bad = Buffer.from(good);
    bad[bad.length - 3] ^= 0xff;
    chmodSync(path, 0o644);
    writeFileSync(path, bad);
    const r = await cli(['--sysroot', sysroot, 'upgrade']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`Refused (commit ${c}|the commit) of origin:${ref}: it does not match its checksum: the server's data was tampered with or damaged; nothing was changed\\.`));
    expect(await deploymentState(sysroot)).toEqual(before);
    await fsckClean(join(sysroot, 'ostree', 'repo'));
    writeFileSync(path, good);
    const ok = await cli(['--sysroot', sysroot, 'upgrade']);
    expect(ok.code, ok.stderr).toBe(0);
    const d = (await statusJson()).deployments[0]!;
    expect(d).toMatchObject({ checksum: c, version: '4-signed', verified: true });
    await fsckClean(join(sysroot, 'ostree', 'repo'));
  });

  it('refuses a signed commit bound to another ref that the server moved this ref to, by name and by checksum', async () => {
    // Another stream's newer image, signed by the same publisher and bound to its own ref, as
    // compose commits it; the server's ref of this stream moved to it (one small file). The
    // commits publish() makes carry no binding (--no-bindings), and the tests above take them.
    const current = (await sh('ostree', [`--repo=${srv}`, 'rev-parse', ref])).trim();
    const other = `${ref}-other`;
    const bound = (await sh('ostree', [`--repo=${srv}`, 'commit', `--branch=${other}`, `--parent=${current}`, `--tree=ref=${base}`, '--add-metadata-string=version=5-other-stream', '--keep-metadata=aptostree.dpkg.pkglist', `--gpg-sign=${publisher.fingerprint}`, `--gpg-homedir=${publisher.homedir}`])).trim();
    expect(await sh('ostree', [`--repo=${srv}`, 'show', '--print-metadata-key=ostree.ref-binding', bound])).toContain(`'${other}'`);
    const before = await deploymentState(sysroot);
    const statusBefore = await statusJson();
    const refused = (r: { code: number; stderr: string }) => {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`Refused commit ${bound} for origin:${ref}: it is bound to ${other} (ostree.ref-binding), not to ${ref}`);
      expect(r.stderr).toContain('nothing was deployed');
    };
    await sh('ostree', [`--repo=${srv}`, 'refs', '--force', `--create=${ref}`, bound]);
    try {
      refused(await cli(['--sysroot', sysroot, 'upgrade']));
      refused(await cli(['--sysroot', sysroot, 'upgrade', '--check']));
      const fresh = join(tmp, 'bound-elsewhere');
      refused(await cli(['--sysroot', fresh, 'admin', 'provision', '--url', server.url, '--ref', ref, '--gpg-import', publisher.publicKey]));
      expect(exists(fresh)).toBe(false);
    } finally {
      await sh('ostree', [`--repo=${srv}`, 'refs', '--force', `--create=${ref}`, current]);
    }
    expect(await deploymentState(sysroot)).toEqual(before);
    expect(await statusJson()).toEqual(statusBefore);
    // By checksum ostree checks no ref binding: apt-ostree does, after the pull and before any
    // deploy. (The server's ref at the base meanwhile: deploy walks the ref's history, which
    // holds the commit of another key published above.)
    await sh('ostree', [`--repo=${srv}`, 'refs', '--force', `--create=${ref}`, base]);
    try {
      refused(await cli(['--sysroot', sysroot, 'deploy', bound]));
    } finally {
      await sh('ostree', [`--repo=${srv}`, 'refs', '--force', `--create=${ref}`, current]);
    }
    expect(await deploymentState(sysroot)).toEqual(before);
    expect(await statusJson()).toEqual(statusBefore);
   }, 300_000);

  it('rebase to a new remote takes --url and --gpg-import, and refuses it without a key', async () => {
    // A second server, whose publisher is the "attacker" key's owner: trusted for that remote only.
    const srv2 = join(tmp, 'srv2-repo');
    await sh('ostree', [`--repo=${srv2}`, 'init', '--mode=archive']);
    await sh('ostree', [`--repo=${srv2}`, 'pull-local', srv, base]);
    await sh('ostree', [`--repo=${srv2}`, 'commit', '--branch=test/other', `--parent=${base}`, `--tree=ref=${base}`, '--add-metadata-string=version=other-1', '--keep-metadata=aptostree.dpkg.pkglist', '--no-bindings', `--gpg-sign=${attacker.fingerprint}`, `--gpg-homedir=${attacker.homedir}`]);
    const server2 = await serveDirectory(srv2);
    try {
      const config = readFileSync(join(sysroot, 'ostree/repo/config'), 'utf8');
      const before = await deploymentState(sysroot);
      const noUrl = await cli(['--sysroot', sysroot, 'rebase', 'other:test/other']);
      expect(noUrl.code).toBe(1);
      expect(noUrl.stderr).toMatch(/There is no remote other in .*--url URL --gpg-import FILE/s);
      const noKey = await cli(['--sysroot', sysroot, 'rebase', 'other:test/other', '--url', server2.url]);
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toMatch(/The remote other \(http:\/\/127\.0\.0\.1:\d+\/\) has no key to verify its commits with[\s\S]*--no-verify/);
      // The wrong key: the new remote is refused and taken out again.
      const wrong = await cli(['--sysroot', sysroot, 'rebase', 'other:test/other', '--url', server2.url, '--gpg-import', publisher.publicKey]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/Refused commit [0-9a-f]{64} of other:test\/other: it is signed, but by no key the remote trusts; nothing was changed\./);
      expect(readFileSync(join(sysroot, 'ostree/repo/config'), 'utf8')).toBe(config);
      expect(exists(join(sysroot, 'ostree/repo/other.trustedkeys.gpg'))).toBe(false);
      expect(await deploymentState(sysroot)).toEqual(before);
      const ok = await cli(['--sysroot', sysroot, 'rebase', 'other:test/other', '--url', server2.url, '--gpg-import', attacker.publicKey]);
      expect(ok.code, ok.stderr).toBe(0);
      const d = (await statusJson()).deployments[0]!;
      expect(d).toMatchObject({ origin: 'other:test/other', version: 'other-1', verified: true, signatures: [expect.objectContaining({ key: attacker.fingerprint })] });
    } finally {
      await server2.close();
    }
  });

  it('--no-verify is recorded and status says the base is not verified', async () => {
    const other = join(tmp, 'unverified');
    const r = await cli(['--sysroot', other, 'admin', 'provision', '--url', server.url, '--ref', ref, '--no-verify']);
    expect(r.code, r.stderr).toBe(0);
    const d = (await statusJson(other)).deployments[0]!;
    expect(d).toMatchObject({ 'gpg-enabled': false, verified: false, verification: 'none (--no-verify)' });
    expect((await cli(['--sysroot', other, 'status'])).stdout).toMatch(/Verified: no: --no-verify/);
  });
});
