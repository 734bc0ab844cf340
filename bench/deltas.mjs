// Cheap upgrades: a client upgrades from a published, signed repository served by a plain static
// file server on 127.0.0.1 (bench/serve.mjs, no OSTree code on the server side), on the tests'
// minbase (~180 MB) where a few packages were upgraded between the two versions. Side by side in
// one run: apt-ostree's upgrade from the repository with the static delta that `apt-ostree
// compose publish --deltas 1` made (apt-ostree uses it only where the host's ostree is 2023.7 or
// later; an older one pulls objects, ostree #2053), the same upgrade from a copy of the repository
// published without deltas (ostree fetches each changed object), and the raw size of the changed
// files, the floor (what a naive rsync of the changed files would move; gzip'd too, as `rsync -z`
// would). Bytes are counted by the server; apt-ostree's own account of the download
// ("Downloaded: …") is printed beside them. Plain `ostree pull` with and without deltas (from the
// same server) isolates the transfer from the deployment that every upgrade writes, and shows what
// the delta itself costs with this ostree; BENCH_OSTREE_ROOT adds the same pulls by another
// (newer) ostree. No goal: the ratios say what deltas save.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { median } from './lib.mjs';
import { BIN, CACHE, composeBase, minbaseTarball, removeScratch, scratchDir, sh } from './setup.mjs';

const runs = Number(process.env.RUNS ?? 3);
const REF = 'debian/bench';
const MIRROR = 'http://deb.debian.org/debian';
/**
 * @typedef {Awaited<ReturnType<typeof serveCounting>>} CountingServer
 * @typedef {{ ms: number[], bytes: number[], files: number[], said?: string }} Row
 */
/**
 * The change between the two versions: four packages of minbase at their Debian 13 (trixie)
 * versions, a major upgrade (new upstream releases, rebuilt binaries: the hard case for binary
 * deltas). BENCH_UPGRADE_DEBS=a.deb,b.deb chooses other .debs.
 */
const UPGRADES = ['c/coreutils/coreutils_9.7-3_amd64.deb', 'g/grep/grep_3.11-4_amd64.deb', 't/tar/tar_1.35+dfsg-3.1_amd64.deb', 'f/findutils/findutils_4.10.0-3_amd64.deb'];

/** @returns {Promise<string[]>} */
async function upgradeDebs() {
  if (process.env.BENCH_UPGRADE_DEBS) return process.env.BENCH_UPGRADE_DEBS.split(',').map((p) => p.trim()).filter(Boolean);
  const out = [];
  for (const pool of UPGRADES) {
    const path = join(CACHE, 'bench-debs', /** @type {string} */ (pool.split('/').pop())); // split returns one part at least
    if (!existsSync(path)) {
      mkdirSync(join(CACHE, 'bench-debs'), { recursive: true });
      const res = await fetch(`${MIRROR}/pool/main/${pool}`);
      if (!res.ok) throw new Error(`downloading ${pool} from ${MIRROR}: HTTP ${res.status} (set BENCH_UPGRADE_DEBS to .debs of your own)`);
      writeFileSync(`${path}.partial`, Buffer.from(await res.arrayBuffer()));
      renameSync(`${path}.partial`, path);
    }
    out.push(path);
  }
  return out;
}

/**
 * The files of the .debs, laid out as the image holds them (/etc in /usr/etc; /usr only).
 * @param {string[]} debs
 * @param {string} dir
 */
function overlayOf(debs, dir) {
  const raw = join(dir, 'raw');
  mkdirSync(raw, { recursive: true });
  for (const d of debs) sh('dpkg-deb', ['-x', d, raw]);
  const overlay = join(dir, 'overlay');
  mkdirSync(overlay);
  if (existsSync(join(raw, 'usr'))) renameSync(join(raw, 'usr'), join(overlay, 'usr'));
  if (existsSync(join(raw, 'etc'))) renameSync(join(raw, 'etc'), join(overlay, 'usr', 'etc'));
  const dropped = readdirSync(raw);
  if (dropped.length) console.log(`  (left out of the overlay, outside /usr and /etc: ${dropped.join(', ')})`);
  return overlay;
}

