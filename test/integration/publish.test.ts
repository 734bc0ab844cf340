/**
 * `compose publish`: an archive repository made ready for a plain static web server. Deltas to
 * each ref's newest commit, a summary signed with a key generated here, pruning beyond --keep,
 * nothing changed by a second run; ostree pulls through a delta, and a client provisioned over
 * HTTP with the key upgrades (through the delta where the host's ostree pulls deltas alone, by
 * objects before 2023.7) and lands the newest commit, verified.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDirectory, type StaticServer } from '../fixtures/apt-repo.js';
import { cli, exists, fsckClean, hostOstreePullsDeltasAlone, sh } from '../fixtures/env.js';
import { processAlive, startCli } from '../fixtures/faults.js';
import { makeGpgKey, stopGpgAgent, writePlainTree, type GpgKey } from '../fixtures/signing.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const REF = 'test/published';

describe('compose publish', () => {
  let tmp: string;
  let key: GpgKey;
  let repo: string;
  let rootfs: string;
  const commits: string[] = [];
  let server: StaticServer;

  async function composeVersion(n: number): Promise<string> {
    writeFileSync(join(rootfs, 'usr/bin/marker'), `${n}\n`);
    const r = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', REF, '--version', String(n), '--gpg-sign', key.fingerprint, '--gpg-homedir', key.homedir]);
    if (r.code !== 0) throw new Error(r.stderr);
    const c = (await sh('ostree', [`--repo=${repo}`, 'rev-parse', REF])).trim();
    commits.push(c);
    return c;
  }
  const publishArgs = (...more: string[]) => ['compose', 'publish', '--repo', repo, '--gpg-sign', key.fingerprint, '--gpg-homedir', key.homedir, ...more];
  const deltas = async () => (await sh('ostree', [`--repo=${repo}`, 'static-delta', 'list'])).split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]/.test(l)).sort();
  const hasCommit = (c: string) => exists(join(repo, 'objects', c.slice(0, 2), `${c.slice(2)}.commit`));
  /** Every file of the repository with its modification time (what a second run must not touch). */
  function snapshot(): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, n.name);
        if (n.isDirectory()) walk(p);
        else out.push(`${p} ${statSync(p).mtimeMs}`);
      }
    };
    walk(repo);
    return out.sort();
  }

  beforeAll(async () => {
    tmp = makeTemp('publish-');
    key = await makeGpgKey(tmp, 'publisher');
    repo = join(tmp, 'repo');
    rootfs = join(tmp, 'rootfs');
    writePlainTree(rootfs, '0');
    for (let n = 1; n <= 3; n++) await composeVersion(n);
    server = await serveDirectory(repo);
  });
  afterAll(async () => {
    await server?.close();
    if (key) await stopGpgAgent(key);
    await removeTemp(tmp);
  });

  it('refuses bad arguments before any work', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['compose', 'publish'], /needs --repo/],
      [['compose', 'publish', '--repo', join(tmp, 'nothing')], /is not an OSTree repository/],
      [publishArgs('--deltas=-1'), /--deltas -1 is not a number of commits/],
      [publishArgs('--keep', '0'), /--keep 0 is not a number of commits of at least 1/],
      [publishArgs('--keep', '2', '--deltas', '2'), /--deltas 2 needs more commits than --keep 2 leaves/],
      [['compose', 'publish', '--repo', repo, '--gpg-sign', 'DEADBEEFDEADBEEF', '--gpg-homedir', key.homedir], /no secret key DEADBEEFDEADBEEF/],
    ];
    const before = snapshot();
    for (const [args, re] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
    expect(snapshot()).toEqual(before);
  });

  it('makes deltas from the previous commits and a signed summary', async () => {
    const r = await cli(publishArgs('--deltas', '2', '--from-scratch'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/made 3 static deltas, wrote the summary \(signed\)/);
    const [c1, c2, c3] = commits;
    expect(await deltas()).toEqual([`${c1}-${c3}`, `${c2}-${c3}`, c3!].sort());
    expect(exists(join(repo, 'summary.sig'))).toBe(true);
    const view = await sh('ostree', [`--repo=${repo}`, 'summary', '--view']);
    expect(view).toContain(`* ${REF}`);
    expect(view).toContain(c3!);
    expect(view).toMatch(new RegExp(`${c2}-${c3}`));
  });

  it('changes nothing when run again (exit 77 with --unchanged-exit-77)', async () => {
    const before = snapshot();
    const r = await cli(publishArgs('--deltas', '2', '--from-scratch', '--unchanged-exit-77'));
    expect(r.code, r.stderr).toBe(77);
    // One line, the refs on stdout before it (a newline inside the message was shown as \x0a).
    expect(r.stdout).toMatch(/^Nothing to publish: the summary, deltas and pruning of .* are up to date\.$/m);
    expect(r.stdout + r.stderr).not.toContain('\\x0a');
    expect(r.stdout).toContain(`${REF} => ${commits[2]}`);
    expect(snapshot()).toEqual(before);
    const r0 = await cli(publishArgs('--deltas', '2', '--from-scratch'));
    expect(r0.code, r0.stderr).toBe(0);
    expect(snapshot()).toEqual(before);
  });

  it('a client verifies the signed summary and upgrades, through the delta where its ostree pulls deltas alone', async () => {
    const sysroot = join(tmp, 'client');
    const p = await cli(['--sysroot', sysroot, 'admin', 'provision', '--url', server.url, '--ref', REF, '--gpg-import', key.publicKey]);
    expect(p.code, p.stderr).toBe(0);
    const clientRepo = join(sysroot, 'ostree', 'repo');
    // The server signs its summary: provisioning made the remote verify it, and it checks out.
    expect(p.stderr + p.stdout).toMatch(/the remote origin verifies the signed summary/);
    expect((await sh('ostree', [`--repo=${clientRepo}`, 'config', 'get', 'remote "origin".gpg-verify-summary'])).trim()).toBe('true');
    expect(await sh('ostree', [`--repo=${clientRepo}`, 'remote', 'refs', 'origin'])).toContain(`origin:${REF}`);
    const c4 = await composeVersion(4);
    const pub = await cli(publishArgs('--deltas', '2', '--keep', '3'));
    expect(pub.code, pub.stderr).toBe(0);
    expect(pub.stdout).toMatch(/pruned 1 commit, made 2 static deltas, wrote the summary \(signed\)/);
    expect(hasCommit(commits[0]!)).toBe(false);
    expect(await deltas()).toEqual(expect.arrayContaining([`${commits[1]}-${c4}`, `${commits[2]}-${c4}`]));
    await fsckClean(repo);
    // A client at the previous commit fetches the new one as a delta (ostree says so).
    const probe = join(tmp, 'probe-repo');
    await sh('ostree', [`--repo=${probe}`, 'init', '--mode=bare-user']);
    await sh('ostree', [`--repo=${probe}`, 'remote', 'add', `--gpg-import=${key.publicKey}`, 'origin', server.url]);
    await sh('ostree', [`--repo=${probe}`, 'pull', 'origin', commits[2]!]);
    const pull = await execa('ostree', [`--repo=${probe}`, 'pull', 'origin', REF], { reject: false });
    expect(pull.exitCode, pull.stderr).toBe(0);
    expect(pull.stdout).toMatch(/[1-9]\d* delta parts/);
    server.requests.length = 0;
    const u = await cli(['--sysroot', sysroot, 'upgrade']);
    expect(u.code, u.stderr).toBe(0);
    const deltaRequests = server.requests.filter((p) => p.startsWith('/deltas/'));
    // upgrade says how much it downloaded, as ostree reports it.
    if (await hostOstreePullsDeltasAlone()) {
      expect(deltaRequests).not.toEqual([]);
      expect(u.stdout).toMatch(/^Downloaded: [1-9]\d* delta parts.*; \d+ (bytes|KiB|MiB) transferred in \d+ seconds?$/m);
    } else {
      // This ostree (Debian 12's 2022.7) would fetch the delta and most of the objects loose
      // as well (ostree #2053): apt-ostree pulls the objects only, and never asks for a delta.
      expect(deltaRequests).toEqual([]);
      expect(server.requests).toEqual(expect.arrayContaining([expect.stringMatching(/^\/objects\/[0-9a-f]{2}\/[0-9a-f]{62}\.filez$/)]));
      expect(u.stdout).toMatch(/^Downloaded: \d+ metadata, [1-9]\d* content objects fetched; \d+ (bytes|KiB|MiB) transferred in \d+ seconds?$/m);
    }
    const st = JSON.parse((await cli(['--sysroot', sysroot, 'status', '--json'])).stdout);
    expect(st.deployments[0]).toMatchObject({ checksum: c4, verified: true, version: '4' });
    await fsckClean(clientRepo);
  });

  it('--keep 1 prunes all but the newest commit; the deltas to pruned commits go with them', async () => {
    const r = await cli(publishArgs('--deltas', '0', '--keep', '1'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pruned 2 commits, wrote the summary \(signed\)/);
    const c4 = commits[3]!;
    // The deltas to the newest stay: a client at a pruned commit still has it, and upgrades through them.
    expect(await deltas()).toEqual([`${commits[1]}-${c4}`, `${commits[2]}-${c4}`].sort());
    await fsckClean(repo);
  });
});

