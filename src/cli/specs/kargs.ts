import { LOCK_FINALIZATION, LOCK_OPTIONS, REBOOT, UNCHANGED_EXIT_77 } from '../options.js';
import type { CommandSpec } from '../spec-types.js';

export const KARGS = {
  name: 'kargs',
  describe: 'Show or change the kernel arguments (a change makes a new deployment)',
  mutating: true,
  options: [
    { name: 'append', type: 'array', valueName: 'KEY=VALUE', describe: 'Append a kernel argument (even if the key is already there, e.g. a second console=)' },
    { name: 'append-if-missing', type: 'array', valueName: 'KEY=VALUE', describe: 'Like --append, but only if exactly this argument is not there yet' },
    { name: 'delete', type: 'array', valueName: 'KEY[=VALUE]', describe: 'Delete a kernel argument; a key with several values needs KEY=VALUE' },
    { name: 'delete-if-present', type: 'array', valueName: 'KEY[=VALUE]', describe: 'Like --delete, but do nothing if the argument is not there' },
    { name: 'replace', type: 'array', valueName: 'KEY=VALUE=NEWVALUE', describe: 'Replace a value: KEY=OLD=NEW, or KEY=NEW when the key has one value' },
    { name: 'editor', type: 'boolean', describe: 'Edit the kernel arguments in $VISUAL/$EDITOR' },
    { name: 'deploy-index', type: 'string', valueName: 'INDEX', describe: 'Start from the kernel arguments of deployment INDEX (0 is the default) instead of the default deployment\'s' },
    { name: 'import-proc-cmdline', type: 'boolean', describe: 'Start from the running kernel\'s arguments (/proc/cmdline)' },
    UNCHANGED_EXIT_77,
    REBOOT,
    LOCK_FINALIZATION,
    ...LOCK_OPTIONS,
  ],
  examples: [
    ['apt-ostree kargs', 'Print the default deployment\'s kernel arguments'],
    ['apt-ostree kargs --append console=ttyS0,115200', 'Add a serial console (new deployment)'],
    ['apt-ostree kargs --replace loglevel=3=7 --delete quiet', 'Several changes in one new deployment'],
  ],
} as const satisfies CommandSpec;
