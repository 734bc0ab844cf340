import { chmodSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir } from '../fixtures/env.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, fsckClean, sh } from '../fixtures/env.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';
import { deployNew } from '../../src/engine/deployments/deploy.js';
import { Sysroot } from '../../src/engine/deployments/sysroot.js';
import { Transaction } from '../../src/engine/transaction/transaction.js';
import { Reporter } from '../../src/output/reporter.js';

interface OstreeDeployment {
  id: string;
  checksum: string;
  refspec?: string;
}

async function ostreeStatus(sysroot: string): Promise<OstreeDeployment[]> {
  const text = await sh('ostree', ['admin', `--sysroot=${sysroot}`, 'status']);
  const out: OstreeDeployment[] = [];
  for (const line of text.split('\n')) {
    const m = /^[* ] \S+ (([0-9a-f]{64})\.\d+)/.exec(line);
    if (m) out.push({ id: m[1]!, checksum: m[2]! });
    const o = /^\s+origin refspec: (\S+)/.exec(line);
    if (o && out.length) out.at(-1)!.refspec = o[1];
  }
  return out;
}

/** The `options` of the default BLS entry (highest version), without ostree=. */
function defaultEntryOptions(sysroot: string): string {
  const dir = join(sysroot, 'boot', readlinkSync(join(sysroot, 'boot', 'loader')), 'entries');
  const entries = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
  const top = entries.sort((a, b) => Number(/^version (\d+)/m.exec(b)![1]) - Number(/^version (\d+)/m.exec(a)![1]))[0]!;
  return /^options (.*)$/m.exec(top)![1]!.replace(/\s*ostree=\S+/, '');
}

async function kargs(s: TestSysroot, ...args: string[]) {
  return cli(['--sysroot', s.sysroot, 'kargs', ...args]);
}

/** A fresh subdirectory of the test's temporary directory. */
function sub(tmp: string, name: string): string {
  return ensureDir(join(tmp, name));
}

