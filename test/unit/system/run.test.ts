// run(): the one place that starts programs (node:child_process, no shell), exercised with
// real small programs: output, exit codes, errors, input, environment, lines, cancellation.
import { describe, expect, it } from 'vitest';
import { CancelledError, ToolError } from '../../../src/errors.js';
import { run } from '../../../src/system/run.js';

describe('run', () => {
  it('returns stdout and stderr of a program, untrimmed', async () => {
    const r = await run('sh', ['-c', 'printf "out\\n"; printf "err\\n" >&2']);
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 0 });
  });

  it('passes arguments without a shell', async () => {
    const r = await run('printf', ['%s|', 'a b', '$HOME', '; rm -rf /']);
    expect(r.stdout).toBe('a b|$HOME|; rm -rf /|');
  });

  it('throws a ToolError naming the step, with the exit status and the last line of stderr', async () => {
    const e = await run('sh', ['-c', 'echo first >&2; echo "the reason" >&2; exit 3'], { what: 'the step', hint: 'do this' }).catch((x) => x);
    expect(e).toBeInstanceOf(ToolError);
    expect(e.exitStatus).toBe(3);
    expect(e.message).toBe('the step failed (exit 3): the reason');
    expect(e.hint).toBe('do this');
    expect(e.stderr).toBe('first\nthe reason\n');
  });

  it('accepts the exit codes given as okCodes', async () => {
    const r = await run('sh', ['-c', 'echo x; exit 1'], { okCodes: [1] });
    expect(r).toEqual({ stdout: 'x\n', stderr: '', exitCode: 1 });
  });

  it('says which package to install for a missing program', async () => {
    const e = await run('apt-ostree-no-such-tool', ['x']).catch((x) => x);
    expect(e).toBeInstanceOf(ToolError);
    expect(e.exitStatus).toBeUndefined();
    expect(e.message).toMatch(/could not run: apt-ostree-no-such-tool is not installed/);
    expect(e.hint).toBe('Install it with: apt-get install apt-ostree-no-such-tool');
  });

  it('reports a program killed by a signal', async () => {
    const e = await run('sh', ['-c', 'kill -KILL $$']).catch((x) => x);
    expect(e).toBeInstanceOf(ToolError);
    expect(e.message).toMatch(/could not run: killed by SIGKILL/);
  });

  it('feeds input on stdin, and tolerates a program that does not read it', async () => {
    expect((await run('cat', [], { input: 'hello\nworld' })).stdout).toBe('hello\nworld');
    expect((await run('true', [], { input: 'x'.repeat(1 << 20) })).exitCode).toBe(0);
  });

  it('extends the environment, unsets keys given as undefined, or replaces it with cleanEnv', async () => {
    process.env.APT_OSTREE_RUN_TEST = 'inherited';
    try {
      const printEnv = ['-c', 'echo "${APT_OSTREE_RUN_TEST-unset} ${EXTRA-unset}"'];
      expect((await run('sh', printEnv, { env: { EXTRA: 'x' } })).stdout).toBe('inherited x\n');
      expect((await run('sh', printEnv, { env: { APT_OSTREE_RUN_TEST: undefined } })).stdout).toBe('unset unset\n');
      expect((await run('/bin/sh', printEnv, { cleanEnv: true, env: { EXTRA: 'y' } })).stdout).toBe('unset y\n');
    } finally {
      delete process.env.APT_OSTREE_RUN_TEST;
    }
  });

  it('runs in the given directory', async () => {
    expect((await run('pwd', [], { cwd: '/usr' })).stdout).toBe('/usr\n');
  });

  it('hands out each line of both streams as it comes, \\r counting as a line end', async () => {
    const lines: string[] = [];
    const r = await run('sh', ['-c', 'printf "a\\nb\\r"; printf "e\\n" >&2; printf "last"'], { onLine: (l, s) => lines.push(`${s}:${l}`) });
    expect(lines.sort()).toEqual(['stderr:e', 'stdout:a', 'stdout:b', 'stdout:last']);
    expect(r.stdout).toBe('a\nb\rlast');
  });

  it('stops the program and throws CancelledError when the signal aborts', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = run('sleep', ['30'], { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('kills a program that ignores SIGTERM after a grace period', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = run('sh', ['-c', 'trap "" TERM; while :; do sleep 0.1; done'], { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(5000);
    expect(ms).toBeLessThan(15000);
  }, 20000);

  it('does not start anything when the signal has already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(run('sh', ['-c', 'exit 0'], { signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
  });
});
