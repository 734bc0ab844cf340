#!/usr/bin/env node
/**
 * `npm run test:unit`: the unit project of vitest.config.ts, run so that a unit test cannot lean
 * on the machine. The PATH holds node and the shell tools below, nothing else (no ostree, apt,
 * dpkg, gpg, grub, mmdebstrap); run as root, the tests run as `nobody` (uid and gid 65534, no
 * supplementary groups). A test that needs a real tool or root belongs in test/integration/ and
 * fails here. Extra arguments go to vitest (a file filter, -t NAME).
 *
 * nobody cannot write the worktree, so vitest gets a home and a TMPDIR of its own in a fresh
 * directory under os.tmpdir(); its JSON report is copied to .ci/reports/unit.json. (vitest's
 * results cache in node_modules/.vite stays unwritten; vitest goes on without it.)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The programs a unit test may start: the POSIX shell, bash, and the coreutils the tests use. */
const TOOLS = ['sh', 'bash', 'cat', 'test', 'true', 'false', 'printf', 'echo', 'pwd', 'env', 'sleep', 'mkdir', 'rm', 'ls', 'sort', 'head', 'tr'];
const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin', '/bin'];
const NOBODY = 65534;

/** @param {string} name */
function findTool(name) {
  for (const dir of SYSTEM_PATH) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`test-unit: ${name} is not installed (looked in ${SYSTEM_PATH.join(', ')})`);
}

const asNobody = process.getuid?.() === 0;
const run = mkdtempSync(join(tmpdir(), 'apt-ostree-unit-'));
chmodSync(run, 0o755); // mkdtemp makes it 0700: nobody must get in
const bin = join(run, 'bin');
mkdirSync(bin);
symlinkSync(process.execPath, join(bin, 'node'));
for (const tool of TOOLS) symlinkSync(findTool(tool), join(bin, tool));
for (const dir of ['home', 'tmp']) {
  mkdirSync(join(run, dir));
  if (asNobody) chownSync(join(run, dir), NOBODY, NOBODY);
}

const report = join(run, 'tmp', 'unit.json');
const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const args = [vitest, 'run', '--project', 'unit', '--reporter=default', `--reporter=${join(ROOT, 'scripts', 'file-times-reporter.mjs')}`, `--outputFile.json=${report}`,
  // The default loader writes the bundled config to node_modules/.vite-temp, which nobody cannot.
  '--configLoader', 'runner',
  // The unit files share their worker processes instead of a fresh one each: a third of the time
  // (vitest takes isolation from the root config only, hence here and not in the unit project).
  '--no-isolate', ...process.argv.slice(2)];
const r = spawnSync(process.execPath, args, {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, PATH: bin, HOME: join(run, 'home'), TMPDIR: join(run, 'tmp') },
  ...(asNobody ? { uid: NOBODY, gid: NOBODY } : {}), // libuv drops the supplementary groups too
});

if (existsSync(report)) {
  mkdirSync(join(ROOT, '.ci', 'reports'), { recursive: true });
  copyFileSync(report, join(ROOT, '.ci', 'reports', 'unit.json'));
}
const left = readdirSync(join(run, 'tmp')).filter((n) => n !== 'unit.json');
if (left.length > 0) console.error(`test-unit: the tests left ${left.length} entries in their TMPDIR: ${left.slice(0, 5).join(' ')}`);
rmSync(run, { recursive: true, force: true });
if (r.error) throw r.error;
process.exit(r.status ?? 1);
