/**
 * A server that stalls in the middle of an object: it sends the headers and part of the body,
 * then nothing, with the connection open. ostree before 2023.7 (Debian 12 has 2022.7) waits for
 * ever there; apt-ostree stops the pull after [Daemon] DownloadTimeout seconds without progress,
 * fails the transaction naming the server and the timeout, and releases the lock.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, fsckClean, sh } from '../fixtures/env.js';
import { findProcess, leftovers, NOTHING_LEFT } from '../fixtures/faults.js';
import { minbaseArchiveCopy, minbaseRepo } from '../fixtures/minbase.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

/** Objects larger than this stall while `stalling` is set: the first 4 KiB, then nothing. */
const STALL_ABOVE = 64 * 1024;

describe('a server that stalls mid-object', () => {
  let tmp: string;
  let srv: string;
  let server: Server;
  let url: string;
  let sysroot: string;
  let stalling = false;
  const stalled: string[] = [];

  beforeAll(async () => {
    tmp = makeTemp('faults-stall-');
    const cached = await minbaseRepo();
    srv = join(tmp, 'srv-repo');
    await minbaseArchiveCopy(srv, cached);
    server = createServer((req, res) => {
      const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, '');
      const file = join(srv, path);
      res.on('error', () => undefined);
      let size: number;
      try {
        const st = statSync(file);
        if (!st.isFile()) throw new Error('not a file');
        size = st.size;
      } catch {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': size });
      if (stalling && path.endsWith('.filez') && size > STALL_ABOVE) {
        stalled.push(path);
        res.write(readFileSync(file).subarray(0, 4096));
        return; // and nothing more, the connection left open
      }
      res.end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    sysroot = join(tmp, 'sysroot');
    const r = await cli(['admin', 'provision', '--no-verify', '--sysroot', sysroot, '--url', url, '--ref', cached.ref, '--os', 'debian']);
    if (r.code !== 0) throw new Error(r.stderr);
    // A new commit with one large object the sysroot does not have (random: it does not compress).
    const extra = join(tmp, 'extra');
    mkdirSync(join(extra, 'usr/share/apt-ostree-test'), { recursive: true });
    writeFileSync(join(extra, 'usr/share/apt-ostree-test/blob'), randomBytes(512 * 1024));
    await sh('ostree', [`--repo=${srv}`, 'commit', `--branch=${cached.ref}`, `--parent=${cached.checksum}`, `--tree=ref=${cached.checksum}`, `--tree=dir=${extra}`, '--add-metadata-string=version=12.1', '--keep-metadata=aptostree.dpkg.pkglist', '--no-bindings']);
    const etc = join(sysroot, 'ostree', 'deploy', 'debian', 'deploy');
    const dep = (await sh('sh', ['-c', `ls -d ${etc}/*.0 | head -1`])).trim();
    mkdirSync(join(dep, 'etc', 'apt-ostree'), { recursive: true });
    writeFileSync(join(dep, 'etc', 'apt-ostree', 'apt-ostree.conf'), '[Daemon]\nDownloadTimeout=3\n');
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await removeTemp(tmp);
  });

  it('stops the pull after DownloadTimeout seconds without data, names the server, and frees the lock', async () => {
    stalling = true;
    const started = Date.now();
    const r = await cli(['--sysroot', sysroot, 'upgrade'], { timeout: 120_000 });
    const seconds = (Date.now() - started) / 1000;
    expect(stalled.length, r.stderr).toBeGreaterThan(0);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`The pull from the remote origin (${url}) received no data for 3 seconds and was stopped ([Daemon] DownloadTimeout).`);
    expect(seconds).toBeLessThan(3 + 30);
    expect(findProcess(new RegExp(`ostree .*--repo=${sysroot}`))).toBeUndefined();
    expect(await leftovers(sysroot)).toEqual(NOTHING_LEFT);
    const st = JSON.parse((await cli(['--sysroot', sysroot, 'status', '--json'])).stdout);
    expect(st.deployments.map((d: { version: string }) => d.version)).toEqual(['12.0']);
    expect(st.transaction).toBeNull();
  });

  it('the next upgrade, from a server that answers again, goes through', async () => {
    stalling = false;
    const r = await cli(['--sysroot', sysroot, 'upgrade']);
    expect(r.code, r.stderr).toBe(0);
    const st = JSON.parse((await cli(['--sysroot', sysroot, 'status', '--json'])).stdout);
    expect(st.deployments.map((d: { version: string }) => d.version)).toEqual(['12.1', '12.0']);
    await fsckClean(join(sysroot, 'ostree', 'repo'));
  });
});
