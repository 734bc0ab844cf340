import { LOCK_FINALIZATION, LOCK_OPTIONS, REBOOT, UNCHANGED_EXIT_77 } from '../options.js';
import type { CommandSpec, OptionSpec } from '../spec-types.js';

/** The options of install and uninstall, in their order; uninstall has no --download-only. */
const COMMON_FIRST = [
  { name: 'dry-run', alias: ['n'], type: 'boolean', describe: 'Resolve and print what would change; change nothing' },
  { name: 'assumeyes', alias: ['y'], type: 'boolean', describe: 'Do not ask for confirmation (apt-ostree never asks; accepted for scripts written for rpm-ostree)' },
  { name: 'idempotent', type: 'boolean', describe: 'Do nothing, successfully, if a package is already (or not) requested' },
  { name: 'cache-only', alias: ['C'], type: 'boolean', describe: 'Use only downloaded packages and package lists; never access the network' },
  { name: 'refresh', type: 'boolean', describe: 'Refresh the package lists first, whatever their age (see PackageListsMaxAge in apt-ostree.conf(5))' },
] as const satisfies readonly OptionSpec[];
const ALLOW_INACTIVE = { name: 'allow-inactive', type: 'boolean', describe: 'Allow requesting a package that the base image already contains' } as const satisfies OptionSpec;
const DOWNLOAD_ONLY = { name: 'download-only', type: 'boolean', describe: 'Download the packages into the cache and stop' } as const satisfies OptionSpec;
const COMMON_LAST = [UNCHANGED_EXIT_77, REBOOT, LOCK_FINALIZATION, ...LOCK_OPTIONS] as const satisfies readonly OptionSpec[];

export const INSTALL = {
  name: 'install',
  describe: 'Layer packages (or local .deb files) on top of the image, as a new deployment',
  positionals: [{ name: 'packages', describe: 'Packages as apt takes them (name, name=version, name/suite) or paths of .deb files', variadic: true, required: true, complete: 'available-packages' }],
  mutating: true,
  options: [
    ...COMMON_FIRST,
    DOWNLOAD_ONLY,
    ...COMMON_LAST,
    ALLOW_INACTIVE,
    { name: 'uninstall', type: 'array', valueName: 'PKG', complete: 'layered-packages', describe: 'Also remove this layered package, in the same transaction' },
    { name: 'apply-live', alias: ['A'], type: 'boolean', describe: 'Then apply the new deployment to the running system (apt-ostree apply-live; needs LiveFs in apt-ostree.conf(5))' },
  ],
  examples: [
    ['apt-ostree install htop', 'Layer htop; it is there after the next boot'],
    ['apt-ostree install ./vendor-tool_1.2_amd64.deb', 'Layer a local package file'],
    ['apt-ostree install --dry-run htop', 'Show what would be installed'],
    ['apt-ostree install --apply-live htop', 'Layer htop and make it usable now, without a reboot'],
  ],
} as const satisfies CommandSpec;

export const UNINSTALL = {
  name: 'uninstall',
  aliases: ['remove'],
  describe: 'Remove layered packages, as a new deployment',
  positionals: [{ name: 'packages', describe: 'Names of layered packages', variadic: true, complete: 'layered-packages' }],
  mutating: true,
  options: [
    ...COMMON_FIRST,
    ...COMMON_LAST,
    { ...ALLOW_INACTIVE, describe: 'Allow --install of a package that the base image already contains (rpm-ostree\'s install and uninstall share their options)' },
    { name: 'all', type: 'boolean', describe: 'Remove every layered package' },
    { name: 'install', type: 'array', valueName: 'PKG', complete: 'available-packages', describe: 'Also layer this package, in the same transaction' },
  ],
  examples: [
    ['apt-ostree uninstall htop', 'Stop layering htop'],
    ['apt-ostree uninstall --all', 'Return to the plain image'],
  ],
} as const satisfies CommandSpec;
