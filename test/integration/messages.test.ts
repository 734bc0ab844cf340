/**
 * What the real CLI says when something is wrong: a bad command line names the option or
 * argument (whichever command it is), a failure of the machine (full disk, read-only file
 * system, a path that is not a sysroot) is one sentence with what to do and never "a bug",
 * user input in a message is cut and made printable, output into a reader that goes away ends
 * quietly (without interrupting a transaction), and the non-root message gives a sudo line that
 * repeats the whole command. Real file systems: tmpfs mounts that are full or read-only.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, sh } from '../fixtures/env.js';
import { makeSyntheticSysroot, writeSyntheticTree, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

function expectNoBug(r: { stderr: string }): void {
  expect(r.stderr).not.toMatch(/This is a bug|Unknown argument|Not enough|^\s+at /m);
}

describe('a bad command line is named, for every command', () => {
  const cases: Array<[string[], string]> = [
    [['status', '--bogus-option'], 'error: unknown option --bogus-option.'],
    [['install', '--bogus', 'pkg'], 'error: unknown option --bogus.'],
    [['uninstall', '--all', '--bogus'], 'error: unknown option --bogus.'],
    [['kargs', '--bogus-option', '--append', 'x'], 'error: unknown option --bogus-option.'],
    [['db', 'diff', '--bogus'], 'error: unknown option --bogus.'],
    [['compose', 'tree', 'm.yaml', '--bogus'], 'error: unknown option --bogus.'],
    [['admin', 'provision', '--bogus', '--ref', 'a/b'], 'error: unknown option --bogus.'],
    [['--bogus'], 'error: unknown option --bogus.'],
    [['upgrade', '--lock-wait', '--bogus'], 'error: unknown option --bogus.'],
    [['kargs', '--append'], 'error: --append needs a value.'],
    [['kargs', '--append', '--reboot'], 'error: --append needs a value.'],
    [['kargs', '--delete', '--append', 'x'], 'error: --delete needs a value.'],
    [['status', '--sysroot'], 'error: --sysroot needs a value.'],
    [['admin', 'provision', '--ref', '--repo', 'r'], 'error: --ref needs a value.'],
    // An rpm-ostree option apt-ostree does not take: named with the reason (docs/rpm-ostree-compat.md).
    [['db', 'list', '--advisories', '--format'], "error: --advisories is an rpm-ostree option that apt-ostree does not take: Debian's apt lists carry no updateinfo advisories to show."],
    [['db', 'list', '--unknown-opt', '--format'], 'error: unknown option --unknown-opt.'],
    [['compose', 'tree', 'm.yaml', '--repo'], 'error: --repo needs a value.'],
    [['install'], 'error: apt-ostree install needs at least one package.'],
    [['status', 'extra'], "error: unexpected argument 'extra' for apt-ostree status."],
    [['db', 'diff', '--format=yaml'], "error: --format must be one of block, diff, json, not 'yaml'."],
    [['instal', 'htop'], "error: unknown command 'instal'."],
  ];

  it.each(cases)('%j', async (args, first) => {
    const r = await cli(args);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(first);
    expect(r.stderr.split('\n')[1]).toMatch(/\S/); // what to do
    expectNoBug(r);
  });

  it('an option without its value never takes the next word: install --bogus pkg does not eat pkg', async () => {
    const r = await cli(['install', '--bogus', 'htop']);
    expect(r.stderr).not.toMatch(/htop/);
    expect(r.stderr).not.toMatch(/needs at least one package/);
  });

  it('help still works, with or without a bad option', async () => {
    const r = await cli(['kargs', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--append/);
  });
});

describe('a failure of the machine is said, not called a bug', () => {
  let tmp: string;
  let repo: string;
  const ref = 'test/messages';
  const mounts: string[] = [];
  async function mountTmpfs(dir: string, options: string): Promise<string> {
    mkdirSync(dir, { recursive: true });
    await sh('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
    mounts.push(dir);
    return dir;
  }

  beforeAll(async () => {
    tmp = makeTemp('messages-');
    repo = join(tmp, 'repo');
    const tree = join(tmp, 'tree');
    writeSyntheticTree(tree);
    const r = await cli(['compose', 'commit', tree, '--in-place', '--repo', repo, '--ref', ref, '--version', '1']);
    if (r.code !== 0) throw new Error(r.stderr);
  });
  afterAll(async () => {
    for (const m of mounts.reverse()) await sh('umount', ['-l', m]).catch(() => undefined);
    await removeTemp(tmp);
  });

  it('a full file system: "No space left on device", with the cleanup hint', async () => {
    const full = await mountTmpfs(join(tmp, 'full'), 'size=1m');
    // Fill it to the last block.
    await sh('sh', ['-c', `dd if=/dev/zero of=${full}/filler bs=4k 2>/dev/null; true`]);
    const r = await cli(['--sysroot', join(full, 'sysroot'), 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', ref]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: No space left on device( while \w+ \S+| while running [^.]+)?\.$/m);
    expect(r.stderr).toMatch(/^Free space on that file system, for example with `apt-ostree cleanup`/m);
    expectNoBug(r);
  });

  it('ostree running out of space during a pull: the same sentence, and ostree\'s own words below it', async () => {
    // An image of 4 MiB of random data, pulled into 2 MiB.
    const tree = join(tmp, 'big-tree');
    writeSyntheticTree(tree);
    writeFileSync(join(tree, 'usr/share/big'), randomBytes(4 * 1024 * 1024));
    const c = await cli(['compose', 'commit', tree, '--in-place', '--repo', repo, '--ref', 'test/big', '--version', '1']);
    expect(c.code, c.stderr).toBe(0);
    const small = await mountTmpfs(join(tmp, 'small'), 'size=2m');
    const r = await cli(['--sysroot', join(small, 'sysroot'), 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', 'test/big']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: No space left on device while running ostree pull/m);
    expect(r.stderr).toMatch(/^ {2}.*(No space left on device|min-free-space)/m);
    expect(r.stderr).toMatch(/apt-ostree cleanup/);
    expectNoBug(r);
  });

  it('a read-only file system: names the path and says to remount it', async () => {
    const ro = await mountTmpfs(join(tmp, 'ro'), 'ro,size=64k');
    const r = await cli(['--sysroot', join(ro, 'sysroot'), 'admin', 'provision', '--no-verify', '--repo', repo, '--ref', ref]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`error: Cannot create ${join(ro, 'sysroot', 'ostree')}: ${ro} is on a read-only file system.`);
    expect(r.stderr).toMatch(/mount -o remount,rw/);
    expectNoBug(r);

    // An existing sysroot mounted read-only.
    const s = await makeSyntheticSysroot(mkdirp(join(tmp, 'rw-sysroot')));
    const view = join(tmp, 'ro-view');
    mkdirSync(view);
    await sh('mount', ['--bind', s.sysroot, view]);
    mounts.push(view);
    await sh('mount', ['-o', 'remount,bind,ro', view]);
    const k = await cli(['--sysroot', view, 'kargs', '--append', 'quiet']);
    expect(k.code).toBe(1);
    expect(k.stderr).toMatch(/^error: .*read-only file system/m);
    expect(k.stderr).toMatch(/remount,rw/);
    expectNoBug(k);
  });

  it('--sysroot that is not a sysroot', async () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    for (const args of [['status'], ['kargs', '--append', 'x'], ['db', 'diff']]) {
      for (const sysroot of [join(tmp, 'nothing'), file]) {
        const r = await cli(['--sysroot', sysroot, ...args]);
        expect(r.code, `${sysroot} ${args.join(' ')}`).toBe(1);
        expect(r.stderr, `${sysroot} ${args.join(' ')}`).toMatch(new RegExp(`^error: ${sysroot.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not an OSTree sysroot`, 'm'));
        expectNoBug(r);
      }
    }
  });
});

describe('user input in a message', () => {
  it('is cut to a readable length, control characters escaped', async () => {
    const evil = `a\u001b[31mred\u0007\u001b]0;title\u0007${'x'.repeat(5000)}`;
    const r = await cli(['--sysroot', '/nonexistent/x', '--os', evil, 'admin', 'provision', '--url', 'http://127.0.0.1:1/', '--ref', 'a/b']);
    expect(r.code).toBe(1);
    const line = r.stderr.split('\n')[0]!;
    expect(line).toMatch(/^error: 'a\\x1b\[31mred\\x07\\x1b\]0;title\\x07x+…' is not a valid stateroot name\.$/);
    expect(line.length).toBeLessThan(260);
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  });

  it('bytes of a binary file are not printed as they are', async () => {
    // The first bytes of an ELF file, without NULs (which no argument can hold).
    const bytes = readFileSync('/bin/true').subarray(0, 600).filter((b) => b !== 0);
    const r = await cli(['--sysroot', '/nonexistent/x', '--os', Buffer.from(bytes).toString('latin1'), 'admin', 'provision', '--url', 'http://127.0.0.1:1/', '--ref', 'a/b']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not a valid stateroot name/);
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});

/** Run the CLI with its stdout (and stderr) read end closed at once: the reader that went away. */
function runWithClosedOutput(args: string[], opts: { closeStderr?: boolean } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    if (opts.closeStderr) child.stderr.destroy();
    else child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('output into a reader that stops reading', () => {
  let tmp: string;
  let s: TestSysroot;
  beforeAll(async () => {
    tmp = makeTemp('messages-pipe-');
    s = await makeSyntheticSysroot(mkdirp(join(tmp, 'sysroot')));
  });
  afterAll(async () => removeTemp(tmp));

  it('status --json ends quietly with the status of SIGPIPE, as coreutils do', async () => {
    const r = await runWithClosedOutput(['--sysroot', s.sysroot, 'status', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(141);
    // And in a real pipeline: head gets its bytes, no trace on stderr.
    const p = await sh('bash', ['-c', `node ${BIN} --sysroot ${s.sysroot} status --json 2>${tmp}/err | head -c 100; echo; echo "status \${PIPESTATUS[0]}"`]);
    expect(p).toMatch(/^\{/);
    expect(p).toMatch(/status (0|141)$/);
    expect(readFileSync(join(tmp, 'err'), 'utf8')).toBe('');
    const v = await runWithClosedOutput(['--version']);
    expect(v).toMatchObject({ code: 141, stderr: '' });
  });

  it('a command that changes the system still finishes its transaction', async () => {
    const r = await runWithClosedOutput(['--sysroot', s.sysroot, 'kargs', '--append', 'epipe=1'], { closeStderr: true });
    expect(r.code).toBe(0);
    const entries = readdirSync(join(s.sysroot, 'boot/loader/entries')).map((f) => readFileSync(join(s.sysroot, 'boot/loader/entries', f), 'utf8'));
    expect(entries.join('')).toMatch(/options .*epipe=1/);
    const st = await cli(['--sysroot', s.sysroot, 'kargs']);
    expect(st.stdout).toMatch(/epipe=1/);
  });
});

describe('the non-root message', () => {
  it('gives a sudo line with the whole command, quoted for the shell', async () => {
    const r = await cli(['install', 'htop', '--sysroot', '/tmp/my sysroot'], { uid: 65534 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/must run as root/);
    expect(r.stderr.split('\n')).toContain("Run it with sudo: sudo apt-ostree install htop --sysroot '/tmp/my sysroot'");
    // A kernel argument GRUB accepts that the shell must have quoted (quotes, a space, a `!`).
    const k = await cli(['--sysroot=/srv/s', 'kargs', '--append', 'acpi_osi="!Windows 2012"'], { uid: 65534 });
    expect(k.stderr.split('\n')).toContain(`Run it with sudo: sudo apt-ostree --sysroot=/srv/s kargs --append 'acpi_osi="!Windows 2012"'`);
  });
});