describe('compose publish, two at once on one repository', () => {
  let tmp: string;
  let repo: string;
  beforeAll(async () => {
    tmp = makeTemp('publish-lock-');
    repo = join(tmp, 'repo');
    const rootfs = join(tmp, 'rootfs');
    writePlainTree(rootfs, '0');
    mkdirSync(join(rootfs, 'usr/share/blob'), { recursive: true });
    // Incompressible content: the delta from scratch takes seconds to make (lzma).
    for (let n = 1; n <= 3; n++) {
      writeFileSync(join(rootfs, 'usr/share/blob/data'), randomBytes(2 * 1024 ** 2));
      const r = await cli(['compose', 'commit', rootfs, '--repo', repo, '--ref', REF, '--version', String(n)]);
      if (r.code !== 0) throw new Error(r.stderr);
    }
  });
  afterAll(async () => {
    await removeTemp(tmp);
  });

  it('the second is refused naming the first, or waits for it with --lock-wait; the repository stays whole', async () => {
    // The first makes a delta to the newest commit; the waiting one prunes the older commits meanwhile, unless it waits.
    const first = startCli(['compose', 'publish', '--repo', repo, '--deltas', '0', '--from-scratch']);
    await first.waitForOutput(/Making the static delta/);
    expect(processAlive(first.pid)).toBe(true);
    const refused = await cli(['compose', 'publish', '--repo', repo, '--keep', '1', '--deltas', '0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`The repository ${repo} is locked by 'apt-ostree compose publish --repo ${repo} --deltas 0 --from-scratch' \\(pid ${first.pid}, since `));
    expect(refused.stderr).toMatch(/--lock-wait/);
    const waiting = startCli(['compose', 'publish', '--repo', repo, '--keep', '1', '--deltas', '0', '--lock-wait']);
    await waiting.waitForOutput(/waiting for 'apt-ostree compose publish .*' \(pid \d+, since .*\) to release the repository/);
    const a = await first.result;
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/made 1 static delta, wrote the summary/);
    const b = await waiting.result;
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/pruned 2 commits/);
    await fsckClean(repo);
    // Nothing of the lock is left but its (empty) flock file.
    expect(readdirSync(repo).filter((n) => n.startsWith('.apt-ostree'))).toEqual(['.apt-ostree-publish.lock']);
  }, 300_000);
});
