/** Options shared by several commands (plain data; see spec.ts). */
import type { OptionSpec } from './spec-types.js';

export const GLOBAL_OPTIONS = [
  { name: 'sysroot', type: 'string', default: '/', valueName: 'PATH', describe: 'Operate on the OSTree sysroot at PATH instead of the running system' },
  { name: 'os', alias: ['stateroot'], type: 'string', valueName: 'NAME', complete: 'stateroots', describe: 'Operate on stateroot NAME (default: the booted or default deployment\'s)' },
  { name: 'quiet', alias: ['q'], type: 'boolean', describe: 'Print plain progress lines only, no spinners' },
  { name: 'verbose', alias: ['v'], type: 'boolean', describe: 'Print more detail, and stack traces on errors' },
  { name: 'dbus-compat', type: 'boolean', describe: 'Expose the org.projectatomic.aptostree1 DBus interface while the command runs' },
] as const satisfies readonly OptionSpec[];

/** Options shared by commands that change the sysroot. */
export const LOCK_OPTIONS = [
  { name: 'lock-wait', type: 'number', valueName: 'SECONDS', describe: 'Wait up to SECONDS for another apt-ostree command to finish instead of failing at once (no value: wait forever)' },
] as const satisfies readonly OptionSpec[];

export const UNCHANGED_EXIT_77 = {
  name: 'unchanged-exit-77', type: 'boolean', describe: 'Exit with status 77 when nothing changed',
} as const satisfies OptionSpec;

/** Stage the new deployment locked: ostree does not finalize it at shutdown until `finalize-deployment`. */
export const LOCK_FINALIZATION = {
  name: 'lock-finalization',
  type: 'boolean',
  describe: 'Stage the new deployment so that it is not finalized at shutdown: it boots only after `apt-ostree finalize-deployment` (running system only)',
} as const satisfies OptionSpec;

export const REBOOT = { name: 'reboot', alias: ['r'], type: 'boolean', describe: 'Reboot after the operation succeeds' } as const satisfies OptionSpec;
