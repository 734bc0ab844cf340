/**
 * The sysroot lock, exercised with a real mutating command (`kargs`). A run is held inside its
 * transaction by an $EDITOR script (`kargs --editor`) that records its pid and sleeps.
 */
import { execa, type ResultPromise } from 'execa';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, ensureDir, fsckClean, sh } from '../fixtures/env.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

async function ids(sysroot: string): Promise<string[]> {
  const text = await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'status']);
  return [...text.matchAll(/^[* ] \S+ ([0-9a-f]{64}\.\d+)/gm)].map((m) => m[1]!);
}

function kargsNow(s: TestSysroot): Promise<string> {
  return cli(['--sysroot', s.sysroot, 'kargs']).then((r) => r.stdout.trim());
}

/**
 * An editor that writes its pid to `pidFile`, sleeps, then (if it gets there) appends `extra`.
 * The pid file appears only once complete (written aside, then renamed): a test that sees it
 * empty would read pid 0, and signalling pid 0 hits the test runner's whole process group.
 */
function sleepyEditor(dir: string, name: string, seconds: number, extra?: string): { path: string; pidFile: string } {
  const path = join(dir, `${name}.sh`);
  const pidFile = join(dir, `${name}.pid`);
  const tail = extra ? `sleep ${seconds}\nprintf '%s\\n' '${extra}' >> "$1"\n` : `exec sleep ${seconds}\n`;
  writeFileSync(path, `#!/bin/sh\necho $$ > '${pidFile}.new'\nmv '${pidFile}.new' '${pidFile}'\n${tail}`);
  chmodSync(path, 0o755);
  return { path, pidFile };
}

/** Start `apt-ostree kargs --editor` in the background with the given editor. */
function startEditorRun(s: TestSysroot, editor: string): ResultPromise {
  return execa(process.execPath, [BIN, '--sysroot', s.sysroot, 'kargs', '--editor'], {
    reject: false,
    stdin: 'ignore',
    env: { EDITOR: editor, VISUAL: '' },
  });
}

/** The pid in a pid file, refusing anything that is not a single process's pid. */
function readPid(pidFile: string): number {
  const text = readFileSync(pidFile, 'utf8').trim();
  const pid = Number(text);
  if (!/^\d+$/.test(text) || pid <= 1) throw new Error(`${pidFile} holds '${text}', not a pid`);
  return pid;
}