/** @param {string} dir */
function gpgKey(dir) {
  const home = join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const env = { GNUPGHOME: home };
  sh('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'bench <bench@example.org>', 'ed25519', 'sign', 'never'], { env });
  // gpg made the key just above: its listing has the fingerprint.
  const fpr = /** @type {RegExpExecArray} */ (/^fpr:+([0-9A-F]{40}):/m.exec(sh('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env })))[1];
  const pub = join(dir, 'publisher.asc');
  writeFileSync(pub, sh('gpg', ['--batch', '--armor', '--export', fpr], { env }));
  return { home, fpr, pub, stop: () => spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, ...env } }) };
}

/**
 * bench/serve.mjs --log on DIR: its URL, and the bytes it served since the last take().
 * @param {string} dir
 */
async function serveCounting(dir) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'serve.mjs'), dir, '--log'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let bytes = 0;
  let files = 0;
  let rest = '';
  /** @type {(url: string) => void} */
  let resolveUrl;
  /** @type {Promise<string>} */
  const url = new Promise((r) => (resolveUrl = r));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (/** @type {string} */ d) => {
    const lines = (rest + d).split('\n');
    rest = /** @type {string} */ (lines.pop()); // split returns one part at least
    for (const l of lines) {
      if (l.startsWith('http')) resolveUrl(l.trim());
      else if (l) {
        bytes += Number(l.split(' ')[0]);
        files++;
      }
    }
  });
  const settle = () => new Promise((r) => setTimeout(r, 100)); // the last lines of the log
  return {
    url: await url,
    async take() {
      await settle();
      const r = { bytes, files };
      bytes = 0;
      files = 0;
      return r;
    },
    close: () => child.kill('SIGTERM'),
  };
}

/**
 * Regular files of a commit, path → size (`ostree ls -R`).
 * @param {string} repo
 * @param {string} rev
 */
function fileSizes(repo, rev) {
  /** @type {Map<string, number>} */
  const sizes = new Map();
  for (const line of sh('ostree', [`--repo=${repo}`, 'ls', '-R', rev]).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0]?.startsWith('-')) sizes.set(f.slice(4).join(' '), Number(f[3]));
  }
  return sizes;
}

/**
 * Files of v2 that are new or differ from v1 (`ostree diff`), with their raw and gzip'd sizes.
 * @param {string} repo
 * @param {string} v1
 * @param {string} v2
 * @param {string} overlay
 */
function changedFiles(repo, v1, v2, overlay) {
  const sizes = fileSizes(repo, v2);
  let raw = 0;
  let gz = 0;
  let count = 0;
  for (const line of sh('ostree', [`--repo=${repo}`, 'diff', v1, v2]).split('\n')) {
    const m = /^([MA])\s+(\S.*)$/.exec(line);
    if (!m || !sizes.has(m[2])) continue; // directories, symlinks
    count++;
    raw += /** @type {number} */ (sizes.get(m[2])); // has() said so above
    const local = join(overlay, m[2]);
    gz += gzipSync(readFileSync(local), { level: 6 }).length;
  }
  return { count, raw, gz };
}

/**
 * BENCH_OSTREE_ROOT: a root filesystem with another ostree (a newer one: e.g. a Debian 13 tree,
 * `mmdebstrap --variant=apt --include=ostree trixie DIR`), whose /usr/bin/ostree pulls the same
 * upgrade into a scratch repository at version 1, run in bwrap (its /usr, this machine's
 * loopback network). Returns its version, the argv to run it, and the reset to version 1.
 * @param {string} dir
 * @param {string} srv
 * @param {string} v1
 */
