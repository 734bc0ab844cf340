/**
 * The boot counting script in real GRUB: grub-emu (GRUB built to run as a program, package
 * grub-emu) boots a disk image made here (ext4, as the root file system holding /boot) whose
 * grub.cfg sources data/health/grub-boot-counting.cfg, the file apt-ostree ships, and prints the
 * entry it would boot. GRUB's own save_env writes the environment block on the disk; it is read
 * back after every boot with debugfs and compared with the state machine (loaderBoot). The
 * firmware boots of the boot tests then only have to show that the disk's GRUB does the same.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { armCounter, loaderBoot, markGood } from '../../src/engine/deployments/boot-counting.js';
import { parseGrubEnv, readGrubEnv, writeGrubEnv, type GrubEnv } from '../../src/engine/deployments/grubenv.js';
import { PROJECT_ROOT } from '../fixtures/env.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('GRUB boot counting in GRUB (grub-emu)', () => {
  let tmp: string;
  let disk: string;

  /** A disk whose /boot/grub holds the shipped script, a grub.cfg using it, and `env` as grubenv. */
  async function makeDisk(env: GrubEnv): Promise<void> {
    const root = join(tmp, 'root');
    const grub = join(root, 'boot', 'grub');
    mkdirSync(grub, { recursive: true });
    copyFileSync(join(PROJECT_ROOT, 'data', 'health', 'grub-boot-counting.cfg'), join(grub, 'counting.cfg'));
    // As the generators write it: the header sets default=0, the counting comes before the entries.
    writeFileSync(join(grub, 'grub.cfg'), [
      'set default=0',
      'source "${prefix}/counting.cfg"',
      'echo "BOOTS entry=${default} boot_counter=${boot_counter} boot_success=${boot_success}"',
      'reboot',
      '',
    ].join('\n'));
    writeGrubEnv(join(grub, 'grubenv'), env);
    await execa('truncate', ['-s', '16M', disk]);
    await execa('mkfs.ext4', ['-q', '-F', '-d', root, disk]);
  }

  /** One boot: the entry GRUB chose, and the block as GRUB left it on the disk. */
  async function boot(): Promise<{ entry: number; env: GrubEnv }> {
    const r = await execa('grub-emu', ['-m', join(tmp, 'device.map'), '-r', 'hd0', '-d', '/boot/grub'], { timeout: 30_000, reject: false, input: '' });
    const m = /BOOTS entry=(\d+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    const dumped = join(tmp, 'grubenv.out');
    await execa('debugfs', ['-R', `dump /boot/grub/grubenv ${dumped}`, disk]);
    return { entry: Number(m![1]), env: parseGrubEnv(readFileSync(dumped))! };
  }

  beforeAll(() => {
    tmp = makeTemp('grub-emu-');
    disk = join(tmp, 'disk.img');
    writeFileSync(join(tmp, 'device.map'), `(hd0) ${disk}\n`);
  });
  afterAll(() => removeTemp(tmp));

  it('boots the new default for its tries, then entry 1, as the state machine says', async () => {
    let model = armCounter(new Map(), 3);
    await makeDisk(model);
    const entries: number[] = [];
    for (let i = 0; i < 5; i++) {
      const expected = loaderBoot(model);
      const seen = await boot();
      entries.push(seen.entry);
      expect(seen.entry).toBe(expected.entry);
      expect([...seen.env]).toEqual([...expected.env]);
      model = seen.env;
    }
    expect(entries).toEqual([0, 0, 0, 1, 1]);
    expect(model.get('boot_counter')).toBe('-1');
  }, 120_000);

  it('counts nothing once the boot was marked good, and keeps the other variables', async () => {
    await makeDisk(markGood(armCounter(new Map([['saved_entry', 'x']]), 2)));
    const before = readGrubEnv(join(tmp, 'root', 'boot', 'grub', 'grubenv'))!;
    for (let i = 0; i < 3; i++) {
      const seen = await boot();
      expect(seen.entry).toBe(0);
      expect([...seen.env]).toEqual([...before]);
    }
  }, 120_000);

  it('falls back on a counter it cannot count', async () => {
    await makeDisk(new Map([['boot_counter', '11'], ['boot_success', '0']]));
    const seen = await boot();
    expect(seen.entry).toBe(1);
    expect(seen.env.get('boot_counter')).toBe('-1');
  }, 60_000);

  it('counts down from the most tries there are', async () => {
    await makeDisk(armCounter(new Map(), 10));
    const seen = await boot();
    expect(seen).toEqual({ entry: 0, env: new Map([['boot_counter', '9'], ['boot_success', '0']]) });
  }, 60_000);
});
