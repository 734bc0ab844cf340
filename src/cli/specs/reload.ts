import type { CommandSpec } from '../spec-types.js';

export const RELOAD = {
  name: 'reload',
  describe: 'Check the configuration file and print the settings in effect',
  options: [{ name: 'json', type: 'boolean', describe: 'Print the file, its settings and any warnings as JSON' }],
  examples: [
    ['apt-ostree reload', 'Check /etc/apt-ostree/apt-ostree.conf and show the effective settings'],
    ['apt-ostree --sysroot /mnt/sysroot reload --json', "Check the configuration of another sysroot's default deployment"],
  ],
} as const satisfies CommandSpec;