function otherOstree(dir, srv, v1) {
  const root = process.env.BENCH_OSTREE_ROOT;
  if (!root) return undefined;
  const repo = join(dir, 'client-other');
  sh('ostree', [`--repo=${repo}`, 'init', '--mode=bare']);
  sh('ostree', [`--repo=${repo}`, 'pull-local', srv, v1]);
  sh('ostree', [`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', 'o', 'http://127.0.0.1/']);
  const setRef = () => {
    mkdirSync(join(repo, 'refs/remotes/o', REF, '..'), { recursive: true });
    writeFileSync(join(repo, 'refs/remotes/o', REF), `${v1}\n`); // where an upgrade starts: the delta's from
  };
  setRef();
  const sandbox = ['--bind', join(root, 'usr'), '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64',
    '--symlink', 'usr/sbin', '/sbin', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--bind', repo, repo, '--die-with-parent', '/usr/bin/ostree'];
  /** @param {string[]} commandLine */
  const argv = ([command, ...args]) => [...sandbox, command, `--repo=${repo}`, ...args];
  const version = /Version: '([^']+)'/.exec(sh('bwrap', [...sandbox, '--version']))?.[1] ?? 'other';
  return {
    version,
    argv,
    /** @param {string} v2 */
    reset(v2) {
      if (sh('ostree', [`--repo=${repo}`, 'rev-parse', `o:${REF}`]).trim() !== v2) throw new Error(`ostree ${version} did not get version 2`);
      setRef();
      sh('ostree', [`--repo=${repo}`, 'prune', '--refs-only']);
    },
  };
}

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} [env]
 */
function timed(cmd, args, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments', ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, stdout: r.stdout };
}

const dir = scratchDir('deltas');
const servers = [];
let key;
try {
  const debs = await upgradeDebs();
  const composed = composeBase({ tarball: minbaseTarball(), dir });
  key = gpgKey(dir);
  const sign = [`--gpg-sign=${key.fpr}`, `--gpg-homedir=${key.home}`];

  // The publisher's archive repository: version 1, signed (a new commit of the composed tree).
  const srvD = join(dir, 'srv-deltas');
  sh('ostree', [`--repo=${srvD}`, 'init', '--mode=archive']);
  sh('ostree', [`--repo=${srvD}`, 'pull-local', composed.repo, REF]);
  const meta = ['--keep-metadata=aptostree.dpkg.pkglist'];
  sh('ostree', [`--repo=${srvD}`, 'commit', `--branch=${REF}`, '--no-bindings', `--tree=ref=${REF}`, ...meta, '--add-metadata-string=version=1', ...sign]);
  const v1 = sh('ostree', [`--repo=${srvD}`, 'rev-parse', REF]).trim();
  sh(process.execPath, [BIN, 'compose', 'publish', '--repo', srvD, '--deltas', '1', '--gpg-sign', key.fpr, '--gpg-homedir', key.home]);
  // The same repository, to be published without deltas.
  const srvO = join(dir, 'srv-objects');
  cpSync(srvD, srvO, { recursive: true });

  const serveD = await serveCounting(srvD);
  const serveO = await serveCounting(srvO);
  servers.push(serveD, serveO);
  const clientD = join(dir, 'client-deltas');
  const clientO = join(dir, 'client-objects');
  for (const [client, s] of /** @satisfies {Array<[string, CountingServer]>} */ ([[clientD, serveD], [clientO, serveO]])) {
    sh(process.execPath, [BIN, '--sysroot', client, 'admin', 'provision', '--url', s.url, '--ref', REF, '--os', 'debian', '--gpg-import', key.pub]);
    await s.take();
  }

  // Version 2: the upgraded packages' files over version 1, signed; deltas on one server only.
  const overlay = overlayOf(debs, join(dir, 'change'));
  sh('ostree', [`--repo=${srvD}`, 'commit', `--branch=${REF}`, '--no-bindings', `--tree=ref=${REF}`, `--tree=dir=${overlay}`, ...meta, '--add-metadata-string=version=2', ...sign]);
  const v2 = sh('ostree', [`--repo=${srvD}`, 'rev-parse', REF]).trim();
  sh(process.execPath, [BIN, 'compose', 'publish', '--repo', srvD, '--deltas', '1', '--gpg-sign', key.fpr, '--gpg-homedir', key.home]);
  // (After srvD's publish: pull-local resolves the ref through the summary when there is one.)
  sh('ostree', [`--repo=${srvO}`, 'pull-local', srvD, REF]);
  sh(process.execPath, [BIN, 'compose', 'publish', '--repo', srvO, '--deltas', '0', '--gpg-sign', key.fpr, '--gpg-homedir', key.home]);
  for (const r of [srvD, srvO]) if (sh('ostree', [`--repo=${r}`, 'rev-parse', REF]).trim() !== v2) throw new Error(`${r}: ${REF} is not version 2`);
  const changed = changedFiles(srvD, v1, v2, overlay);
  const base = fileSizes(srvD, v1);
  const baseBytes = [...base.values()].reduce((a, b) => a + b, 0);
  const deltaDir = join(srvD, 'deltas');
  let deltaBytes = 0;
  /** @param {string} d */
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else deltaBytes += statSync(p).size;
    }
  };
  if (existsSync(deltaDir)) walk(deltaDir);

  /**
   * The client back at version 1 without version 2's objects (untimed), after it got version 2.
   * @param {string} client
   * @param {boolean} deployed
   */
  function reset(client, deployed) {
    const repo = join(client, 'ostree', 'repo');
    /** @type {{ deployments: Array<{ checksum: string }> }} */
    const st = JSON.parse(sh(process.execPath, [BIN, '--sysroot', client, 'status', '--json']));
    if (sh('ostree', [`--repo=${repo}`, 'rev-parse', `origin:${REF}`]).trim() !== v2) throw new Error(`${client}: did not get version 2`);
    if (deployed && st.deployments[0].checksum !== v2) throw new Error(`${client}: version 2 is not deployed`);
    if (deployed) sh('ostree', ['admin', `--sysroot=${client}`, 'undeploy', '0']);
    sh('ostree', [`--repo=${repo}`, 'reset', `origin:${REF}`, v1]);
    sh('ostree', [`--repo=${repo}`, 'prune', '--refs-only']);
    if (existsSync(join(repo, 'objects', v2.slice(0, 2), `${v2.slice(2)}.commit`))) throw new Error(`${client}: version 2 still in the repository after the reset`);
  }

  /** @type {Record<string, Row>} */
  const rows = {
    'apt-ostree upgrade, deltas published': { ms: [], bytes: [], files: [], said: '' },
    'apt-ostree upgrade, no deltas published': { ms: [], bytes: [], files: [], said: '' },
    'ostree pull, static delta': { ms: [], bytes: [], files: [] },
    'ostree pull --disable-static-deltas': { ms: [], bytes: [], files: [] },
  };
  const other = otherOstree(dir, srvD, v1);
  if (other) {
    rows[`ostree ${other.version} pull, static delta`] = { ms: [], bytes: [], files: [] };
    rows[`ostree ${other.version} pull --disable-static-deltas`] = { ms: [], bytes: [], files: [] };
  }
  /**
   * @param {string} name
   * @param {CountingServer} s
   * @param {{ ms: number, stdout: string }} r
   */
  const record = async (name, s, r) => {
    const b = await s.take();
    rows[name].ms.push(r.ms);
    rows[name].bytes.push(b.bytes);
    rows[name].files.push(b.files);
    const said = /^Downloaded: (.*)$/m.exec(r.stdout)?.[1];
    if (said) rows[name].said = said;
  };
  const repoD = join(clientD, 'ostree', 'repo');
  for (let i = 0; i < runs; i++) {
    for (const [client, s, name] of /** @satisfies {Array<[string, CountingServer, string]>} */ ([[clientD, serveD, 'apt-ostree upgrade, deltas published'], [clientO, serveO, 'apt-ostree upgrade, no deltas published']])) {
      spawnSync('sync');
      await s.take();
      await record(name, s, timed(process.execPath, [BIN, '--sysroot', client, 'upgrade']));
      reset(client, true);
    }
    for (const [args, name] of /** @satisfies {Array<[string[], string]>} */ ([[[], 'ostree pull, static delta'], [['--disable-static-deltas'], 'ostree pull --disable-static-deltas']])) {
      spawnSync('sync');
      await serveD.take();
      await record(name, serveD, timed('ostree', [`--repo=${repoD}`, 'pull', ...args, 'origin', REF]));
      reset(clientD, false);
    }
    if (other) {
      for (const [args, name] of /** @satisfies {Array<[string[], string]>} */ ([[[], `ostree ${other.version} pull, static delta`], [['--disable-static-deltas'], `ostree ${other.version} pull --disable-static-deltas`]])) {
        spawnSync('sync');
        await serveD.take();
        await record(name, serveD, timed('bwrap', other.argv(['pull', ...args, `--url=${serveD.url}`, 'o', REF])));
        other.reset(v2);
      }
    }
    console.log(`  round ${i + 1} of ${runs} done`);
  }

  /** @param {number} b */
  const MB = (b) => `${(b / 1e6).toFixed(2)} MB`;
  console.log(`\nupgrade of minbase (${base.size} files, ${MB(baseBytes)}) to it + ${debs.map((d) => d.split('/').pop()).join(', ')}; median of ${runs}`);
  console.log(`  changed files: ${changed.count}, ${MB(changed.raw)} raw, ${MB(changed.gz)} gzip'd one by one (the floor); published delta: ${MB(deltaBytes)}`);
  /** @type {Record<string, { ms: number, bytes: number }>} */
  const med = {};
  for (const [name, r] of Object.entries(rows)) {
    med[name] = { ms: median(r.ms), bytes: median(r.bytes) };
    console.log(`  ${name.padEnd(42)} ${median(r.ms).toFixed(0).padStart(7)} ms  ${MB(median(r.bytes)).padStart(10)} in ${median(r.files)} files${r.said ? `  (apt-ostree: ${r.said})` : ''}`);
  }
  const u = med['apt-ostree upgrade, deltas published'];
  const o = med['apt-ostree upgrade, no deltas published'];
  const pd = med['ostree pull, static delta'];
  const po = med['ostree pull --disable-static-deltas'];
  const how = /delta parts/.test(rows['apt-ostree upgrade, deltas published'].said ?? '') ? 'through the delta' : 'by objects';
  console.log(`  apt-ostree upgraded ${how} from the server with deltas (ostree ${sh('ostree', ['--version']).match(/Version: '([^']+)'/)?.[1] ?? '?'})`);
  console.log(`  bytes: upgrade (deltas published) / changed files raw     ${(u.bytes / changed.raw).toFixed(2).padStart(7)}`);
  console.log(`  bytes: upgrade (deltas published) / changed files gzip'd  ${(u.bytes / changed.gz).toFixed(2).padStart(7)}`);
  console.log(`  bytes: upgrade (no deltas) / changed files gzip'd         ${(o.bytes / changed.gz).toFixed(2).padStart(7)}`);
  console.log(`  bytes: upgrade (deltas published) / upgrade (no deltas)   ${(u.bytes / o.bytes).toFixed(2).padStart(7)}`);
  console.log(`  bytes: upgrade (deltas published) / ostree pull, delta    ${(u.bytes / pd.bytes).toFixed(2).padStart(7)}`);
  console.log(`  bytes: ostree pull, delta / ostree pull, objects          ${(pd.bytes / po.bytes).toFixed(2).padStart(7)}`);
  console.log(`  time: upgrade (deltas published) / upgrade (no deltas)    ${(u.ms / o.ms).toFixed(2).padStart(7)}`);
  console.log(`  time: ostree pull, delta / ostree pull, objects           ${(pd.ms / po.ms).toFixed(2).padStart(7)}`);
  if (other) {
    const od = med[`ostree ${other.version} pull, static delta`];
    const oo = med[`ostree ${other.version} pull --disable-static-deltas`];
    console.log(`  ostree ${other.version}: bytes delta / objects ${(od.bytes / oo.bytes).toFixed(2)}, delta / changed files gzip'd ${(od.bytes / changed.gz).toFixed(2)}, time delta / objects ${(od.ms / oo.ms).toFixed(2)}`);
  }
} finally {
  for (const s of servers) s.close();
  key?.stop();
  if (!process.env.BENCH_KEEP) removeScratch(dir);
}
