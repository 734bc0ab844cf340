// The grubenv reader and writer against GRUB's own grub-editenv (package grub-common): each side
// reads what the other wrote, byte for byte where both write the same variables. Needs GRUB, hence
// an integration test; test/unit/engine/deployments/grubenv.test.ts has the cases without it.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GRUBENV_SIZE, readGrubEnv, serializeGrubEnv, updateGrubEnv, writeGrubEnv } from '../../../src/engine/deployments/grubenv.js';
import { makeTemp, removeTemp } from '../../fixtures/tmp.js';

const dir = { path: makeTemp('grubenv-') };
afterAll(() => removeTemp(dir.path));

const editenv = (file: string, ...args: string[]) => execFileSync('grub-editenv', [file, ...args], { encoding: 'utf8' });

describe('grubenv', () => {
  it('reads what grub-editenv wrote, values with = and spaces included', () => {
    const f = join(dir.path, 'a');
    editenv(f, 'create');
    editenv(f, 'set', 'boot_counter=3', 'boot_success=0', 'saved_entry=Debian GNU/Linux, a=b');
    expect(readFileSync(f).length).toBe(GRUBENV_SIZE);
    expect([...readGrubEnv(f)!]).toEqual([['boot_counter', '3'], ['boot_success', '0'], ['saved_entry', 'Debian GNU/Linux, a=b']]);
  });

  it('writes the same bytes as grub-editenv, and grub-editenv lists what it wrote', () => {
    const ours = join(dir.path, 'ours');
    const theirs = join(dir.path, 'theirs');
    editenv(theirs, 'create');
    editenv(theirs, 'set', 'boot_counter=3');
    editenv(theirs, 'set', 'boot_success=0');
    editenv(theirs, 'set', 'boot_counter=2');
    editenv(theirs, 'unset', 'boot_success');
    writeGrubEnv(ours, new Map([['boot_counter', '3'], ['boot_success', '0']]));
    updateGrubEnv(ours, (env) => {
      env.set('boot_counter', '2');
      env.delete('boot_success');
      return env;
    });
    expect(readFileSync(ours).equals(readFileSync(theirs))).toBe(true);
    expect(editenv(ours, 'list')).toBe('boot_counter=2\n');
  });

  it('escapes backslashes and newlines as GRUB does', () => {
    const theirs = join(dir.path, 'esc');
    editenv(theirs, 'create');
    editenv(theirs, 'set', 'x=a\\b\nc');
    expect(readGrubEnv(theirs)!.get('x')).toBe('a\\b\nc');
    expect(serializeGrubEnv(new Map([['x', 'a\\b\nc']])).equals(readFileSync(theirs))).toBe(true);
  });

  it('keeps the size of a larger block, and refuses what does not fit', () => {
    const big = join(dir.path, 'big');
    writeFileSync(big, Buffer.concat([Buffer.from('# GRUB Environment Block\n# mine\n'), Buffer.alloc(2048 - 32, '#')]));
    writeGrubEnv(big, new Map([['k', 'v']]));
    expect(readFileSync(big).length).toBe(2048);
    expect(readFileSync(big, 'latin1')).toMatch(/^# GRUB Environment Block\n# mine\nk=v\n#/);
    expect(editenv(big, 'list')).toBe('k=v\n');
    expect(() => serializeGrubEnv(new Map([['k', 'x'.repeat(1100)]]))).toThrow(/no room/);
  });
});
