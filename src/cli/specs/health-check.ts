import type { CommandSpec } from '../spec-types.js';

export const HEALTH_CHECK = {
  name: 'health-check',
  describe:
    'Run the health checks (/usr/lib/apt-ostree/health.d, /etc/apt-ostree/health.d: executables that exit 0 when healthy, NAME.units files of units that must be active) and print what each found; exit 1 when one failed',
  options: [
    {
      name: 'boot',
      type: 'boolean',
      describe:
        "Run as the boot's health check (apt-ostree-health-check.service): roll back after a boot loader fallback, record the result where `status` shows it, then mark the boot good or, on a new deployment whose checks failed, reboot ([Health] RebootOnFailure)",
    },
    {
      name: 'checks-dir',
      type: 'array',
      valueName: 'DIR',
      describe: 'Run the checks in DIR instead (repeatable; a check in a later DIR replaces one of the same name in an earlier DIR)',
    },
    { name: 'json', type: 'boolean', describe: 'Print the results as JSON' },
  ],
  examples: [
    ['apt-ostree health-check', 'Run the checks now and see what each says'],
    ['apt-ostree health-check --checks-dir /etc/apt-ostree/health.d', "Run only the admin's checks"],
  ],
} as const satisfies CommandSpec;
