// Shared set-up of the benchmarks that need a real Debian sysroot.
//
//   BIN                 the apt-ostree under test: $APT_OSTREE_BIN, else this checkout's bin/apt-ostree
//   minbaseTarball()    the tests' cached mmdebstrap minbase tarball (SMALL)
//   largeTarball()      minbase plus a large package set (LARGE), built once and cached
//   composeBase()       a tarball committed with `apt-ostree compose commit` into a bare repository
//                       (cached when asked: LARGE is composed once per composer, the last two kept)
//   serveApt()          a loopback apt repository of some .debs (bench/serve.mjs)
//   provisionSysroot()  `apt-ostree admin provision` of a composed base, its apt sources pointed
//                       at the loopback repository only
//   plainChroot()       the same base as a normal, mutable Debian tree, for plain apt-get
//   setupBench()        all of it on minbase, with 20 small packages (bench/upgrade.mjs)
//   handLayer()         the hand-written layering pipeline bench/upgrade.mjs compares with
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
export const BIN = process.env.APT_OSTREE_BIN ?? join(root, 'bin', 'apt-ostree');

// Sysroots provisioned by apt-ostree boot through GRUB (sysroot.bootloader=grub2), so every
// `ostree admin` deploy rewrites the menu. apt-ostree has ostree run its own generator there
// (OSTREE_GRUB2_EXEC, src/system/ostree.ts); the plain ostree commands of the benchmarks run the
// same one, so that both sides pay the same menu and neither runs the host's grub-mkconfig.
process.env.OSTREE_GRUB2_EXEC ??= join(dirname(BIN), '..', 'data', 'grub', 'grub-mkconfig-ostree');
export const CACHE = process.env.APT_OSTREE_TEST_CACHE ?? '/var/tmp/apt-ostree-test-cache';
const MIRROR = 'http://deb.debian.org/debian';
const SUITE = 'bookworm';

/**
 * LARGE: the set of issue 19 (systemd … golang-go: 57,641 entries, 1.72 GB here without
 * Recommends) plus texlive-latex-extra, which brings it past 60,000 files. BENCH_LARGE_PACKAGES
 * (comma-separated) chooses another set; each set has its own cached tarball and repository.
 */
export const LARGE_PACKAGES = (process.env.BENCH_LARGE_PACKAGES ?? 'systemd,python3-full,perl,build-essential,vim,git,texlive,libreoffice-core,golang-go,texlive-latex-extra')
  .split(',').map((p) => p.trim()).filter(Boolean);

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string }} [opts]
 * @returns {string}
 */
export function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20, ...opts, env: { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments', ...opts.env } });
}

/** @param {...(string | number)} parts */
const hash = (...parts) => createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16);

/**
 * @param {string} tar
 * @param {string[]} include
 */
