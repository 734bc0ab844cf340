/**
 * Many clients, one server: eight sysroots provisioned with the publisher's key (generated
 * here) upgrade at the same time from one plain static file server (no OSTree code on the
 * server side) and land the same verified commit, fsck-clean. Then the server's files are
 * tampered with, once by changing one object's bytes, once by re-signing the new commit with
 * another key, once by signing the summary with another key: every client refuses, and
 * nothing changes on any of them.
 */
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDirectory, type StaticServer } from '../fixtures/apt-repo.js';
import { cli, hostOstreePullsDeltasAlone, sh } from '../fixtures/env.js';
import { deploymentState, fsckProblems, type DeploymentState } from '../fixtures/faults.js';
import { makeGpgKey, stopGpgAgent, writePlainTree, type GpgKey } from '../fixtures/signing.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const REF = 'test/fleet';
const CLIENTS = 8;

describe('a fleet of clients and one static file server', () => {
  let tmp: string;
  let key: GpgKey;
  let intruder: GpgKey;
  let repo: string;
  let rootfs: string;
  let server: StaticServer;
  let sysroots: string[];

  async function compose(version: string, signer: GpgKey): Promise<string> {
    writeFileSync(join(rootfs, 'usr/bin/marker'), `${version}\n`);
    const r = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', REF, '--version', version, '--gpg-sign', signer.fingerprint, '--gpg-homedir', signer.homedir]);
    if (r.code !== 0) throw new Error(r.stderr);
    return (await sh('ostree', [`--repo=${repo}`, 'rev-parse', REF])).trim();
  }
  async function publish(...more: string[]): Promise<void> {
    const r = await cli(['compose', 'publish', '--repo', repo, '--gpg-sign', key.fingerprint, '--gpg-homedir', key.homedir, ...more]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
  const upgradeAll = () => Promise.all(sysroots.map((s) => cli(['--sysroot', s, 'upgrade'])));
  const statesOfAll = () => Promise.all(sysroots.map((s) => deploymentState(s)));
  async function statusOf(sysroot: string): Promise<Record<string, unknown>> {
    return JSON.parse((await cli(['--sysroot', sysroot, 'status', '--json'])).stdout).deployments[0];
  }

  beforeAll(async () => {
    tmp = makeTemp('fleet-');
    key = await makeGpgKey(tmp, 'publisher');
    intruder = await makeGpgKey(tmp, 'intruder');
    repo = join(tmp, 'repo');
    rootfs = join(tmp, 'rootfs');
    writePlainTree(rootfs, '1');
    await compose('1', key);
    await publish('--deltas', '1');
    server = await serveDirectory(repo);
    sysroots = Array.from({ length: CLIENTS }, (_, i) => join(tmp, `client-${i}`));
    const provisioned = await Promise.all(sysroots.map((s) => cli(['--sysroot', s, 'admin', 'provision', '--url', server.url, '--ref', REF, '--gpg-import', key.publicKey])));
    for (const r of provisioned) if (r.code !== 0) throw new Error(r.stderr);
  });
  afterAll(async () => {
    await server?.close();
    for (const k of [key, intruder]) if (k) await stopGpgAgent(k);
    await removeTemp(tmp);
  });

  it(`${CLIENTS} clients upgrade at once and land the same verified commit, fsck-clean, asking for the delta only where their ostree pulls deltas alone`, async () => {
    const c2 = await compose('2', key);
    await publish('--deltas', '1');
    server.requests.length = 0;
    const results = await upgradeAll();
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    // The delta 1 -> 2 is used where the host's ostree pulls deltas alone; before 2023.7 (Debian
    // 12's 2022.7) it would fetch the changed objects as well, and the clients ask for objects only.
    const deltaRequests = server.requests.filter((p) => p.startsWith('/deltas/'));
    if (await hostOstreePullsDeltasAlone()) expect(deltaRequests.length).toBeGreaterThanOrEqual(CLIENTS);
    else expect(deltaRequests).toEqual([]);
    for (const s of sysroots) {
      expect(await statusOf(s)).toMatchObject({ checksum: c2, version: '2', verified: true, 'gpg-enabled': true, signatures: [expect.objectContaining({ key: key.fingerprint })] });
      expect(await fsckProblems(join(s, 'ostree', 'repo'))).toBe('');
    }
  });

  it('every client refuses a commit one of whose objects was changed on the server, and nothing changes', async () => {
    const before: DeploymentState[] = await statesOfAll();
    // No delta to this one: the clients fetch its objects, one of which is changed.
    const c3 = await compose('3', key);
    await publish('--deltas', '0');
    const ls = await sh('ostree', [`--repo=${repo}`, 'ls', '-C', c3, '/usr/bin/marker']);
    const object = /([0-9a-f]{64}) \/usr\/bin\/marker/.exec(ls)![1]!;
    const path = join(repo, 'objects', object.slice(0, 2), `${object.slice(2)}.filez`);
    const good = readFileSync(path);
    const bad = Buffer.from(good);
    bad[bad.length - 3] ^= 0xff;
    chmodSync(path, 0o644);
    writeFileSync(path, bad);
    try {
      const results = await upgradeAll();
      for (const r of results) {
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`Refused (commit ${c3}|the commit) of origin:${REF}: it does not match its checksum`));
      }
      expect(await statesOfAll()).toEqual(before);
      for (const s of sysroots) expect(await fsckProblems(join(s, 'ostree', 'repo'))).toBe('');
    } finally {
      writeFileSync(path, good);
    }
  });

  it('every client refuses a new commit re-signed with another key, and nothing changes', async () => {
    const before = await statesOfAll();
    // (The commit of the previous test is no use here: the clients fetched it, with its good
    // signature, before its content failed; ostree keeps what it verified.)
    const c4 = await compose('4', key);
    // Its signature replaced (ostree gpg-sign --delete finds no signature to delete in 2022.7: the file goes).
    rmSync(join(repo, 'objects', c4.slice(0, 2), `${c4.slice(2)}.commitmeta`));
    await sh('ostree', [`--repo=${repo}`, 'gpg-sign', `--gpg-homedir=${intruder.homedir}`, c4, intruder.fingerprint]);
    await publish('--deltas', '1');
    const results = await upgradeAll();
    for (const r of results) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`Refused commit ${c4} of origin:${REF}: it is signed, but by no key the remote trusts; nothing was changed\\.`));
    }
    expect(await statesOfAll()).toEqual(before);
    for (const s of sysroots) expect(await fsckProblems(join(s, 'ostree', 'repo'))).toBe('');
  });

  it('every client refuses a summary signed with another key (they verify the summary: the server signs it)', async () => {
    const before = await statesOfAll();
    await sh('ostree', [`--repo=${repo}`, 'summary', '--update', `--gpg-sign=${intruder.fingerprint}`, `--gpg-homedir=${intruder.homedir}`]);
    const results = await upgradeAll();
    for (const r of results) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Refused the summary of origin: it is signed, but by no key the remote trusts; nothing was changed\./);
    }
    expect(await statesOfAll()).toEqual(before);
  });
});