async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sysroot lock', () => {
  let tmp: string;
  let s: TestSysroot;
  beforeAll(async () => {
    tmp = makeTemp('lock-');
    s = await makeSyntheticSysroot(ensureDir(join(tmp, 'sys')), { versions: ['1.0', '2.0'] });
  });
  afterAll(async () => removeTemp(tmp));

  it('refuses a non-root user, saying to use sudo, and changes nothing', async () => {
    const before = await ids(s.sysroot);
    const r = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'x=1'], { uid: 65534 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/must run as root/);
    expect(r.stderr).toMatch(/sudo apt-ostree/);
    expect(await ids(s.sysroot)).toEqual(before);
    expect(existsSync(join(s.sysroot, 'ostree', 'apt-ostree.lock'))).toBe(false);
  });

  it('never runs two transactions at once: the second fails at once naming the holder, or waits with --lock-wait', async () => {
    const ed = sleepyEditor(tmp, 'hold', 8, 'held=1');
    const first = startEditorRun(s, ed.path);
    await waitFor(() => existsSync(ed.pidFile), 'the editor of the first run');

    const second = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'second=1']);
    expect(second.code).toBe(1);
    expect(first.exitCode).toBeNull(); // failed at once, while the holder still runs
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(second.stderr).toMatch(/locked by 'apt-ostree --sysroot \S+ kargs --editor'/);
    expect(second.stderr).toMatch(/--lock-wait/);

    const waiting = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'third=1', '--lock-wait', '30']);
    const firstResult = await first;
    expect(firstResult.exitCode, String(firstResult.stderr)).toBe(0);
    expect(waiting.code, waiting.stderr).toBe(0);
    expect(waiting.stderr).toMatch(/waiting for .*kargs --editor/);
    // Both changes are there, in order: the waiting run started from the first run's result.
    expect(await kargsNow(s)).toBe('root=/dev/vda rw held=1 third=1');
    expect(await kargsNow(s)).not.toContain('second=1');
    await fsckClean(s.repo);
  });

  it('--lock-wait with a value that is not seconds fails before any work', async () => {
    const before = await ids(s.sysroot);
    const r = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'x=1', '--lock-wait=abc']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--lock-wait needs a number of seconds, not 'abc'/);
    expect(await ids(s.sysroot)).toEqual(before);
  });

  it('recovers a stale lock left by a kill -9, with a warning', async () => {
    const before = await ids(s.sysroot);
    const ed = sleepyEditor(tmp, 'killed', 60);
    const victim = startEditorRun(s, ed.path);
    await waitFor(() => existsSync(ed.pidFile), 'the editor of the run to kill');
    process.kill(victim.pid!, 'SIGKILL');
    process.kill(readPid(ed.pidFile), 'SIGKILL'); // the orphaned editor
    const v = await victim;
    expect(v.signal).toBe('SIGKILL');
    expect(existsSync(join(s.sysroot, 'ostree', 'apt-ostree.lock'))).toBe(true); // left behind
    expect(await ids(s.sysroot)).toEqual(before);

    const r = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'after-kill=1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`stale lock left by .* \\(pid ${victim.pid}, which no longer runs\\)`));
    expect(r.stderr).toMatch(/removing work left by an interrupted run/);
    expect(await kargsNow(s)).toMatch(/after-kill=1$/);
    expect(readdirSync(join(s.sysroot, 'ostree', 'apt-ostree', 'tmp'))).toEqual([]);
  });

  it('SIGTERM while waiting for the editor leaves the sysroot as it was and releases the lock', async () => {
    const before = await ids(s.sysroot);
    const kargsBefore = await kargsNow(s);
    const ed = sleepyEditor(tmp, 'term', 60);
    const run = startEditorRun(s, ed.path);
    await waitFor(() => existsSync(ed.pidFile), 'the editor of the run to stop');
    run.kill('SIGTERM');
    const r = await run;
    expect(r.exitCode).toBe(143);
    expect(String(r.stderr)).toMatch(/SIGTERM received/);
    expect(String(r.stderr)).toMatch(/left as it was/);
    expect(await ids(s.sysroot)).toEqual(before);
    expect(await kargsNow(s)).toBe(kargsBefore);
    expect(existsSync(join(s.sysroot, 'ostree', 'apt-ostree.lock'))).toBe(false);
    expect(readdirSync(join(s.sysroot, 'ostree', 'apt-ostree', 'tmp'))).toEqual([]);
    // The editor was stopped with it.
    expect(() => process.kill(readPid(ed.pidFile), 0)).toThrow(/ESRCH/);
    const next = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'after-term=1']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toMatch(/stale/);
    await fsckClean(s.repo);
  });

  it('treats a lock whose owner file is damaged (pid 0) as a stale lock with no owner', async () => {
    const lockDir = join(s.sysroot, 'ostree', 'apt-ostree.lock');
    mkdirSync(lockDir);
    const old = new Date(Date.now() - 20_000); // older than our 5 s, younger than proper-lockfile's own 60 s
    utimesSync(lockDir, old, old);
    writeFileSync(`${lockDir}.owner`, JSON.stringify({ pid: 0, command: 'x', started: old.toISOString() }));
    const r = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'after-damage=1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removing a stale lock with no owner/);
    expect(await kargsNow(s)).toMatch(/after-damage=1$/);
    expect(existsSync(lockDir)).toBe(false);
  });
});