function mmdebstrapTarball(tar, include) {
  if (existsSync(tar)) return tar;
  mkdirSync(dirname(tar), { recursive: true });
  const t0 = Date.now();
  console.log(`building ${tar} with mmdebstrap (once; ${include.length ? `minbase + ${include.join(' ')}` : 'minbase'}) ...`);
  sh('mmdebstrap', ['--variant=minbase', '--mode=root', '--format=tar', ...(include.length ? [`--include=${include.join(',')}`] : []), SUITE, `${tar}.partial`, MIRROR]);
  renameSync(`${tar}.partial`, tar);
  console.log(`  done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return tar;
}

/** The tests' minbase tarball (built as test/ does when missing). */
export function minbaseTarball() {
  return mmdebstrapTarball(join(CACHE, 'minbase', `${SUITE}-minbase.tar`), []);
}

/** minbase + LARGE_PACKAGES, cached under CACHE/bench-large/. */
export function largeTarball() {
  return mmdebstrapTarball(join(CACHE, 'bench-large', `${SUITE}-large-${hash(SUITE, ...LARGE_PACKAGES)}.tar`), LARGE_PACKAGES);
}

/**
 * What decides the layout of a composed tree: the composer's layout and image modules.
 * @param {string} bin
 */
function composerFingerprint(bin) {
  const lib = join(dirname(dirname(bin)), 'lib');
  const h = createHash('sha256');
  /** @param {string} d */
  const walk = (d) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.js')) h.update(p.slice(lib.length)).update(readFileSync(p));
    }
  };
  for (const d of ['layout', 'image']) if (existsSync(join(lib, d))) walk(join(lib, d));
  return h.digest('hex').slice(0, 16);
}

/**
 * Entries (`ostree ls -R`, the root included) and bytes of regular files of a commit.
 * @param {string} repo
 * @param {string} rev
 */
function treeSize(repo, rev) {
  const out = sh('ostree', [`--repo=${repo}`, 'ls', '-R', rev]);
  let entries = 0;
  let bytes = 0;
  for (const line of out.split('\n')) {
    if (!line) continue;
    entries++;
    const f = line.trim().split(/\s+/);
    if (f[0]?.startsWith('-')) bytes += Number(f[3]);
  }
  return { entries, bytes };
}

/**
 * The tarball unpacked and committed with `apt-ostree compose commit` into a bare repository
 * (bare: provisioning a sysroot from it hardlinks the objects instead of unpacking 2 GB).
 * With `cacheDir`, the repository is kept there, keyed by the tarball and the composer's
 * layout code, and reused by later runs; otherwise it is made in `dir`.
 * @param {{ tarball: string, dir: string, cacheDir?: string, ref?: string }} options
 */
export function composeBase({ tarball, dir, cacheDir, ref = 'debian/bench' }) {
  const key = hash(basename(tarball), statSync(tarball).size, composerFingerprint(BIN));
  const repo = cacheDir ? join(cacheDir, `repo-${key}`) : join(dir, 'srv-repo');
  const done = `${repo}.done`;
  let composedMs;
  if (!cacheDir || !existsSync(done)) {
    const t0 = Date.now();
    const work = mkdtempSync(join(dir, 'compose-'));
    const partial = cacheDir ? `${repo}.partial` : repo;
    rmSync(partial, { recursive: true, force: true });
    try {
      const rootfs = join(work, 'rootfs');
      mkdirSync(rootfs);
      if (cacheDir) console.log(`composing ${basename(tarball)} with ${BIN} compose commit (once) ...`);
      sh('tar', ['-C', rootfs, '-xf', tarball]);
      sh('ostree', [`--repo=${partial}`, 'init', '--mode=bare']);
      sh(process.execPath, [BIN, 'compose', 'commit', rootfs, '--in-place', '--repo', partial, '--ref', ref, '--version', '1']);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    if (cacheDir) {
      // Two composed repositories at most (2 GB each): this one and the last one used, so that
      // two builds can be compared turn by turn without composing again each time.
      const others = readdirSync(cacheDir).filter((n) => /^repo-[0-9a-f]{16}\.done$/.test(n) && n !== basename(done))
        .sort((a, b) => statSync(join(cacheDir, b)).mtimeMs - statSync(join(cacheDir, a)).mtimeMs);
      const keep = others[0]?.replace(/\.done$/, '');
      for (const n of readdirSync(cacheDir)) {
        if (/^repo-[0-9a-f]{16}(\.done|\.partial)?$/.test(n) && !n.startsWith(`repo-${key}`) && !(keep && n.startsWith(keep))) rmSync(join(cacheDir, n), { recursive: true, force: true });
      }
      renameSync(partial, repo);
      writeFileSync(done, `${BIN}\n${new Date().toISOString()}\n`);
    }
    composedMs = Date.now() - t0;
  } else {
    utimesSync(done, new Date(), new Date()); // the last used
  }
  const base = sh('ostree', [`--repo=${repo}`, 'rev-parse', ref]).trim();
  return { repo, ref, base, ...treeSize(repo, base), composedMs, composedBy: cacheDir ? readFileSync(done, 'utf8').split('\n').slice(0, 2).join(' at ') : BIN };
}

/**
 * A loopback apt repository of `debs` (paths), served by bench/serve.mjs.
 * @param {string} dir
 * @param {string[]} debs
 */
export async function serveApt(dir, debs) {
  mkdirSync(join(dir, 'pool'), { recursive: true });
  for (const d of debs) copyFileSync(d, join(dir, 'pool', basename(d)));
  writeFileSync(join(dir, 'Packages'), sh('apt-ftparchive', ['packages', 'pool'], { cwd: dir }));
  writeFileSync(join(dir, 'Release'), sh('apt-ftparchive', ['release', '.'], { cwd: dir }));
  const server = spawn(process.execPath, [join(here, 'serve.mjs'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  /** @type {string} */
  const url = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.stdout.once('data', (d) => resolve(String(d).trim()));
  });
  return { url, close: () => server.kill('SIGTERM') };
}

/**
 * apt sources of a tree's /etc: the loopback repository only.
 * @param {string} etc
 * @param {string} aptUrl
 */
function pointAptAt(etc, aptUrl) {
  writeFileSync(join(etc, 'apt', 'sources.list'), `deb [trusted=yes] ${aptUrl} ./\n`);
  const d = join(etc, 'apt', 'sources.list.d');
  if (existsSync(d)) for (const f of readdirSync(d)) rmSync(join(d, f));
}

/**
 * `apt-ostree admin provision` of `ref` from `repo` into `sysroot`; apt pointed at `aptUrl`.
 * @param {string} sysroot
 * @param {string} repo
 * @param {string} ref
 * @param {string} aptUrl
 */
export function provisionSysroot(sysroot, repo, ref, aptUrl) {
  // The bench's bases are unsigned local composes: deploying them is refused unless said knowingly.
  sh(process.execPath, [BIN, 'admin', 'provision', '--sysroot', sysroot, '--repo', repo, '--ref', ref, '--os', 'debian', '--no-verify']);
  pointAptAt(join(defaultDeploymentOf(sysroot), 'etc'), aptUrl);
  return sysroot;
}

/** @param {string} sysroot */
export function defaultDeploymentOf(sysroot) {
  /** @type {{ deployments: Array<{ osname: string, checksum: string, serial: number }> }} */
  const st = JSON.parse(sh(process.execPath, [BIN, '--sysroot', sysroot, 'status', '--json']));
  const d = st.deployments[0];
  return join(sysroot, 'ostree/deploy', d.osname, 'deploy', `${d.checksum}.${d.serial}`);
}

/**
 * Its .origin file (what `ostree admin deploy --origin-file` takes to keep apt-ostree's origin).
 * @param {string} sysroot
 */
export function defaultOriginOf(sysroot) {
  return `${defaultDeploymentOf(sysroot)}.origin`;
}

/** @param {string} tree */
const BWRAP = (tree) => ['--bind', tree, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/run', '--die-with-parent',
  '--setenv', 'DEBIAN_FRONTEND', 'noninteractive', '--setenv', 'PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/**
 * The base as a normal Debian system that plain apt-get can change: a copy (not hardlinks) of
 * its commit, with /etc back from /usr/etc, /var made from its tmpfiles.d lines and the dpkg
 * database moved from /usr/share/dpkg/database to /var/lib/dpkg; apt's sources point at the
 * loopback repository, whose lists are fetched once, and `debs` wait in /var/cache/apt/archives.
 * `argv(args)` runs a command in it (bwrap: the tree as /, fresh /proc, /dev, /tmp, /run), and
 * `reset()` puts /etc and /var back as they were after set-up (what apt and dpkg change outside
 * the package's own files, which purge removes).
 * @param {{ dir: string, repo: string, base: string, aptUrl: string, debs: string[] }} options
 */
export function plainChroot({ dir, repo, base, aptUrl, debs }) {
  const tree = join(dir, 'tree');
  const pristine = join(dir, 'pristine');
  mkdirSync(pristine, { recursive: true });
  sh('ostree', [`--repo=${repo}`, 'checkout', '--force-copy', base, tree]);
  rmSync(join(tree, 'etc'), { recursive: true, force: true });
  renameSync(join(tree, 'usr', 'etc'), join(tree, 'etc'));
  // /var as the image has it at boot. systemd-tmpfiles exits non-zero on lines it cannot apply
  // in a tree (other packages' run-time entries); what dpkg needs is checked just after.
  try {
    sh('systemd-tmpfiles', ['--create', `--root=${tree}`, '--prefix=/var']);
  } catch {
    /* checked below */
  }
  const dpkgDir = join(tree, 'var', 'lib', 'dpkg');
  rmSync(dpkgDir, { force: true }); // the tmpfiles.d link to ../../usr/share/dpkg/database
  renameSync(join(tree, 'usr', 'share', 'dpkg', 'database'), dpkgDir);
  if (!existsSync(join(dpkgDir, 'status'))) throw new Error(`${tree}: no dpkg status file after the conversion`);
  for (const d of ['var/cache/apt/archives/partial', 'var/lib/apt/lists/partial', 'var/log/apt', 'var/cache/debconf']) mkdirSync(join(tree, d), { recursive: true });
  pointAptAt(join(tree, 'etc'), aptUrl);
  for (const d of debs) copyFileSync(d, join(tree, 'var/cache/apt/archives', basename(d)));
  /** @param {string[]} args */
  const argv = (args) => [...BWRAP(tree), ...args];
  sh('bwrap', argv(['apt-get', 'update', '-q']));
  sh('cp', ['-a', join(tree, 'etc'), join(tree, 'var'), pristine]);
  return {
    tree,
    argv,
    reset() {
      rmSync(join(tree, 'etc'), { recursive: true, force: true });
      rmSync(join(tree, 'var'), { recursive: true, force: true });
      sh('cp', ['-a', join(pristine, 'etc'), join(pristine, 'var'), tree]);
    },
  };
}

/**
 * Remove a scratch directory the benchmarks made (deployments may be immutable).
 * @param {string} dir
 */
export function removeScratch(dir) {
  try {
    execFileSync('chattr', ['-R', '-i', dir], { stdio: 'ignore' });
  } catch {
    /* best effort */
  }
  rmSync(dir, { recursive: true, force: true });
}

/** @param {string} name */
export function scratchDir(name) {
  const parent = process.env.BENCH_TMP ?? join(CACHE, 'scratch');
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, `bench-${name}-`));
}

/**
 * A small generated package (20 data files and a postinst), for the upgrade benchmark.
 * @param {string} out
 * @param {string} name
 */
export function buildDeb(out, name) {
  const d = join(out, `${name}-build`);
  mkdirSync(join(d, 'DEBIAN'), { recursive: true });
  mkdirSync(join(d, 'usr/share', name), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(d, 'usr/share', name, `file${i}`), `${name} ${i}\n`.repeat(50));
  writeFileSync(join(d, 'DEBIAN/control'), `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: bench <b@example.invalid>\nDescription: benchmark package\n x\n`);
  writeFileSync(join(d, 'DEBIAN/postinst'), `#!/bin/sh\nset -e\nmkdir -p /var/lib/${name}\necho ok > /var/lib/${name}/state\n`);
  chmodSync(join(d, 'DEBIAN/postinst'), 0o755);
  mkdirSync(join(out, 'pool'), { recursive: true });
  const deb = join(out, 'pool', `${name}_1.0_all.deb`);
  sh('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', d, deb]);
  rmSync(d, { recursive: true, force: true });
  return deb;
}

