// Commit signatures and remote trust read without ostree, checked against what gpg and ostree wrote
// (needs gpg and ostree, hence an integration test).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePgpSignature, readCommitSignatures, remoteTrust } from '../../../src/ostree/signatures.js';

let dir: string;
let home: string;
let fingerprint: string;
let repo: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'signatures-'));
  home = join(dir, 'gnupg');
  mkdirSync(home);
  chmodSync(home, 0o700);
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'unit <unit@example.org>', 'ed25519', 'sign', 'never'], { env, stdio: 'ignore' });
  fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(execFileSync('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env, encoding: 'utf8' }))![1]!;
  writeFileSync(join(dir, 'pub.asc'), execFileSync('gpg', ['--batch', '--armor', '--export', fingerprint], { env }));
  repo = join(dir, 'repo');
  mkdirSync(join(dir, 'tree'));
  writeFileSync(join(dir, 'tree', 'f'), 'x\n');
  execFileSync('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
});
afterAll(() => {
  execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home } });
  rmSync(dir, { recursive: true, force: true });
});

describe('commit signatures', () => {
  it('reads the issuer fingerprint and time of the GPG signature ostree wrote', () => {
    const before = Math.floor(Date.now() / 1000);
    const c = execFileSync('ostree', [`--repo=${repo}`, 'commit', '--branch=a', `--tree=dir=${join(dir, 'tree')}`, `--gpg-sign=${fingerprint}`, `--gpg-homedir=${home}`], { encoding: 'utf8' }).trim();
    const sigs = readCommitSignatures(repo, c);
    expect(sigs).toEqual([{ type: 'gpg', key: fingerprint, timestamp: expect.any(Number) }]);
    expect(sigs[0]!.timestamp!).toBeGreaterThanOrEqual(before - 1);
  });

  it('gives none for an unsigned commit, and {} for bytes that are not a signature', () => {
    const c = execFileSync('ostree', [`--repo=${repo}`, 'commit', '--branch=b', `--tree=dir=${join(dir, 'tree')}`], { encoding: 'utf8' }).trim();
    expect(readCommitSignatures(repo, c)).toEqual([]);
    expect(parsePgpSignature(new Uint8Array([1, 2, 3]))).toEqual({});
    expect(parsePgpSignature(new Uint8Array([]))).toEqual({});
  });

  it('reads a detached gpg signature in the old packet format (gpg --detach-sign) too', () => {
    const file = join(dir, 'data');
    writeFileSync(file, 'data\n');
    execFileSync('gpg', ['--batch', '--homedir', home, '--detach-sign', '-o', `${file}.sig`, file], { stdio: 'ignore' });
    const sig = execFileSync('cat', [`${file}.sig`]);
    expect(parsePgpSignature(sig).key).toBe(fingerprint);
  });
});

describe('remote trust', () => {
  it('follows ostree\'s defaults and what --gpg-import and --no-gpg-verify write', () => {
    const client = join(dir, 'client');
    execFileSync('ostree', [`--repo=${client}`, 'init', '--mode=bare-user']);
    execFileSync('ostree', [`--repo=${client}`, 'remote', 'add', `--gpg-import=${join(dir, 'pub.asc')}`, 'signed', `file://${repo}`], { stdio: 'ignore' });
    execFileSync('ostree', [`--repo=${client}`, 'remote', 'add', '--no-gpg-verify', '--set=xa.apt-ostree-no-verify=true', 'open', `file://${repo}`]);
    expect(remoteTrust(client, 'signed')).toEqual({ exists: true, url: `file://${repo}`, gpgVerify: true, gpgVerifySummary: false, signVerify: false, hasOwnGpgKeys: true, noVerifyRecorded: false });
    expect(remoteTrust(client, 'open')).toMatchObject({ exists: true, gpgVerify: false, hasOwnGpgKeys: false, noVerifyRecorded: true });
    expect(remoteTrust(client, 'none')).toMatchObject({ exists: false, gpgVerify: false });
  });
});
