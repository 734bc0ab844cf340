// apt-ostree status --json against a bare `node -e 0` (the floor of any Node program) and
// `ostree admin status`, measured side by side on the same sysroot. Goal: status/node <= 1.3 (issue 26; 1.6 before).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, report } from './lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.APT_OSTREE_BIN ?? join(root, 'bin', 'apt-ostree');
const runs = Number(process.env.RUNS ?? 21);

/**
 * @param {string} cmd
 * @param {string[]} args
 */
function sh(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' } });
}

// A sysroot with three deployments of a small tree.
const dir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'bench-status-'));
try {
  const tree = join(dir, 'tree');
  for (const p of ['usr/lib/modules/6.1.0-bench', 'usr/etc', 'usr/share/dpkg/database']) sh('mkdir', ['-p', join(tree, p)]);
  writeFileSync(join(tree, 'usr/lib/modules/6.1.0-bench/vmlinuz'), 'k');
  writeFileSync(join(tree, 'usr/lib/modules/6.1.0-bench/initramfs.img'), 'i');
  writeFileSync(join(tree, 'usr/etc/os-release'), 'ID=debian\n');
  writeFileSync(join(tree, 'usr/share/dpkg/database/status'), '');
  const sysroot = join(dir, 'sysroot');
  sh('mkdir', ['-p', sysroot]);
  sh('ostree', ['admin', 'init-fs', sysroot]);
  sh('ostree', ['admin', `--sysroot=${sysroot}`, 'os-init', 'debian']);
  const repo = join(sysroot, 'ostree/repo');
  sh('ostree', [`--repo=${repo}`, 'config', 'set', 'sysroot.bootloader', 'none']);
  for (const v of ['1', '2', '3']) {
    writeFileSync(join(tree, 'usr/etc/version'), v);
    sh('ostree', [`--repo=${repo}`, 'commit', '-b', 'debian/bench', `--add-metadata-string=version=${v}`, `--tree=dir=${tree}`]);
    sh('ostree', ['admin', `--sysroot=${sysroot}`, 'deploy', '--os=debian', '--no-prune', '--karg=root=/dev/vda', 'debian/bench']);
  }
  const rows = compare(
    [
      { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
      { name: 'ostree admin status', cmd: 'ostree', args: ['admin', `--sysroot=${sysroot}`, 'status'] },
      { name: 'apt-ostree status --json', cmd: process.execPath, args: [bin, '--sysroot', sysroot, 'status', '--json'] },
      { name: 'apt-ostree status', cmd: process.execPath, args: [bin, '--sysroot', sysroot, 'status'] },
    ],
    runs,
  );
  report(`status (median of ${runs} runs, 3 deployments)`, rows, {
    'status --json / node -e 0': [rows['apt-ostree status --json'] / rows['node -e 0'], 1.3],
  });
} finally {
  spawnSync('chattr', ['-R', '-i', dir], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