/**
 * The package the install benchmark layers: a real one with a binary, Debian's `hello`
 * (bookworm's 2.10-3, downloaded once into CACHE/bench-debs), or the .deb given in BENCH_DEB.
 * Returns its path and package name.
 */
export async function benchDeb() {
  if (process.env.BENCH_DEB) {
    const path = process.env.BENCH_DEB;
    return { path, name: sh('dpkg-deb', ['-f', path, 'Package']).trim() };
  }
  const arch = sh('dpkg', ['--print-architecture']).trim();
  const file = `hello_2.10-3_${arch}.deb`;
  const path = join(CACHE, 'bench-debs', file);
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const res = await fetch(`${MIRROR}/pool/main/h/hello/${file}`);
    if (!res.ok) throw new Error(`downloading ${file} from ${MIRROR}: HTTP ${res.status} (set BENCH_DEB to a .deb of your own)`);
    writeFileSync(`${path}.partial`, Buffer.from(await res.arrayBuffer()));
    renameSync(`${path}.partial`, path);
  }
  return { path, name: 'hello' };
}

/**
 * minbase, provisioned, with a loopback apt repository of 20 small packages (bench/upgrade.mjs).
 * @param {string} name
 */
export async function setupBench(name) {
  const dir = scratchDir(name);
  const composed = composeBase({ tarball: minbaseTarball(), dir });
  const apt = join(dir, 'apt');
  const debs = [];
  for (let i = 1; i <= 20; i++) debs.push(buildDeb(join(dir, 'debs'), `bench-pkg-${String(i).padStart(2, '0')}`));
  const server = await serveApt(apt, debs);
  const sysroot = provisionSysroot(join(dir, 'sysroot'), composed.repo, composed.ref, server.url);
  return {
    dir,
    srv: composed.repo,
    sysroot,
    repo: join(sysroot, 'ostree/repo'),
    base: composed.base,
    baseFiles: composed.entries,
    aptUrl: server.url,
    defaultDeployment: () => defaultDeploymentOf(sysroot),
    close() {
      server.close();
      removeScratch(dir);
    },
  };
}

