import { LOCK_FINALIZATION, LOCK_OPTIONS, REBOOT, UNCHANGED_EXIT_77 } from '../options.js';
import type { CommandSpec, OptionSpec } from '../spec-types.js';

const BYPASS_DRIVER = {
  name: 'bypass-driver',
  type: 'boolean',
  describe: 'Go ahead even though an update driver is registered (see deploy --register-driver)',
} as const satisfies OptionSpec;

const DISALLOW_DOWNGRADE = { name: 'disallow-downgrade', type: 'boolean', describe: 'Refuse a base commit older than the current one (whatever else is given)' } as const satisfies OptionSpec;

/** The options of upgrade, deploy and rebase, but --unchanged-exit-77 (upgrade has an older name for it too). */
const MOVE_COMMON = [
  { name: 'cache-only', alias: ['C'], type: 'boolean', describe: 'Do not download: use the commits and packages already on the system' },
  { name: 'refresh', type: 'boolean', describe: 'Refresh the package lists of layered packages first, whatever their age (upgrade always does; see PackageListsMaxAge in apt-ostree.conf(5))' },
  { name: 'download-only', type: 'boolean', describe: 'Download the commit and packages, then stop without deploying' },
  { name: 'allow-downgrade', type: 'boolean', describe: 'Allow a base commit older than the current one' },
  REBOOT,
  LOCK_FINALIZATION,
  BYPASS_DRIVER,
  ...LOCK_OPTIONS,
] as const satisfies readonly OptionSpec[];

/** The options of upgrade, deploy and rebase. */
export const MOVE_OPTIONS = [...MOVE_COMMON, UNCHANGED_EXIT_77] as const satisfies readonly OptionSpec[];

export const UPGRADE = {
  name: 'upgrade',
  aliases: ['update'],
  describe: 'Fetch the newest base image of the origin and deploy it with every layered package re-applied',
  mutating: true,
  options: [
    { name: 'check', type: 'boolean', describe: 'Only say whether an upgrade is available; change nothing' },
    { name: 'preview', alias: ['check-diff'], type: 'boolean', describe: 'Like --check, and also list the package changes of the new base' },
    {
      name: 'trigger-automatic-update-policy',
      type: 'boolean',
      describe: 'Do what AutomaticUpdatePolicy in apt-ostree.conf says (none, check, stage or apply; run by apt-ostree-automatic.timer); only apply reboots, as [Updates] RebootStrategy allows',
    },
    ...MOVE_COMMON,
    { ...UNCHANGED_EXIT_77, alias: ['upgrade-unchanged-exit-77'] },
  ],
  examples: [
    ['apt-ostree upgrade', 'Prepare the newest image for the next boot'],
    ['apt-ostree upgrade --check --unchanged-exit-77', 'Exit 77 when there is nothing new'],
    ['apt-ostree upgrade --trigger-automatic-update-policy', 'Check for or stage an update as apt-ostree.conf says (what the daily timer runs)'],
  ],
} as const satisfies CommandSpec;

export const DEPLOY = {
  name: 'deploy',
  describe: 'Deploy a given commit or version of the current ref, with the layered packages re-applied',
  positionals: [
    {
      name: 'revision',
      describe: 'A commit checksum (or a unique prefix), or a version of the ref\'s history; revision=CHECKSUM and version=VERSION say which. Needed unless --register-driver is given ("" then only registers)',
    },
  ],
  mutating: true,
  options: [
    { name: 'preview', type: 'boolean', describe: 'Only list the package changes of the commit\'s base; change nothing' },
    { name: 'skip-branch-check', type: 'boolean', describe: 'Accepted for rpm-ostree\'s update drivers: a commit given by its checksum is deployed whether or not it is on the ref\'s branch anyway' },
    DISALLOW_DOWNGRADE,
    {
      name: 'register-driver',
      type: 'string',
      valueName: 'NAME',
      describe: 'Register NAME (an update agent, with its systemd unit) as the driver of updates: status shows it, and upgrade, deploy and rebase refuse to run beside it without --bypass-driver. With an empty REVISION, only register',
    },
    ...MOVE_OPTIONS,
  ],
  examples: [
    ['apt-ostree deploy 20261101.1', 'Go to version 20261101.1 of the current ref (pins the origin to it)'],
    ['apt-ostree deploy --lock-finalization revision=1a2b3c…', 'Stage a commit that boots only after `apt-ostree finalize-deployment 1a2b3c…` (what update drivers do)'],
    ['apt-ostree deploy --register-driver=MyAgent ""', 'Register the calling update agent as the driver of updates'],
  ],
} as const satisfies CommandSpec;

export const REBASE = {
  name: 'rebase',
  describe: 'Switch to another ref (and remote), with the layered packages re-applied',
  positionals: [
    { name: 'refspec', describe: 'REMOTE:REF, REF (same remote), or REMOTE: (same ref)', required: true },
    { name: 'revision', describe: 'A commit or version of the new ref (default: its newest)' },
  ],
  mutating: true,
  options: [
    { name: 'skip-purge', type: 'boolean', describe: 'Keep the old ref in the repository' },
    { name: 'url', type: 'string', valueName: 'URL', describe: 'The URL of REMOTE: adds it (or changes its URL); needs --gpg-import FILE or --no-verify unless it has keys already' },
    { name: 'gpg-import', type: 'string', valueName: 'FILE', complete: 'files', describe: 'Import GPG public keys from FILE for REMOTE, which then verifies its commits' },
    { name: 'no-verify', type: 'boolean', describe: 'With --url: accept unsigned content from the new remote, knowingly (recorded, shown by status)' },
    DISALLOW_DOWNGRADE,
    ...MOVE_OPTIONS,
  ],
  examples: [
    ['apt-ostree rebase origin:debian/13/x86_64/base', 'Follow another branch of the image'],
    ['apt-ostree rebase trixie:debian/13/x86_64/base --url https://images.example.org/trixie --gpg-import trixie.asc', 'Switch to another server, verified with its publisher\'s key'],
  ],
} as const satisfies CommandSpec;

export const FINALIZE_DEPLOYMENT = {
  name: 'finalize-deployment',
  describe: 'Let the staged deployment that --lock-finalization held back be finalized, and reboot into it',
  positionals: [{ name: 'checksum', describe: 'The base commit the staged deployment is expected to have (as update drivers pass it)' }],
  mutating: true,
  options: [
    { name: 'allow-missing-checksum', type: 'boolean', describe: 'Go ahead without CHECKSUM' },
    { name: 'allow-unlocked', type: 'boolean', describe: 'Do not fail when the staged deployment was not locked (reboot into it all the same)' },
    ...LOCK_OPTIONS,
  ],
  examples: [['apt-ostree finalize-deployment 1a2b3c…', 'Boot the staged deployment of base 1a2b3c… now']],
} as const satisfies CommandSpec;
