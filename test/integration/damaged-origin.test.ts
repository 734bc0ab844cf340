/**
 * Damaged origin files (issue 12): empty, cut off, without a usable refspec, binary, or missing
 * the layered requests the deployment's commit records. `status` says so and goes on; every
 * command that would act on the origin refuses before any work, leaving the sysroot exactly as
 * it was; `rebase` is the repair.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, fsckClean, sh, type CliResult } from '../fixtures/env.js';
import { makeLayeringBed, type LayeringBed } from '../fixtures/layering.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

type Json = Record<string, unknown>;

/** Every entry below `root`: path, type, size, mtime, mode and symlink target. */
function listing(root: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = lstatSync(p);
    const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
    out.push(`${p} ${type} ${st.size} ${st.mtimeMs} ${st.mode.toString(8)}${type === 'l' ? ` -> ${readlinkSync(p)}` : ''}`);
    if (type === 'd') for (const n of readdirSync(p).sort()) walk(join(p, n));
  };
  walk(root);
  return out;
}

async function statusJson(sysroot: string): Promise<{ deployments: Json[] }> {
  const r = await cli(['--sysroot', sysroot, 'status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

function originPathOf(sysroot: string, d: Json): string {
  return join(sysroot, 'ostree', 'deploy', String(d.osname), 'deploy', `${d.checksum}.${d.serial}.origin`);
}

/** The error line and hint of a refused command: exit 1, the file named, the repair said. */
function expectRefused(r: CliResult, file: string, repair: RegExp): void {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
  expect(r.stderr).toContain(`error: The origin file ${file} is damaged: `);
  expect(r.stderr).toMatch(repair);
}

const REF = 'debian/12/x86_64/base';
const LAYERED_ORIGIN = `[origin]\nbaserefspec=origin:${REF}\n\n[packages]\nrequested=hello-ao;\n`;

interface Damage {
  name: string;
  content: string | Buffer;
  problem: RegExp;
  /** ostree cannot load the sysroot: the repair is by hand. */
  unloadable?: boolean;
}

const DAMAGES: Damage[] = [
  { name: 'empty', content: '', problem: /: the file is empty$/ },
  { name: 'truncated in a group header', content: LAYERED_ORIGIN.slice(0, LAYERED_ORIGIN.indexOf('[packages]') + 6), problem: /: line 4 "\[packa" is not a \[group\] header/, unloadable: true },
  { name: 'truncated in a value', content: LAYERED_ORIGIN.slice(0, -6), problem: /: the last line "requested=hell" is cut off/ },
  { name: 'missing refspec', content: '[origin]\n\n[packages]\nrequested=hello-ao;\n', problem: /: it has no refspec$/ },
  { name: 'bad refspec', content: LAYERED_ORIGIN.replace(REF, 'debian 12'), problem: /: its baserefspec "origin:debian 12" is not an OSTree refspec/ },
  { name: 'binary bytes', content: Buffer.concat([Buffer.from('[origin]\nbaserefspec='), Buffer.from([0, 0xff, 0xfe, 0x80, 0x0a])]), problem: /: it contains NUL bytes/, unloadable: true },
  { name: '[packages] truncated away', content: LAYERED_ORIGIN.slice(0, LAYERED_ORIGIN.indexOf('[packages]')), problem: /: it has a baserefspec .* but no \[packages\]/ },
  { name: '[packages] emptied', content: LAYERED_ORIGIN.slice(0, LAYERED_ORIGIN.indexOf('requested=')), problem: /: it does not ask for the layered package hello-ao, which the deployment's commit was built with/ },
];

describe('damaged origin files', () => {
  let tmp: string;
  let s: TestSysroot;
  let layered: Json;
  let origin: string;
  const run = (args: string[]) => cli(['--sysroot', s.sysroot, ...args]);

  beforeAll(async () => {
    tmp = makeTemp('damaged-origin-');
    s = await makeSyntheticSysroot(tmp, { versions: ['1.0', '2.0'] });
    // A layered deployment on 2.0 as apt-ostree records one (commit metadata and origin),
    // committed and deployed with ostree itself: no apt needed to refuse it.
    const base = s.commits[1]!;
    const commit = (await sh('ostree', [
      `--repo=${s.repo}`, 'commit', '--branch=aptostree/layered/debian', `--tree=ref=${base}`, '--subject=layered',
      '--add-metadata-string=version=2.0', '--add-metadata=aptostree.clientlayer=true', `--add-metadata-string=aptostree.base-checksum=${base}`,
      "--add-metadata=aptostree.requested-packages=['hello-ao']", "--add-metadata=aptostree.packages=['hello-ao']",
    ])).trim();
    writeFileSync(join(tmp, 'layered.origin'), LAYERED_ORIGIN);
    await sh('ostree', ['admin', `--sysroot=${s.sysroot}`, 'deploy', '--retain', `--os=${s.os}`, `--origin-file=${join(tmp, 'layered.origin')}`, commit]);
    layered = (await statusJson(s.sysroot)).deployments[0]!;
    expect(layered['requested-packages']).toEqual(['hello-ao']);
    expect(layered['origin-error']).toBeUndefined();
    origin = originPathOf(s.sysroot, layered);
  });
  afterAll(async () => removeTemp(tmp));

  for (const damage of DAMAGES) {
    describe(damage.name, () => {
      let good: Buffer;
      beforeAll(() => {
        good = readFileSync(origin);
        writeFileSync(origin, damage.content);
      });
      afterAll(() => writeFileSync(origin, good));

      it('status shows one line saying what is wrong, and the other deployments as before', async () => {
        const r = await run(['status']);
        expect(r.code, r.stderr).toBe(0);
        const lines = r.stdout.split('\n').filter((l) => /Origin: damaged/.test(l));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`Origin: damaged (${origin}: `);
        expect(lines[0]).toMatch(damage.unloadable ? /rewrite it by hand .*then run `apt-ostree rebase origin:/ : /; repair with `apt-ostree rebase origin:debian\/12\/x86_64\/base`/);
        expect(r.stdout).toMatch(/^ {2}debian:\(damaged origin\)$/m);
        expect(r.stdout.match(new RegExp(`^ {2}debian:origin:${REF}$`, 'gm'))).toHaveLength(2);

        const json = await statusJson(s.sysroot);
        const [d, ...others] = json.deployments;
        expect(String(d!['origin-error'])).toMatch(new RegExp(`^${origin.replace(/[.]/g, '\\.')}${damage.problem.source}`));
        expect(typeof d!['origin-repair']).toBe('string');
        // Every field rpm-ostree clients read is still there, with its type.
        for (const [k, v] of Object.entries(layered)) expect([k, typeof d![k], Array.isArray(d![k])]).toEqual([k, typeof v, Array.isArray(v)]);
        expect(d!.checksum).toBe(layered.checksum);
        expect(d!.packages).toEqual(['hello-ao']); // from the commit, which is intact
        for (const o of others) {
          expect(o['origin-error']).toBeUndefined();
          expect(o.origin).toBe(`origin:${REF}`);
        }
      });

      it('install, upgrade, uninstall and kargs refuse before any work, leaving the sysroot as it was', async () => {
        const before = listing(tmp);
        const repair = damage.unloadable ? /Rewrite it by hand/ : /Repair with `apt-ostree rebase origin:debian\/12\/x86_64\/base`/;
        for (const args of [['install', 'hello-ao'], ['upgrade'], ['uninstall', 'hello-ao'], ['kargs', '--append=quiet'], ['deploy', s.commits[0]!], ['initramfs', '--enable']]) {
          expectRefused(await run(args), origin, repair);
        }
        expect(listing(tmp)).toEqual(before);
        expect(readFileSync(origin)).toEqual(Buffer.from(damage.content));
      });
    });
  }

  it('a missing origin file is damaged too', async () => {
    const good = readFileSync(origin);
    try {
      rmSync(origin);
      const st = await statusJson(s.sysroot);
      expect(st.deployments[0]!['origin-error']).toBe(`${origin}: the file is missing`);
      expectRefused(await run(['install', 'hello-ao']), origin, /apt-ostree rebase/);
    } finally {
      writeFileSync(origin, good);
    }
  });

  it('an origin ostree cannot load stops commands on the other deployments too', async () => {
    const rollbackOrigin = originPathOf(s.sysroot, (await statusJson(s.sysroot)).deployments[1]!);
    const good = readFileSync(rollbackOrigin);
    try {
      writeFileSync(rollbackOrigin, '[origin]\nrefspec=origin:debian/12\n[packa');
      const before = listing(tmp);
      for (const args of [['kargs', '--append=quiet'], ['rollback'], ['install', 'hello-ao'], ['rebase', `origin:${REF}`]]) {
        expectRefused(await run(args), rollbackOrigin, /Rewrite it by hand/);
      }
      expect(listing(tmp)).toEqual(before);
    } finally {
      writeFileSync(rollbackOrigin, good);
    }
  });

  it('a damaged configuration file is refused with one sentence naming it', async () => {
    const etc = join(originPathOf(s.sysroot, (await statusJson(s.sysroot)).deployments[0]!).replace(/\.origin$/, ''), 'etc', 'apt-ostree');
    const conf = join(etc, 'apt-ostree.conf');
    mkdirSync(etc, { recursive: true });
    try {
      const junk = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x3d, 0x0a, 0xff, 0xd8, 0x0a, 0x5b, 0x0a]);
      for (const [content, message] of [
        [junk, `error: The configuration file ${conf} is not a text file (it contains NUL bytes): it is damaged.`],
        [Buffer.from('[Daemon]\nAutomaticUpdatePolicy=ch'), `error: ${conf} line 2: AutomaticUpdatePolicy=ch in [Daemon] is not valid; allowed: none, check, stage or apply.`],
        [Buffer.from([...Buffer.from('[Daemon]\nLockLayering=true\n# caf'), 0xe9, 0x0a]), `error: The configuration file ${conf} is not a text file (it contains bytes that are not UTF-8): it is damaged.`],
        [Buffer.from('[Daemon]\nLockLayering=true\n[Experim'), `error: ${conf} line 3: '[Experim' is not a [Group] header, a Key=value setting or a # comment.`],
      ] as Array<[Buffer, string]>) {
        writeFileSync(conf, content);
        const r = await run(['reload']);
        expect(r.code).toBe(1);
        expect(r.stderr.split('\n')[0]).toBe(message);
      }
    } finally {
      rmSync(etc, { recursive: true, force: true });
    }
  });

  // Last: it changes the boot configuration (and puts it back).
  it('rollback moves away from a damaged default, and back with the damaged one as the rollback', async () => {
    const good = readFileSync(origin);
    try {
      writeFileSync(origin, '');
      const r = await run(['rollback']);
      expect(r.code, r.stderr).toBe(0);
      const st = await statusJson(s.sysroot);
      expect(st.deployments[0]!['origin-error']).toBeUndefined();
      expect(st.deployments[1]!.checksum).toBe(layered.checksum);
      expect(st.deployments[1]!['origin-error']).toMatch(/the file is empty/);
      const back = await run(['rollback']);
      expect(back.code, back.stderr).toBe(0);
      expect((await statusJson(s.sysroot)).deployments[0]!.checksum).toBe(layered.checksum);
    } finally {
      writeFileSync(origin, good);
    }
  });
});

describe('rebase repairs a damaged origin of a real layered deployment', () => {
  let tmp: string;
  let bed: LayeringBed;
  let refspec: string;
  const defaultStatus = async () => (await statusJson(bed.sysroot)).deployments[0]!;

  beforeAll(async () => {
    tmp = makeTemp('damaged-origin-bed-');
    bed = await makeLayeringBed(tmp);
    refspec = String((await defaultStatus()).origin);
  });
  afterAll(async () => {
    await bed?.close();
    await removeTemp(tmp);
  });

  it('keeps the layered package the commit records when [packages] was cut off', async () => {
    const install = await bed.run(['install', 'hello-ao']);
    expect(install.code, install.stderr).toBe(0);
    const before = await defaultStatus();
    const file = originPathOf(bed.sysroot, before);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('requested=hello-ao;');
    writeFileSync(file, text.slice(0, text.indexOf('[packages]')));

    const st = await defaultStatus();
    expect(st['origin-error']).toMatch(/but no \[packages\]/);
    expect(st['origin-repair']).toContain(`apt-ostree rebase ${refspec}`);
    const listed = listing(tmp);
    expectRefused(await bed.run(['install', 'conf-ao']), file, new RegExp(`Repair with \`apt-ostree rebase ${refspec}\``));
    expect(listing(tmp)).toEqual(listed);

    const r = await bed.run(['rebase', refspec]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/is damaged .*the new deployment gets a new one, with the layered requests its commit records: hello-ao/);
    const after = await defaultStatus();
    expect(after['origin-error']).toBeUndefined();
    expect(after.origin).toBe(refspec);
    expect(after['requested-packages']).toEqual(['hello-ao']);
    expect(after.packages).toContain('hello-ao');
    expect(readFileSync(originPathOf(bed.sysroot, after), 'utf8')).toMatch(new RegExp(`^\\[origin\\]\\nbaserefspec=${refspec}\\n(.*\\n)*requested=hello-ao;\\n`));
    // The damaged one is the rollback now, still shown as such.
    expect((await statusJson(bed.sysroot)).deployments[1]!['origin-error']).toMatch(/but no \[packages\]/);
    await fsckClean(bed.repo);
  });

  it('refuses to rebase while ostree cannot load the sysroot, and works once the file is rewritten', async () => {
    const d = await defaultStatus();
    const file = originPathOf(bed.sysroot, d);
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, `${good}[packa`);
    const listed = listing(tmp);
    const r = await bed.run(['rebase', refspec]);
    expectRefused(r, file, new RegExp(`Rewrite it by hand with an \\[origin\\] group and refspec=${refspec}`));
    expect(listing(tmp)).toEqual(listed);
    // By hand, as the hint says: an origin without the layered request; the rebase restores it from the commit.
    writeFileSync(file, `[origin]\nrefspec=${refspec}\n`);
    expect((await defaultStatus())['origin-error']).toMatch(/does not ask for the layered package hello-ao/);
    const repaired = await bed.run(['rebase', refspec]);
    expect(repaired.code, repaired.stderr).toBe(0);
    const after = await defaultStatus();
    expect(after['origin-error']).toBeUndefined();
    expect(after['requested-packages']).toEqual(['hello-ao']);
    expect(existsSync(join(originPathOf(bed.sysroot, after).replace(/\.origin$/, ''), 'usr/bin/hello-ao'))).toBe(true);
  });
});