/**
 * The hand-written layering pipeline bench/upgrade.mjs compares with: apt-get in bwrap on a
 * hardlinked checkout and `ostree commit`, with the tools alone (no overlay, no checks, no
 * undo). Returns the commit.
 * @param {string} tree
 * @param {string} repo
 * @param {string} aptUrl
 * @param {string[]} pkgs
 */
export function handLayer(tree, repo, aptUrl, pkgs) {
  // A new file, not a write through the checkout's hardlink into the repository object.
  rmSync(join(tree, 'usr/etc/apt/sources.list'), { force: true });
  writeFileSync(join(tree, 'usr/etc/apt/sources.list'), `deb [trusted=yes] ${aptUrl} ./\n`);
  for (const d of ['var/lib/apt/lists/partial', 'var/cache/apt/archives/partial', 'var/log/apt', 'var/cache/debconf']) mkdirSync(join(tree, d), { recursive: true });
  sh('ln', ['-sfn', '../../usr/share/dpkg/database', join(tree, 'var/lib/dpkg')]);
  sh('bwrap', ['--bind', tree, '/', '--bind', join(tree, 'usr/etc'), '/etc', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/run',
    '--setenv', 'DEBIAN_FRONTEND', 'noninteractive', 'sh', '-c', `apt-get update -q && apt-get install -y -q --no-install-recommends ${pkgs.join(' ')}`]);
  rmSync(join(tree, 'etc'), { recursive: true, force: true });
  rmSync(join(tree, 'var'), { recursive: true, force: true });
  mkdirSync(join(tree, 'var'));
  const commit = sh('ostree', [`--repo=${repo}`, 'commit', '--orphan', '--no-bindings', '--link-checkout-speedup', `--tree=dir=${tree}`]).trim();
  return commit;
}
