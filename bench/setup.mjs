// Shared set-up of the benchmarks that need a real Debian sysroot: the minbase image (the
// tests' cached mmdebstrap tarball, committed with `apt-ostree compose commit`), a provisioned
// sysroot, and a loopback apt repository of 20 small packages.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(root, 'bin', 'apt-ostree');
const CACHE = process.env.APT_OSTREE_TEST_CACHE ?? '/var/tmp/apt-ostree-test-cache';

export function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts, env: { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments', ...opts.env } });
}

function minbaseTarball() {
  const tar = join(CACHE, 'minbase', 'bookworm-minbase.tar');
  if (!existsSync(tar)) {
    mkdirSync(dirname(tar), { recursive: true });
    sh('mmdebstrap', ['--variant=minbase', '--mode=root', '--format=tar', 'bookworm', `${tar}.partial`, 'http://deb.debian.org/debian']);
    sh('mv', [`${tar}.partial`, tar]);
  }
  return tar;
}

function buildDeb(out, name) {
  const d = join(out, `${name}-build`);
  mkdirSync(join(d, 'DEBIAN'), { recursive: true });
  mkdirSync(join(d, 'usr/share', name), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(d, 'usr/share', name, `file${i}`), `${name} ${i}\n`.repeat(50));
  writeFileSync(join(d, 'DEBIAN/control'), `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: bench <b@example.invalid>\nDescription: benchmark package\n x\n`);
  writeFileSync(join(d, 'DEBIAN/postinst'), `#!/bin/sh\nset -e\nmkdir -p /var/lib/${name}\necho ok > /var/lib/${name}/state\n`);
  chmodSync(join(d, 'DEBIAN/postinst'), 0o755);
  sh('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', d, join(out, 'pool', `${name}_1.0_all.deb`)]);
}

export async function setupBench(name) {
  const dir = mkdtempSync(join(process.env.BENCH_TMP ?? join(CACHE, 'scratch'), `bench-${name}-`));
  const srv = join(dir, 'srv-repo');
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs);
  sh('tar', ['-C', rootfs, '-xf', minbaseTarball()]);
  sh(process.execPath, [BIN, 'compose', 'commit', rootfs, '--in-place', '--repo', srv, '--ref', 'debian/bench', '--version', '1']);
  rmSync(rootfs, { recursive: true, force: true });
  const base = sh('ostree', [`--repo=${srv}`, 'rev-parse', 'debian/bench']).trim();
  const baseFiles = Number(sh('sh', ['-c', `ostree --repo=${srv} ls -R debian/bench | wc -l`]).trim());

  const apt = join(dir, 'apt');
  mkdirSync(join(apt, 'pool'), { recursive: true });
  for (let i = 1; i <= 20; i++) buildDeb(apt, `bench-pkg-${String(i).padStart(2, '0')}`);
  writeFileSync(join(apt, 'Packages'), sh('apt-ftparchive', ['packages', 'pool'], { cwd: apt }));
  writeFileSync(join(apt, 'Release'), sh('apt-ftparchive', ['release', '.'], { cwd: apt }));
  const server = spawn(process.execPath, [join(root, 'bench', 'serve.mjs'), apt], { stdio: ['ignore', 'pipe', 'inherit'] });
  const aptUrl = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(String(d).trim())));

  const provision = (sysroot, ref) => {
    sh(process.execPath, [BIN, 'admin', 'provision', '--sysroot', sysroot, '--repo', srv, '--ref', ref, '--os', 'debian']);
    const dep = defaultDeploymentOf(sysroot);
    writeFileSync(join(dep, 'etc/apt/sources.list'), `deb [trusted=yes] ${aptUrl} ./\n`);
    for (const f of readdirSync(join(dep, 'etc/apt/sources.list.d'))) rmSync(join(dep, 'etc/apt/sources.list.d', f));
    return sysroot;
  };
  const sysroot = provision(join(dir, 'sysroot'), 'debian/bench');
  return {
    dir,
    sysroot,
    repo: join(sysroot, 'ostree/repo'),
    base,
    baseFiles,
    aptUrl,
    defaultDeployment: () => defaultDeploymentOf(sysroot),
    /** A sysroot whose base has `n` more files than minbase (to see that cost follows the change). */
    async paddedSysroot(n) {
      const pad = join(dir, 'padding');
      for (let i = 0; i < n; i++) {
        const sub = join(pad, 'usr/share/bench-padding', String(Math.floor(i / 500)));
        if (i % 500 === 0) mkdirSync(sub, { recursive: true });
        writeFileSync(join(sub, `f${i}`), `padding ${i}\n`);
      }
      sh('ostree', [`--repo=${srv}`, 'commit', '--branch=debian/bench-padded', '--no-bindings', `--tree=ref=${base}`, `--tree=dir=${pad}`, '--keep-metadata=version', `--parent=${base}`]);
      return provision(join(dir, 'sysroot-padded'), 'debian/bench-padded');
    },
    close() {
      server.kill('SIGTERM');
      spawnSyncQuiet('chattr', ['-R', '-i', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function defaultDeploymentOf(sysroot) {
  const st = JSON.parse(sh(process.execPath, [BIN, '--sysroot', sysroot, 'status', '--json']));
  const d = st.deployments[0];
  return join(sysroot, 'ostree/deploy', d.osname, 'deploy', `${d.checksum}.${d.serial}`);
}

function spawnSyncQuiet(cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    /* best effort */
  }
}

/**
 * The baseline the layering benchmarks compare with: apt-get in bwrap on a hardlinked checkout
 * and `ostree commit`, with the tools alone (no overlay, no checks, no undo). Returns the commit.
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
