// Download settings turned into ostree pull arguments, without running ostree; the same settings
// checked against the real apt-config and ostree are in test/integration/agreement/download-settings.test.ts.
import { describe, expect, it } from 'vitest';
import { pullArgs, staticDeltasPayOff } from '../../../src/system/ostree.js';

describe('ostree pull', () => {
  const opts = { repo: '/r', remote: 'origin', refs: ['os/base'], timeoutSeconds: 17 };

  it('passes DownloadTimeout as a low-speed limit where ostree has the options', async () => {
    const current = { staticDeltas: true };
    expect(await pullArgs(opts, { ...current, lowSpeedOptions: true })).toEqual(['--repo=/r', 'pull', '--low-speed-limit-bytes=1', '--low-speed-time-seconds=17', 'origin', 'os/base']);
    expect(await pullArgs(opts, { ...current, lowSpeedOptions: false })).toEqual(['--repo=/r', 'pull', 'origin', 'os/base']);
    expect(await pullArgs({ ...opts, localRepo: '/l' }, { ...current, lowSpeedOptions: true })).toEqual(['--repo=/r', 'pull-local', '/l', 'os/base']);
  });

  it('disables static deltas where ostree pulls them and the loose objects as well (before 2023.7, ostree #2053)', async () => {
    expect(await pullArgs(opts, { staticDeltas: false, lowSpeedOptions: false })).toEqual(['--repo=/r', 'pull', '--disable-static-deltas', 'origin', 'os/base']);
    expect(await pullArgs({ ...opts, commitOnly: true }, { staticDeltas: false, lowSpeedOptions: false })).toEqual(['--repo=/r', 'pull', '--commit-metadata-only', '--disable-static-deltas', 'origin', 'os/base']);
    expect(await pullArgs({ ...opts, localRepo: '/l' }, { staticDeltas: false })).toEqual(['--repo=/r', 'pull-local', '/l', 'os/base']);
    // The rule: the fix (ostree commit fc5aef6f) is first in 2023.7; Debian 12 has 2022.7, Debian 13 2025.2.
    for (const [version, pays] of [['2022.7', false], ['2023.6', false], ['2020.8', false], ['2023.7', true], ['2023.10', true], ['2024.1', true], ['2025.2', true], [undefined, true], ['unknown', true]] as const) {
      expect(staticDeltasPayOff(version), String(version)).toBe(pays);
    }
  });

});
