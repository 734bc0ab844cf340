/**
 * The sysroot lock under faults: its message files damaged or emptied while a transaction runs,
 * apt-ostree killed while a program it started still runs, and every kind of leftover a crash
 * can leave. The lock is the flock; the files beside it only name the holder, so no state of
 * theirs may let a second transaction in, nor keep the next one out once nobody runs.
 * A run is held inside its transaction by a sleeping $EDITOR (`kargs --editor`).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureDir, fsckClean } from '../fixtures/env.js';
import { deploymentState, leftovers, NOTHING_LEFT, processAlive, readPid, sleepyEditor, startCli, waitUntil } from '../fixtures/faults.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('lock faults', () => {
  let tmp: string;
  let s: TestSysroot;
  let lockDir: string;
  let ownerFile: string;
  beforeAll(async () => {
    tmp = makeTemp('faults-lock-');
    s = await makeSyntheticSysroot(ensureDir(join(tmp, 'sys')), { versions: ['1.0'] });
    lockDir = join(s.sysroot, 'ostree', 'apt-ostree.lock');
    ownerFile = `${lockDir}.owner`;
  });
  afterAll(async () => removeTemp(tmp));

  const kargs = () => cli(['--sysroot', s.sysroot, 'kargs']).then((r) => r.stdout.trim());
  const state = () => cli(['--sysroot', s.sysroot, 'status']).then((r) => /^State: .*$/m.exec(r.stdout)?.[0]);
  const editorRun = (editor: string) => startCli(['--sysroot', s.sysroot, 'kargs', '--editor'], { env: { EDITOR: editor, VISUAL: '' } });

  it('an emptied owner file and an aged lock directory let no second transaction in; --lock-wait waits', async () => {
    // The editor holds the lock for 12 s: the refused run, two reads and the start of the waiting
    // run must all come before it ends, also with three test files side by side on a busy machine
    // (4 s were too few under load: the waiting run found the lock free).
    const ed = sleepyEditor(tmp, 'race', 12, 'first=1');
    const first = editorRun(ed.path);
    await waitUntil(() => existsSync(ed.pidFile), 'the editor of the first run');
    const before = await kargs();
    // What a crash of an older version, or an admin's cleanup attempt, can leave while it runs.
    truncateSync(ownerFile, 0);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockDir, old, old);

    const second = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'second=1']);
    expect(second.code, second.stderr).toBe(1);
    expect(second.stderr).toMatch(/locked by/);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(processAlive(first.pid)).toBe(true); // refused while the holder runs
    expect(await kargs()).toBe(before);

    const waiting = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'third=1', '--lock-wait=60']);
    const f = await first.result;
    expect(f.code, f.stderr).toBe(0);
    expect(waiting.code, waiting.stderr).toBe(0);
    expect(waiting.stderr).toMatch(/waiting for .* to release the sysroot lock/);
    // In order: the waiting run started from the first run's result.
    expect(await kargs()).toBe(`${before} first=1 third=1`);
    expect(await leftovers(s.sysroot)).toEqual(NOTHING_LEFT);
  });

  it('SIGKILL of apt-ostree while its $EDITOR runs: the next command is refused naming the editor, until it ends', async () => {
    const before = await deploymentState(s.sysroot);
    const kargsBefore = await kargs();
    const ed = sleepyEditor(tmp, 'orphan', 60);
    const victim = editorRun(ed.path);
    await waitUntil(() => existsSync(ed.pidFile), 'the editor');
    const editor = readPid(ed.pidFile);
    victim.signal('SIGKILL');
    await waitUntil(() => !processAlive(victim.pid), 'apt-ostree to die');
    expect(processAlive(editor)).toBe(true);

    const refused = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'refused=1']);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain(`pid ${victim.pid}, no longer running`);
    expect(refused.stderr).toContain(`sleep (pid ${editor})`);
    expect(await state()).toMatch(/^State: busy/);
    expect(await kargs()).toBe(kargsBefore);

    process.kill(editor, 'SIGTERM');
    await victim.result; // its output pipes close with the editor
    const next = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'after-orphan=1']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(new RegExp(`stale lock left by .* \\(pid ${victim.pid}, which no longer runs\\)`));
    expect(next.stderr).toMatch(/removing work left by an interrupted run/);
    expect(await kargs()).toBe(`${kargsBefore} after-orphan=1`);
    expect((await deploymentState(s.sysroot)).status).not.toEqual(before.status);
    expect(await state()).toBe('State: idle');
    expect(await leftovers(s.sysroot)).toEqual(NOTHING_LEFT);
  });

  /** A pid that no longer runs (of a process that has just ended). */
  function deadPid(): number {
    const r = spawnSync('sh', ['-c', 'echo $$']);
    return Number(r.stdout.toString().trim());
  }
  const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const owner = (pid: number, boot = bootId()) => JSON.stringify({ pid, command: 'apt-ostree install crashed', started: new Date().toISOString(), bootId: boot });

  /** Leftovers of crashed runs; none may block the next command, and status must say idle. */
  const DAMAGED: Array<{ what: string; dir: boolean; owner?: () => string | Buffer }> = [
    { what: 'an owner file of binary junk', dir: true, owner: () => randomBytes(512) },
    { what: 'an owner file naming a dead pid', dir: true, owner: () => owner(deadPid()) },
    { what: 'an owner file naming pid 1', dir: true, owner: () => owner(1) },
    { what: 'an owner file of another boot (its pid runs now: the test runner)', dir: true, owner: () => owner(process.pid, '00000000-0000-4000-8000-000000000000') },
    { what: 'an owner file without the lock directory', dir: false, owner: () => owner(deadPid()) },
    { what: 'a fresh lock directory without an owner file', dir: true },
  ];

  DAMAGED.forEach((d, i) => {
    it(`recovers from ${d.what}`, async () => {
      if (d.dir) mkdirSync(lockDir);
      if (d.owner) writeFileSync(ownerFile, d.owner());
      expect(await state()).toBe('State: idle');
      const r = await cli(['--sysroot', s.sysroot, 'kargs', '--append', `damaged=${i}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/removing a stale lock/);
      expect(r.stderr).not.toMatch(/This is a bug/);
      expect(await kargs()).toMatch(new RegExp(`damaged=${i}$`));
      expect(await state()).toBe('State: idle');
      expect(await leftovers(s.sysroot)).toEqual(NOTHING_LEFT);
      rmSync(lockDir, { recursive: true, force: true });
      rmSync(ownerFile, { force: true });
    });
  });

  it('leaves the repository intact', async () => {
    await fsckClean(s.repo);
  });
});