describe('kargs', () => {
  let tmp: string;
  let s: TestSysroot;
  beforeAll(async () => {
    tmp = makeTemp('kargs-');
    s = await makeSyntheticSysroot(sub(tmp, 'a'), { versions: ['1.0', '2.0'], kargs: ['root=/dev/vda', 'rw', 'quiet'] });
  });
  afterAll(async () => removeTemp(tmp));

  it('prints the default deployment\'s arguments, also for a non-root user', async () => {
    const r = await kargs(s);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('root=/dev/vda rw quiet');
    const nobody = await cli(['--sysroot', s.sysroot, 'kargs'], { uid: 65534 });
    expect(nobody.code, nobody.stderr).toBe(0);
    expect(nobody.stdout).toBe('root=/dev/vda rw quiet');
  });

  it('appends (duplicate keys and quoted values kept) in a new deployment of the same commit', async () => {
    const before = await ostreeStatus(s.sysroot);
    const r = await kargs(s, '--append', 'console=tty0', '--append=console=ttyS0,115200', '--append', 'foo="a b"');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Kernel arguments updated/);
    const want = 'root=/dev/vda rw quiet console=tty0 console=ttyS0,115200 foo="a b"';
    expect(defaultEntryOptions(s.sysroot)).toBe(want);
    expect((await kargs(s)).stdout).toBe(want);
    const after = await ostreeStatus(s.sysroot);
    // A new deployment of the same commit, same origin, made the default; the old default is next.
    expect(after[0]!.checksum).toBe(before[0]!.checksum);
    expect(after[0]!.id).not.toBe(before[0]!.id);
    expect(after[0]!.refspec).toBe(`${s.remote}:${s.ref}`);
    expect(after[1]!.id).toBe(before[0]!.id);
    const json = JSON.parse((await cli(['--sysroot', s.sysroot, 'status', '--json'])).stdout);
    expect(json.deployments[0].kargs).toEqual(['root=/dev/vda', 'rw', 'quiet', 'console=tty0', 'console=ttyS0,115200', 'foo="a b"']);
    expect(json.deployments[1].kargs).toEqual(['root=/dev/vda', 'rw', 'quiet']);
    await fsckClean(s.repo);
  });

  it('deletes one value of a key given in full, and refuses an ambiguous bare key', async () => {
    const before = await ostreeStatus(s.sysroot);
    const amb = await kargs(s, '--delete', 'console');
    expect(amb.code).toBe(1);
    expect(amb.stderr).toMatch(/'console' has several values \(console=tty0, console=ttyS0,115200\)/);
    expect(await ostreeStatus(s.sysroot)).toEqual(before);

    const r = await kargs(s, '--delete', 'console=tty0', '--delete', 'quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(defaultEntryOptions(s.sysroot)).toBe('root=/dev/vda rw console=ttyS0,115200 foo="a b"');
    await fsckClean(s.repo);
  });

  it('replaces KEY=OLD=NEW and KEY=NEW in place', async () => {
    const r = await kargs(s, '--replace', 'console=ttyS0,115200=ttyS1', '--replace', 'root=/dev/vdb');
    expect(r.code, r.stderr).toBe(0);
    expect(defaultEntryOptions(s.sysroot)).toBe('root=/dev/vdb rw console=ttyS1 foo="a b"');
    const missing = await kargs(s, '--replace', 'nosuch=1');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no kernel argument 'nosuch'/);
  });

  it('says "Kernel arguments unchanged" and exits 0, or 77 with --unchanged-exit-77', async () => {
    const before = await ostreeStatus(s.sysroot);
    const r0 = await kargs(s, '--append-if-missing', 'rw', '--delete-if-present', 'nosuch');
    expect(r0.code, r0.stderr).toBe(0);
    expect(r0.stdout).toMatch(/Kernel arguments unchanged/);
    const r77 = await kargs(s, '--append-if-missing', 'rw', '--unchanged-exit-77');
    expect(r77.code).toBe(77);
    expect(r77.stdout).toMatch(/Kernel arguments unchanged/);
    expect(await ostreeStatus(s.sysroot)).toEqual(before);
    // append-if-missing with another value of the key does append (rpm-ostree semantics)
    const r = await kargs(s, '--append-if-missing', 'console=ttyS2', '--unchanged-exit-77');
    expect(r.code, r.stderr).toBe(0);
    expect(defaultEntryOptions(s.sysroot)).toBe('root=/dev/vdb rw console=ttyS1 foo="a b" console=ttyS2');
  });

  it('--deploy-index starts from another deployment\'s arguments', async () => {
    const status = await ostreeStatus(s.sysroot);
    const r1 = await kargs(s, '--deploy-index', '1');
    expect(r1.stdout).toBe('root=/dev/vdb rw console=ttyS1 foo="a b"');
    const r = await kargs(s, '--deploy-index', '1', '--append', 'loglevel=3');
    expect(r.code, r.stderr).toBe(0);
    expect(defaultEntryOptions(s.sysroot)).toBe('root=/dev/vdb rw console=ttyS1 foo="a b" loglevel=3');
    // Still the default deployment's commit.
    expect((await ostreeStatus(s.sysroot))[0]!.checksum).toBe(status[0]!.checksum);
    const bad = await kargs(s, '--deploy-index', '9', '--append', 'x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no such deployment/);
    const notNumber = await kargs(s, '--deploy-index', 'one');
    expect(notNumber.code).toBe(1);
  });

  it('--import-proc-cmdline starts from the running kernel\'s arguments', async () => {
    const proc = readFileSync('/proc/cmdline', 'utf8').trim().split(/\s+/).filter((a) => !/^(BOOT_IMAGE|initrd|ostree)=/.test(a));
    const r = await kargs(s, '--import-proc-cmdline', '--append', 'apt-ostree-test=1');
    expect(r.code, r.stderr).toBe(0);
    expect(defaultEntryOptions(s.sysroot)).toBe([...proc, 'apt-ostree-test=1'].join(' '));
  });

  it('--editor edits the arguments in $EDITOR', async () => {
    const editor = join(tmp, 'edit.sh');
    writeFileSync(editor, '#!/bin/sh\nprintf "# edited\\nroot=/dev/vda\\nrw\\n\\nconsole=ttyS0\\n" > "$1"\n');
    chmodSync(editor, 0o755);
    const r = await cli(['--sysroot', s.sysroot, 'kargs', '--editor'], { env: { EDITOR: editor, VISUAL: '' } });
    expect(r.code, r.stderr).toBe(0);
    expect(defaultEntryOptions(s.sysroot)).toBe('root=/dev/vda rw console=ttyS0');
    // An editor that changes nothing: unchanged.
    const same = await cli(['--sysroot', s.sysroot, 'kargs', '--editor', '--unchanged-exit-77'], { env: { EDITOR: 'true', VISUAL: '' } });
    expect(same.code).toBe(77);
    // An editor that fails: nothing changes.
    const before = await ostreeStatus(s.sysroot);
    const fail = await cli(['--sysroot', s.sysroot, 'kargs', '--editor'], { env: { EDITOR: 'false', VISUAL: '' } });
    expect(fail.code).toBe(1);
    expect(fail.stderr).toMatch(/editor/);
    expect(await ostreeStatus(s.sysroot)).toEqual(before);
  });

  it('rejects bad arguments before doing anything', async () => {
    const before = await ostreeStatus(s.sysroot);
    for (const args of [['--append', 'ostree=/x'], ['--append', '=1'], ['--append', 'a="b'], ['--editor', '--append', 'x'], ['--reboot'], ['--import-proc-cmdline', '--deploy-index', '0']]) {
      const r = await kargs(s, ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).not.toMatch(/bug in apt-ostree/);
    }
    expect(await ostreeStatus(s.sysroot)).toEqual(before);
  });
});

