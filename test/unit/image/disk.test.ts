import { describe, expect, it } from 'vitest';
import { parseSize } from '../../../src/image/disk.js';

describe('parseSize', () => {
  it('reads sizes with binary units, rounded down to whole MiB (the partitions are MiB-aligned)', () => {
    expect(parseSize('4G')).toBe(4 * 1024 ** 3);
    expect(parseSize('512M')).toBe(512 * 1024 ** 2);
    expect(parseSize('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('200000000')).toBe(200000000 - (200000000 % 1024 ** 2));
  });

  it('refuses what is not a size, and sizes too small for the boot partitions and ext4', () => {
    for (const bad of ['', 'lots', '-1G', '4X', '1e9', 'G']) expect(() => parseSize(bad), bad).toThrow(/is not a size/);
    expect(() => parseSize('1M')).toThrow(/too small/);
    expect(() => parseSize('64M')).toThrow(/too small/);
  });
});
