import { LOCK_OPTIONS, REBOOT, UNCHANGED_EXIT_77 } from '../options.js';
import type { CommandSpec, OptionSpec } from '../spec-types.js';

const MOVE_OPTIONS: OptionSpec[] = [
  { name: 'cache-only', alias: ['C'], type: 'boolean', describe: 'Do not download: use the commits and packages already on the system' },
  { name: 'download-only', type: 'boolean', describe: 'Download the commit and packages, then stop without deploying' },
  { name: 'allow-downgrade', type: 'boolean', describe: 'Allow a base commit older than the current one' },
  UNCHANGED_EXIT_77,
  REBOOT,
  ...LOCK_OPTIONS,
];

export const UPGRADE: CommandSpec = {
  name: 'upgrade',
  aliases: ['update'],
  describe: 'Fetch the newest base image of the origin and deploy it with every layered package re-applied',
  mutating: true,
  options: [
    { name: 'check', type: 'boolean', describe: 'Only say whether an upgrade is available; change nothing' },
    { name: 'preview', type: 'boolean', describe: 'With --check: also list the package changes of the new base' },
    {
      name: 'trigger-automatic-update-policy',
      type: 'boolean',
      describe: 'Do what AutomaticUpdatePolicy in apt-ostree.conf says (none, check or stage; run by apt-ostree-automatic.timer); never reboots',
    },
    ...MOVE_OPTIONS,
  ],
  examples: [
    ['apt-ostree upgrade', 'Prepare the newest image for the next boot'],
    ['apt-ostree upgrade --check --unchanged-exit-77', 'Exit 77 when there is nothing new'],
    ['apt-ostree upgrade --trigger-automatic-update-policy', 'Check for or stage an update as apt-ostree.conf says (what the daily timer runs)'],
  ],
  load: () => import('../commands/upgrade.js'),
};

export const DEPLOY: CommandSpec = {
  name: 'deploy',
  describe: 'Deploy a given commit or version of the current ref, with the layered packages re-applied',
  positionals: [{ name: 'revision', describe: 'A commit checksum (or a unique prefix), or a version of the ref\'s history', required: true }],
  mutating: true,
  options: MOVE_OPTIONS,
  examples: [['apt-ostree deploy 20261101.1', 'Go to version 20261101.1 of the current ref (pins the origin to it)']],
  load: () => import('../commands/upgrade.js').then((m) => ({ run: m.runDeploy })),
};

export const REBASE: CommandSpec = {
  name: 'rebase',
  describe: 'Switch to another ref (and remote), with the layered packages re-applied',
  positionals: [
    { name: 'refspec', describe: 'REMOTE:REF, REF (same remote), or REMOTE: (same ref)', required: true },
    { name: 'revision', describe: 'A commit or version of the new ref (default: its newest)' },
  ],
  mutating: true,
  options: [{ name: 'skip-purge', type: 'boolean', describe: 'Keep the old ref in the repository' }, ...MOVE_OPTIONS],
  examples: [['apt-ostree rebase origin:debian/13/x86_64/base', 'Follow another branch of the image']],
  load: () => import('../commands/upgrade.js').then((m) => ({ run: m.runRebase })),
};