describe('kargs failures', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = makeTemp('kargs-fail-');
  });
  afterAll(async () => removeTemp(tmp));

  it('a failing ostree admin deploy leaves the deployments, default and origins as they were', async () => {
    const s = await makeSyntheticSysroot(sub(tmp, 'ro'), { versions: ['1.0', '2.0'] });
    const before = await ostreeStatus(s.sysroot);
    const origins = before.map((d) => readFileSync(join(s.sysroot, 'ostree/deploy', s.os, 'deploy', `${d.id}.origin`), 'utf8'));
    await sh('chattr', ['+i', join(s.sysroot, 'boot')]);
    let r;
    try {
      r = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'foo=1']);
    } finally {
      await sh('chattr', ['-i', join(s.sysroot, 'boot')]);
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ostree admin deploy failed/);
    expect(await ostreeStatus(s.sysroot)).toEqual(before);
    expect(before.map((d) => readFileSync(join(s.sysroot, 'ostree/deploy', s.os, 'deploy', `${d.id}.origin`), 'utf8'))).toEqual(origins);
    expect(defaultEntryOptions(s.sysroot)).toBe('root=/dev/vda rw');
    await fsckClean(s.repo);
    // Lock released; the next run succeeds.
    const ok = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'foo=1']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(defaultEntryOptions(s.sysroot)).toBe('root=/dev/vda rw foo=1');
  });

  it('a failure after the new deployment is written removes it again, giving back exactly the previous list', async () => {
    const s = await makeSyntheticSysroot(sub(tmp, 'late'), { versions: ['1.0', '2.0'] });
    await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'deploy', '--retain', '--no-prune', `--os=${s.os}`, `${s.remote}:${s.ref}`]);
    const before = await ostreeStatus(s.sysroot);
    expect(before).toHaveLength(3); // a plain deploy would drop the third one: the undo must not lose it
    let written: string | undefined;
    await expect(
      Transaction.run({ sysrootPath: s.sysroot, command: 'test', title: 'test', reporter: new Reporter() }, async (tx) => {
        const sysroot = Sysroot.load(s.sysroot);
        const base = sysroot.defaultDeployment(s.os)!;
        const r = await deployNew(tx, sysroot, { os: s.os, revision: base.checksum, origin: base.origin!, kargs: ['root=/dev/vda', 'late=1'] });
        written = `${r.added.checksum}.${r.added.serial}`;
        expect((await ostreeStatus(s.sysroot))[0]!.id).toBe(written);
        throw new Error('a later step failed');
      }),
    ).rejects.toThrow('a later step failed');
    expect(written).toBeDefined();
    expect(await ostreeStatus(s.sysroot)).toEqual(before);
    expect(defaultEntryOptions(s.sysroot)).toBe('root=/dev/vda rw');
    await fsckClean(s.repo);
  });

  it('keeps a pinned deployment and does not pin the new one', async () => {
    const s = await makeSyntheticSysroot(sub(tmp, 'pin'), { versions: ['1.0', '2.0'] });
    await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'pin', '0']);
    const before = await ostreeStatus(s.sysroot);
    const r = await cli(['--sysroot', s.sysroot, 'kargs', '--append', 'x=1']);
    expect(r.code, r.stderr).toBe(0);
    const text = await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'status']);
    const after = await ostreeStatus(s.sysroot);
    expect(after.map((d) => d.id)).toContain(before[0]!.id);
    expect(text.split(/\n(?=[* ] )/)[0]).not.toMatch(/Pinned: yes/);
    expect(text).toMatch(/Pinned: yes/);
  });
});
