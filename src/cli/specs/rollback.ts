import { LOCK_OPTIONS, REBOOT } from '../options.js';
import type { CommandSpec } from '../spec-types.js';

export const ROLLBACK = {
  name: 'rollback',
  describe: 'Make the previous deployment (or, with --to, any kept one) the default for the next boot (again to swap back)',
  mutating: true,
  options: [
    { name: 'to', type: 'number', valueName: 'INDEX', describe: 'Make the deployment at INDEX (as `apt-ostree status` lists them) the default instead: any kept rollback point ([Updates] KeepRollbacks, `apt-ostree pin`)' },
    REBOOT,
    ...LOCK_OPTIONS,
  ],
  examples: [
    ['apt-ostree rollback', 'Boot the previous deployment next time'],
    ['apt-ostree rollback -r', 'The same, and reboot now'],
    ['apt-ostree rollback --to 2', 'Boot deployment 2 next time'],
  ],
} as const satisfies CommandSpec;
