/**
 * apt-ostree's own Debian package (scripts/build-deb.mjs, `npm run deb`): built for real,
 * checked by lintian, installed into a fresh Debian 13 (trixie) minbase root with dpkg -i plus
 * apt-get -f install (dependencies from deb.debian.org), run there, and purged again.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bwrapArgs } from '../../src/system/bwrap.js';
import { aptOstreeDeb } from '../fixtures/apt-ostree-deb.js';
import { PROJECT_ROOT, sh } from '../fixtures/env.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';
import { trixieAptArchives, trixieTarball } from '../fixtures/trixie.js';

const VERSION = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version as string;

describe('the apt-ostree .deb', () => {
  let tmp: string;
  let deb: string;
  let root: string;

  /** A shell command as root in the trixie root, with network (apt fetches the dependencies). */
  async function inTrixie(cmd: string) {
    const args = bwrapArgs(
      {
        root,
        network: true,
        binds: [
          { src: '/etc/resolv.conf', dest: '/etc/resolv.conf', readOnly: true },
          { src: trixieAptArchives(), dest: '/var/cache/apt/archives' },
          { src: dirname(deb), dest: '/srv/dist', readOnly: true },
        ],
      },
      // The sandbox's /tmp is a fresh tmpfs of mode 0755; apt's unprivileged _apt needs 1777.
      ['sh', '-c', `chmod 1777 /tmp && ${cmd}`],
    );
    const r = await execa('bwrap', args, { reject: false, all: true, timeout: 900_000 });
    return { code: r.exitCode ?? -1, out: String(r.all) };
  }

  beforeAll(async () => {
    tmp = makeTemp('deb-');
    // Built for real once for this tree's content, and shared with the boot tests (apt-ostree-deb.ts).
    deb = (await aptOstreeDeb()).path;
    root = join(tmp, 'trixie');
    mkdirSync(root);
    await sh('tar', ['-C', root, '-xf', await trixieTarball()]);
  }, 900_000);
  afterAll(async () => removeTemp(tmp));

  it('is named after the version and carries the expected control fields and files', async () => {
    expect(basename(deb)).toBe(`apt-ostree_${VERSION}_all.deb`);
    const field = async (f: string) => (await sh('dpkg-deb', ['-f', deb, f])).trim();
    expect(await field('Package')).toBe('apt-ostree');
    expect(await field('Version')).toBe(VERSION);
    expect(await field('Architecture')).toBe('all');
    expect(await field('Section')).toBe('admin');
    expect(await field('Priority')).toBe('optional');
    expect(await field('Depends')).toMatch(/^nodejs \(>= 20\), ostree, bubblewrap, attr, apt\b/);
    // compose --gpg-sign: gpg (apt-ostree's key check) and gpg-agent (ostree signs through gpgme,
    // which asks the agent); admin image and rollback on ostree < 2024.1: the disk tools, GRUB, python3-gi.
    expect(await field('Recommends')).toBe('mmdebstrap, gpg, gpg-agent, fdisk, dosfstools, mtools, grub-common, grub-pc-bin, grub-efi-amd64-bin, qemu-utils, python3-gi, gir1.2-ostree-1.0');
    const files = (await sh('dpkg-deb', ['-c', deb])).split('\n').map((l) => l.replace(/^.*? \.\//, '/').replace(/ -> .*$/, ''));
    for (const f of [
      '/usr/bin/apt-ostree',
      '/usr/lib/apt-ostree/bin/apt-ostree',
      '/usr/lib/apt-ostree/lib/cli/main.js',
      '/usr/lib/apt-ostree/lib/bundle/main.js',
      '/usr/lib/apt-ostree/package.json',
      '/usr/lib/apt-ostree/node_modules/yargs/package.json',
      '/usr/lib/apt-ostree/data/apt-guard/apt-guard',
      '/usr/lib/apt-ostree/data/grub/grub-mkconfig-ostree',
      '/usr/lib/apt-ostree/data/ostree/ostree-set-default',
      '/usr/lib/apt-ostree/data/ostree/ostree-tree-without',
      '/usr/share/man/man8/apt-ostree.8.gz',
      '/usr/share/man/man5/apt-ostree.conf.5.gz',
      '/usr/share/bash-completion/completions/apt-ostree',
      '/usr/share/zsh/vendor-completions/_apt-ostree',
      '/usr/lib/systemd/system/apt-ostree-automatic.service',
      '/usr/lib/systemd/system/apt-ostree-automatic.timer',
      '/usr/lib/systemd/system/apt-ostree-health-check.service',
      '/usr/lib/systemd/system/multi-user.target.wants/apt-ostree-health-check.service',
      '/usr/lib/apt-ostree/health.d/10-multi-user.units',
      '/usr/lib/apt-ostree/health.d/30-usr-read-only',
      '/usr/lib/apt-ostree/data/health/grub-boot-counting.cfg',
      '/etc/grub.d/08_apt-ostree-boot-counting',
      '/usr/share/doc/apt-ostree/copyright',
      '/usr/share/doc/apt-ostree/examples/apt-ostree.conf',
    ]) {
      expect(files, f).toContain(f);
    }
    // The DBus policy and introspection data and the polkit actions, when the repository has them.
    if (existsSync(join(PROJECT_ROOT, 'dbus/org.projectatomic.aptostree1.conf'))) expect(files).toContain('/usr/share/dbus-1/system.d/org.projectatomic.aptostree1.conf');
    if (existsSync(join(PROJECT_ROOT, 'polkit/org.projectatomic.aptostree1.policy'))) expect(files).toContain('/usr/share/polkit-1/actions/org.projectatomic.aptostree1.policy');
    if (existsSync(join(PROJECT_ROOT, 'dbus/org.projectatomic.aptostree1.xml'))) expect(files).toContain('/usr/share/dbus-1/interfaces/org.projectatomic.aptostree1.xml');
    // Kept small: no development dependencies, docs, type declarations or source maps.
    expect(files.some((f) => /node_modules\/(typescript|vitest|@types)\//.test(f))).toBe(false);
    expect(files.some((f) => /\.(d\.ts|map|md)$/.test(f))).toBe(false);
    expect(readFileSync(deb).length).toBeLessThan(5 * 1024 * 1024);
  });

  it('lintian reports no errors', async () => {
    const r = await execa('lintian', ['--no-tag-display-limit', deb], { reject: false, all: true });
    const errors = String(r.all).split('\n').filter((l) => /^E: /.test(l));
    expect(errors, String(r.all)).toEqual([]);
  }, 300_000);

  it('installs into a fresh trixie root with dpkg -i and apt-get -f install, and runs there', async () => {
    const name = `/srv/dist/apt-ostree_${VERSION}_all.deb`;
    // Without its dependencies dpkg unpacks it and leaves it unconfigured.
    const first = await inTrixie(`dpkg -i ${name}`);
    expect(first.code, first.out).not.toBe(0);
    expect(first.out).toMatch(/dependency problems|depends on nodejs/);
    const fix = await inTrixie('apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get -f install -y -q --no-install-recommends');
    expect(fix.code, fix.out).toBe(0);
    const status = await inTrixie("dpkg-query -W -f='${Status} ${Version}' apt-ostree && echo && node --version");
    expect(status.code, status.out).toBe(0);
    expect(status.out).toContain(`install ok installed ${VERSION}`);
    expect(status.out).toMatch(/^v(2\d|[3-9]\d)\./m);

    const help = await inTrixie('apt-ostree --help');
    expect(help.code, help.out).toBe(0);
    expect(help.out).toContain('Usage: apt-ostree <command> [options]');
    expect(help.out).toMatch(/upgrade/);
    const version = await inTrixie('apt-ostree --version');
    expect(version.code, version.out).toBe(0);
    expect(version.out).toContain(`Version: '${VERSION}'`);
    expect(version.out).toMatch(/Features:/);

    // Every command module loads with the pruned node_modules (nothing the program imports was dropped).
    const load = await inTrixie(
      `cd /usr/lib/apt-ostree && node --input-type=module -e "const { flattenCommands } = await import('/usr/lib/apt-ostree/lib/cli/spec.js'); let n = 0; for (const { spec } of flattenCommands()) if (spec.load) { await spec.load(); n++; } console.log('loaded', n, 'command modules');"`,
    );
    expect(load.code, load.out).toBe(0);
    expect(load.out).toMatch(/loaded \d+ command modules/);
    // A command that does work: a clean apt-ostree error on a directory that is no sysroot.
    const st = await inTrixie('mkdir -p /tmp/empty && apt-ostree status --sysroot /tmp/empty');
    expect(st.out).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find module|at .*\.js:\d+/);
    // The completion loads in bash; the man page is there, compressed.
    const comp = await inTrixie('bash -c ". /usr/share/bash-completion/completions/apt-ostree && complete -p apt-ostree"');
    expect(comp.code, comp.out).toBe(0);
    expect(comp.out).toMatch(/complete .* apt-ostree/);
    const man = await inTrixie('zcat /usr/share/man/man8/apt-ostree.8.gz | head -3');
    expect(man.out).toMatch(/\.TH APT\\-OSTREE 8/);

    // And it goes away cleanly.
    const purge = await inTrixie('dpkg --purge apt-ostree && ! test -e /usr/lib/apt-ostree && ! test -e /usr/bin/apt-ostree && echo purged');
    expect(purge.code, purge.out).toBe(0);
    expect(purge.out).toContain('purged');
  }, 900_000);
});
