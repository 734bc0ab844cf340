import type { CommandSpec } from '../spec-types.js';

export const HISTORY = {
  name: 'history',
  describe:
    'Show the transactions run on the sysroot, newest first: when, the command, who ran it (or the timer), from which deployment to which, the packages that changed, how long it took and how it ended',
  options: [
    { name: 'json', type: 'boolean', describe: 'Print the entries as JSON (an array, newest first)' },
    { name: 'limit', alias: ['n'], type: 'number', valueName: 'N', describe: 'Show only the newest N entries' },
  ],
  examples: [
    ['apt-ostree history', 'What was done to this system, newest first'],
    ['apt-ostree history -n 5 --json', 'The last five transactions as JSON'],
  ],
} as const satisfies CommandSpec;
