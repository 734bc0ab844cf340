import { LOCK_OPTIONS, REBOOT } from '../options.js';
import type { CommandSpec } from '../spec-types.js';

export const ROLLBACK = {
  name: 'rollback',
  describe: 'Make the previous deployment the default for the next boot (again to swap back)',
  mutating: true,
  options: [REBOOT, ...LOCK_OPTIONS],
  examples: [
    ['apt-ostree rollback', 'Boot the previous deployment next time'],
    ['apt-ostree rollback -r', 'The same, and reboot now'],
  ],
} as const satisfies CommandSpec;
