import type { CommandSpec } from '../spec-types.js';

export const STATUS = {
  name: 'status',
  describe: 'Show the deployments of the system',
  options: [
    { name: 'json', type: 'boolean', describe: 'Print the status as JSON (same shape as rpm-ostree status --json)' },
    { name: 'jsonpath', alias: ['J'], type: 'string', valueName: 'EXPR', describe: 'Print the parts of the JSON status that EXPR selects (e.g. $.deployments[0].checksum)' },
    { name: 'booted', alias: ['b'], type: 'boolean', describe: 'Show only the booted deployment' },
    {
      name: 'pending-exit-77',
      type: 'boolean',
      describe: 'Exit with status 77 when a deployment other than the booted one will boot next (a sysroot that is not the running system has none)',
    },
  ],
  examples: [
    ['apt-ostree status', 'Show the deployments, default first'],
    ['apt-ostree status --json', 'The same as JSON'],
    ['apt-ostree status --pending-exit-77 >/dev/null; [ $? = 77 ] && systemctl reboot', 'Reboot only when another deployment waits to boot'],
  ],
} as const satisfies CommandSpec;
