/**
 * Package layering against a real minbase sysroot and a loopback apt repository: the real
 * apt, dpkg, bwrap and ostree, maintainer scripts that do real work.
 */
import { execa } from 'execa';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAptRepo } from '../fixtures/apt-repo.js';
import { buildDeb } from '../fixtures/debs.js';
import { BIN, cli, fsckClean, sh } from '../fixtures/env.js';
import { makeLayeringBed, type LayeringBed } from '../fixtures/layering.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

interface Dep { checksum: string; serial: number; 'requested-packages': string[]; packages: string[]; 'requested-local-packages': string[]; 'base-checksum'?: string }

async function status(bed: LayeringBed): Promise<{ deployments: Dep[] }> {
  const r = await bed.run(['status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function originOf(bed: LayeringBed): Promise<string> {
  return readFileSync(`${await bed.defaultDeployment()}.origin`, 'utf8');
}

/** Everything a failed transaction must leave as it was. */
async function snapshot(bed: LayeringBed) {
  const st = await status(bed);
  return { ids: st.deployments.map((d) => `${d.checksum}.${d.serial}`), origin: await originOf(bed) };
}

async function expectNothingLeft(bed: LayeringBed): Promise<void> {
  const work = join(bed.sysroot, 'ostree', 'apt-ostree', 'tmp');
  expect(existsSync(work) ? readdirSync(work) : []).toEqual([]);
  expect(existsSync(join(bed.sysroot, 'ostree', 'apt-ostree.lock'))).toBe(false);
  expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(bed.sysroot);
  await fsckClean(bed.repo);
}

describe('install and uninstall', () => {
  let tmp: string;
  let bed: LayeringBed;
  beforeAll(async () => {
    tmp = makeTemp('install-');
    bed = await makeLayeringBed(tmp);
  });
  afterAll(async () => {
    await bed?.close();
    await removeTemp(tmp);
  });

  it('--dry-run resolves and changes nothing', async () => {
    const before = await snapshot(bed);
    const r = await bed.run(['install', '--dry-run', 'hello-ao']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Would install:\n(.*\n)*\s+dep-ao 2\.0/);
    expect(r.stdout).toMatch(/hello-ao 1\.0/);
    expect(await snapshot(bed)).toEqual(before);
    await expectNothingLeft(bed);
  });

  it('works with a relative --sysroot (apt sees the base packages as installed)', async () => {
    const r = await cli(['--sysroot', 'sr', 'install', '--dry-run', 'hello-ao'], { cwd: tmp });
    expect(r.code, r.stderr).toBe(0);
    const planned = /Would install:\n((?: {2}.*\n)*)/.exec(r.stdout)![1]!.trim().split('\n').map((l) => l.trim().split(' ')[0]);
    expect(planned.sort()).toEqual(['dep-ao', 'hello-ao']);
  });

  it('layers a package with a dependency and a postinst that writes files, in place included', async () => {
    const before = await status(bed);
    const baseChecksum = before.deployments[0]!.checksum;
    const r = await bed.run(['install', 'hello-ao']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Added:\n(\s+.*\n)*\s+dep-ao 2\.0/);
    expect(r.stdout).toMatch(/systemctl reboot/);
    const st = await status(bed);
    const d = st.deployments[0]!;
    expect(d['requested-packages']).toEqual(['hello-ao']);
    expect(d.packages).toEqual(['hello-ao']);
    expect(d['base-checksum']).toBe(baseChecksum);
    expect(st.deployments[1]!.checksum).toBe(baseChecksum); // the previous default is the rollback
    const root = await bed.defaultDeployment();
    expect(readFileSync(join(root, 'usr/bin/hello-ao'), 'utf8')).toMatch(/hello from a layered package/);
    expect(readFileSync(join(root, 'usr/share/base-files/motd'), 'utf8')).toMatch(/appended by hello-ao/);
    expect(readFileSync(join(root, 'usr/etc/debian_version'), 'utf8')).toMatch(/touched by hello-ao/);
    expect(readFileSync(join(root, 'etc/debian_version'), 'utf8')).toMatch(/touched by hello-ao/);
    // The base commit's own files are untouched (no write went through a hardlink).
    const baseMotd = await sh('ostree', [`--repo=${bed.repo}`, 'cat', baseChecksum, '/usr/share/base-files/motd']);
    expect(baseMotd).not.toMatch(/appended by hello-ao/);
    // The dpkg database of the new deployment knows the packages; /var is empty in the commit.
    expect(readFileSync(join(root, 'usr/share/dpkg/database/status'), 'utf8')).toMatch(/Package: hello-ao\nStatus: install ok installed/);
    const origin = await originOf(bed);
    expect(origin).toMatch(/baserefspec=/);
    expect(origin).toMatch(/\[packages\]\nrequested=hello-ao;/);
    await expectNothingLeft(bed);
  });

  it('db diff between the base and the layered deployment lists exactly the layered packages', async () => {
    const r = await bed.run(['db', 'diff', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const diff = JSON.parse(r.stdout);
    expect(diff.added.map((p: { name: string }) => p.name).sort()).toEqual(['dep-ao', 'hello-ao']);
    expect(diff.removed).toEqual([]);
    expect(diff.upgraded).toEqual([]);
    expect(diff.downgraded).toEqual([]);
  });

  it('keeps a user created by a postinst and a user the admin added locally, with distinct ids', async () => {
    const root = await bed.defaultDeployment();
    appendFileSync(join(root, 'etc/passwd'), 'localadmin:x:999:999:Local admin:/var/home/localadmin:/bin/bash\n');
    appendFileSync(join(root, 'etc/group'), 'localadmin:x:999:\n');
    const r = await bed.run(['install', 'svc-ao']);
    expect(r.code, r.stderr).toBe(0);
    const next = await bed.defaultDeployment();
    const imagePasswd = readFileSync(join(next, 'usr/etc/passwd'), 'utf8');
    const svc = /^svc-ao:x:(\d+):(\d+):/m.exec(imagePasswd);
    expect(svc).not.toBeNull();
    expect(svc![1]).not.toBe('999');
    expect(imagePasswd).not.toMatch(/localadmin/); // the admin's users stay out of the image
    const sysusers = readFileSync(join(next, 'usr/lib/sysusers.d/apt-ostree-layer.conf'), 'utf8');
    expect(sysusers).toContain(`u svc-ao ${svc![1]}:${svc![2]}`);
    // After the /etc merge the admin's user is still there (their edited /etc/passwd wins).
    expect(readFileSync(join(next, 'etc/passwd'), 'utf8')).toMatch(/^localadmin:x:999:/m);
    expect((await status(bed)).deployments[0]!['requested-packages']).toEqual(['hello-ao', 'svc-ao']);
    await expectNothingLeft(bed);
  });

  it('installs a conffile under /etc, files under /var and /opt', async () => {
    const r = await bed.run(['install', 'conf-ao']);
    expect(r.code, r.stderr).toBe(0);
    const root = await bed.defaultDeployment();
    expect(readFileSync(join(root, 'usr/etc/conf-ao.conf'), 'utf8')).toBe('setting = 1\n');
    expect(readFileSync(join(root, 'etc/conf-ao.conf'), 'utf8')).toBe('setting = 1\n');
    expect(readdirSync(join(root, 'var'))).toEqual([]); // /var is empty in a deployment's tree
    const tmpfiles = readdirSync(join(root, 'usr/lib/tmpfiles.d')).map((f) => readFileSync(join(root, 'usr/lib/tmpfiles.d', f), 'utf8')).join('\n');
    expect(tmpfiles).toMatch(/\/var\/lib\/conf-ao\/data/);
    expect(tmpfiles).toMatch(/L \/var\/opt\/conf-ao - - - - \/usr\/lib\/opt\/conf-ao/);
    expect(readFileSync(join(root, 'usr/lib/opt/conf-ao/bin/tool'), 'utf8')).toMatch(/tool from \/opt/);
    await expectNothingLeft(bed);
  });

  it('--idempotent and --unchanged-exit-77 for a package already requested', async () => {
    const before = await snapshot(bed);
    const again = await bed.run(['install', 'hello-ao']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/'hello-ao' is already requested/);
    const idem = await bed.run(['install', '--idempotent', 'hello-ao']);
    expect(idem.code, idem.stderr).toBe(0);
    const idem77 = await bed.run(['install', '--idempotent', '--unchanged-exit-77', 'hello-ao']);
    expect(idem77.code).toBe(77);
    expect(await snapshot(bed)).toEqual(before);
  });

  it('refuses bad input before any work: invalid names, unknown packages listed together, base packages', async () => {
    const before = await snapshot(bed);
    const bad = await bed.run(['install', 'Bad_Name', 'x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Bad_Name/);
    const unknown = await bed.run(['install', 'no-such-pkg-one', 'no-such-pkg-two']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/not found.*no-such-pkg-one, no-such-pkg-two/);
    const baseRemoval = await bed.run(['uninstall', 'dpkg']);
    expect(baseRemoval.code).toBe(1);
    expect(baseRemoval.stderr).toMatch(/override remove dpkg/);
    const conflict = await bed.run(['install', 'conflict-ao']);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/remove packages of the base image: tzdata/);
    const essential = await bed.run(['install', 'essential-conflict-ao']);
    expect(essential.code).toBe(1);
    expect(essential.stderr).toMatch(/without breaking the base image/);
    expect(essential.stderr).toMatch(/bash/);
    expect(await snapshot(bed)).toEqual(before);
    await expectNothingLeft(bed);
  });

  it('a failing postinst leaves everything as it was, with the script output shown', async () => {
    const before = await snapshot(bed);
    const r = await bed.run(['install', 'fail-ao']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/fail-ao: the configuration step is broken/);
    expect(r.stderr).toMatch(/Nothing was changed/);
    expect(await snapshot(bed)).toEqual(before);
    await expectNothingLeft(bed);
  });

  it('a FIFO under /usr, in a package or made by its postinst, is refused naming the path and the package, before the commit', async () => {
    const before = await snapshot(bed);
    const inDeb = await buildDeb({ name: 'fifo-ao', fifos: ['/usr/share/fifo-ao/pipe'], files: { '/usr/share/fifo-ao/README': 'x\n' } }, tmp);
    const r = await bed.run(['install', inDeb]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n'), r.stderr).toContain('error: /usr/share/fifo-ao/pipe (a FIFO, of the package fifo-ao) cannot be in an OSTree commit, which keeps only regular files, symlinks and directories.');
    expect(r.stderr).toMatch(/Leave out fifo-ao: on an OSTree system such a file is made at boot/);
    expect(r.stderr).not.toMatch(/Not a regular file or symlink/);
    expect(await snapshot(bed)).toEqual(before);
    await expectNothingLeft(bed);
    const byScript = await buildDeb({ name: 'fifo-script-ao', postinst: 'mkdir -p /usr/share/fifo-script-ao\nmkfifo /usr/share/fifo-script-ao/pipe' }, tmp);
    const s = await bed.run(['install', byScript]);
    expect(s.code).toBe(1);
    expect(s.stderr.split('\n'), s.stderr).toContain("error: /usr/share/fifo-script-ao/pipe (a FIFO, in no package's file list) cannot be in an OSTree commit, which keeps only regular files, symlinks and directories.");
    expect(await snapshot(bed)).toEqual(before);
    await expectNothingLeft(bed);
  });

  it('layers a local .deb and keeps it for later transactions', async () => {
    const deb = await buildDeb({ name: 'local-ao', version: '3.1', files: { '/usr/share/local-ao/README': 'local\n' } }, tmp);
    const r = await bed.run(['install', deb]);
    expect(r.code, r.stderr).toBe(0);
    const d = (await status(bed)).deployments[0]!;
    expect(d['requested-local-packages']).toEqual([expect.stringMatching(/^[0-9a-f]{64}:local-ao_3\.1_all$/)]);
    expect(existsSync(join(await bed.defaultDeployment(), 'usr/share/local-ao/README'))).toBe(true);
    // A later transaction rebuilds from the base and must re-apply the local package.
    const u = await bed.run(['uninstall', 'conf-ao']);
    expect(u.code, u.stderr).toBe(0);
    expect(existsSync(join(await bed.defaultDeployment(), 'usr/share/local-ao/README'))).toBe(true);
    expect(existsSync(join(await bed.defaultDeployment(), 'usr/etc/conf-ao.conf'))).toBe(false);
    await expectNothingLeft(bed);
  });

  it('installs from a file: repository (apt reads those in place; the copy is checked against the index)', async () => {
    const fileRepo = await makeAptRepo(join(tmp, 'file-repo'), [{ name: 'file-ao', version: '1.2', files: { '/usr/share/file-ao/README': 'from a file: repository\n' } }]);
    appendFileSync(join(await bed.defaultDeployment(), 'etc/apt/sources.list'), `deb [trusted=yes] file:${fileRepo.dir} ./\n`);
    // A package that no longer matches the index is refused (by apt's own check, before ours).
    const deb = join(fileRepo.dir, 'pool', 'file-ao_1.2_all.deb');
    const good = readFileSync(deb);
    appendFileSync(deb, 'tampered');
    const before = await snapshot(bed);
    const bad = await bed.run(['install', 'file-ao']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Hash Sum mismatch[\s\S]*file-ao_1\.2_all\.deb|file-ao_1\.2_all\.deb[\s\S]*Hash Sum mismatch/);
    expect(await snapshot(bed)).toEqual(before);
    writeFileSync(deb, good);
    const r = await bed.run(['install', 'file-ao']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(await bed.defaultDeployment(), 'usr/share/file-ao/README'), 'utf8')).toBe('from a file: repository\n');
    await expectNothingLeft(bed);
  });

  it('uninstall --all returns to the base commit', async () => {
    const r = await bed.run(['uninstall', '--all']);
    expect(r.code, r.stderr).toBe(0);
    const d = (await status(bed)).deployments[0]!;
    expect(d['requested-packages']).toEqual([]);
    expect(d['base-checksum']).toBeUndefined();
    expect(await originOf(bed)).toMatch(/^refspec=/m);
    await expectNothingLeft(bed);
  });

  it('LockLayering=true in apt-ostree.conf refuses new layered packages', async () => {
    const etc = join(await bed.defaultDeployment(), 'etc', 'apt-ostree');
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'apt-ostree.conf'), '[Daemon]\nLockLayering=true\n');
    try {
      const before = await snapshot(bed);
      const r = await bed.run(['install', 'svc-ao']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/layering is locked.*LockLayering=true.*svc-ao/);
      expect(await snapshot(bed)).toEqual(before);
    } finally {
      rmSync(join(etc, 'apt-ostree.conf'));
    }
  });

  it('MaxConcurrentDownloads and DownloadTimeout of apt-ostree.conf reach apt (refresh-md, install)', async () => {
    const deployment = await bed.defaultDeployment();
    const conf = join(deployment, 'etc', 'apt-ostree', 'apt-ostree.conf');
    const dump = join(tmp, 'apt-config-dump');
    // An apt-get first in PATH that saves apt's configuration (what apt-ostree gave it) before
    // each update. (Not a hook in the deployment's apt.conf.d: those never run on the host.)
    const wrappers = join(tmp, 'apt-get-wrapper');
    mkdirSync(wrappers, { recursive: true });
    writeFileSync(join(wrappers, 'apt-get'), `#!/bin/sh\nif [ "$1" = update ]; then apt-config dump > '${dump}'; fi\nexec /usr/bin/apt-get "$@"\n`, { mode: 0o755 });
    const env = { PATH: `${wrappers}:${process.env.PATH}` };
    const seen = () => {
      const text = readFileSync(dump, 'utf8');
      rmSync(dump);
      return { limit: /^Acquire::QueueHost::Limit "(\d+)";$/m.exec(text)?.[1], timeouts: ['http', 'https', 'ftp'].map((m) => new RegExp(`^Acquire::${m}::Timeout "(\\d+)";$`, 'm').exec(text)?.[1]) };
    };
    try {
      expect((await bed.run(['refresh-md'], { env })).code).toBe(0);
      expect(seen()).toEqual({ limit: '5', timeouts: ['300', '300', '300'] }); // the documented defaults
      mkdirSync(join(conf, '..'), { recursive: true });
      writeFileSync(conf, '[Daemon]\nMaxConcurrentDownloads=3\nDownloadTimeout=17\n');
      const refresh = await bed.run(['refresh-md'], { env });
      expect(refresh.code, refresh.stderr).toBe(0);
      expect(seen()).toEqual({ limit: '3', timeouts: ['17', '17', '17'] });
      const install = await bed.run(['install', '--dry-run', '--refresh', 'hello-ao'], { env });
      expect(install.code, install.stderr).toBe(0);
      expect(seen()).toEqual({ limit: '3', timeouts: ['17', '17', '17'] });
    } finally {
      rmSync(conf, { force: true });
    }
  });

  it('package lists: refreshed when stale or when the sources changed, not on every install; once more for a package they lack', async () => {
    const deployment = await bed.defaultDeployment();
    const conf = join(deployment, 'etc', 'apt-ostree', 'apt-ostree.conf');
    const refreshed = (r: { stderr: string }) => r.stderr.includes('Updating package lists');
    // Young lists of the same sources are used as they are, and -v says so.
    const young = await bed.run(['-v', 'install', '--dry-run', 'hello-ao']);
    expect(young.code, young.stderr).toBe(0);
    expect(young.stderr).toMatch(/package lists: using those refreshed \d+ s ago \(PackageListsMaxAge=86400 s; --refresh forces one\)/);
    expect(refreshed(young)).toBe(false);
    // -v accounts for the whole wall clock: Node's start-up, the lock and the load are phases too.
    for (const row of ["Start-up \\(Node, the command's modules\\)", 'Taking the sysroot lock', 'Loading the sysroot', 'Resolving packages', 'Outside the phases', 'Total \\(wall clock\\)']) {
      expect(young.stderr).toMatch(new RegExp(`^${row} +\\d+(\\.\\d+)? m?s$`, 'm'));
    }
    // A package published since: not in the lists, so they are refreshed once, and it is found.
    await bed.apt.add([{ name: 'late-ao', version: '1.0', files: { '/usr/share/late-ao/README': 'published later\n' } }]);
    const late = await bed.run(['-v', 'install', '--dry-run', 'late-ao']);
    expect(late.code, late.stderr).toBe(0);
    expect(late.stderr).toMatch(/package lists: refreshing \(late-ao not in the lists\), then resolving again/);
    expect(late.stdout).toMatch(/late-ao 1\.0/);
    // Not with --cache-only, which never downloads, and which --refresh contradicts.
    const unknown = await bed.run(['install', '--dry-run', '--cache-only', 'never-published-ao']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/not found in the apt repositories: never-published-ao/);
    expect(refreshed(unknown)).toBe(false);
    const both = await bed.run(['install', '--dry-run', '--cache-only', '--refresh', 'hello-ao']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--refresh downloads the package lists, and --cache-only forbids any download/);
    // --refresh, PackageListsMaxAge=0 and changed sources refresh young lists.
    const forced = await bed.run(['-v', 'install', '--dry-run', '--refresh', 'hello-ao']);
    expect(forced.stderr).toMatch(/package lists: refreshing \(--refresh\)/);
    expect(refreshed(forced)).toBe(true);
    mkdirSync(join(conf, '..'), { recursive: true });
    writeFileSync(conf, '[Daemon]\nPackageListsMaxAge=0\n');
    try {
      const aged = await bed.run(['-v', 'install', '--dry-run', 'hello-ao']);
      expect(aged.stderr).toMatch(/package lists: refreshing \(last refreshed \d+ s ago, PackageListsMaxAge=0 s\)/);
      expect(refreshed(aged)).toBe(true);
    } finally {
      rmSync(conf);
    }
    appendFileSync(join(deployment, 'etc', 'apt', 'sources.list'), '# a comment is a change of the file\n');
    const sources = await bed.run(['-v', 'install', '--dry-run', 'hello-ao']);
    expect(sources.stderr).toMatch(/package lists: refreshing \(the deployment's apt sources or keys changed since the last refresh\)/);
    expect(refreshed(sources)).toBe(true);
    await expectNothingLeft(bed);
  });

  it('two installs at once: one runs, the other fails at once naming the holder', async () => {
    const [a, b] = await Promise.all([bed.run(['install', 'hello-ao']), bed.run(['install', 'svc-ao'])]);
    const codes = [a.code, b.code].sort();
    expect(codes).toEqual([0, 1]);
    const loser = a.code === 1 ? a : b;
    expect(loser.stderr).toMatch(/locked by 'apt-ostree .*install .*' \(pid \d+/);
    await expectNothingLeft(bed);
  });

  it('SIGKILL during dpkg, then a successful install: the leftovers are cleaned up', async () => {
    const before = await snapshot(bed);
    const child = execa(process.execPath, [BIN, '--sysroot', bed.sysroot, 'install', 'sleep-ao'], { reject: false });
    await waitForOutput(child, /Installing \d+ package/);
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGKILL');
    await child;
    expect(await snapshot(bed)).toEqual(before);
    const r = await bed.run(['install', 'conf-ao']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/stale lock/);
    expect(r.stderr).toMatch(/removing work left by an interrupted run/);
    await expectNothingLeft(bed);
  });

  it('SIGTERM during dpkg undoes everything and releases the lock', async () => {
    const before = await snapshot(bed);
    const child = execa(process.execPath, [BIN, '--sysroot', bed.sysroot, 'install', 'sleep-ao'], { reject: false });
    await waitForOutput(child, /Installing \d+ package/);
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    const res = await child;
    expect(res.exitCode).toBe(143);
    expect(await snapshot(bed)).toEqual(before);
    await expectNothingLeft(bed);
  });
});

function waitForOutput(child: ReturnType<typeof execa>, re: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output: ${seen}`)), 60_000);
    const on = (chunk: Buffer) => {
      seen += chunk.toString();
      if (re.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}
