import { LOCK_FINALIZATION, LOCK_OPTIONS, REBOOT, UNCHANGED_EXIT_77 } from '../options.js';
import type { CommandSpec, OptionSpec } from '../spec-types.js';

const COMMON = [
  { name: 'dry-run', alias: ['n'], type: 'boolean', describe: 'Resolve and print what would change; change nothing' },
  { name: 'cache-only', alias: ['C'], type: 'boolean', describe: 'Use only downloaded packages and package lists' },
  { name: 'refresh', type: 'boolean', describe: 'Refresh the package lists first, whatever their age (see PackageListsMaxAge in apt-ostree.conf(5))' },
  UNCHANGED_EXIT_77,
  REBOOT,
  LOCK_FINALIZATION,
  ...LOCK_OPTIONS,
] as const satisfies readonly OptionSpec[];

export const OVERRIDE_REMOVE = {
  name: 'remove',
  describe: 'Remove packages that the base image ships',
  positionals: [{ name: 'packages', describe: 'Names of base packages', variadic: true, required: true }],
  mutating: true,
  options: COMMON,
  examples: [['apt-ostree override remove nano', 'Drop nano from the image for this machine']],
} as const satisfies CommandSpec;

export const OVERRIDE_REPLACE = {
  name: 'replace',
  describe: 'Replace base packages with another version (NAME=VERSION from the apt sources, or a .deb file)',
  positionals: [{ name: 'packages', describe: 'NAME=VERSION or paths of .deb files', variadic: true, required: true, complete: 'files' }],
  mutating: true,
  options: COMMON,
  examples: [['apt-ostree override replace ./openssl_3.0.15-1_amd64.deb', 'Use a fixed build of a base package']],
} as const satisfies CommandSpec;

export const OVERRIDE_RESET = {
  name: 'reset',
  describe: 'Undo overrides: the base image\'s own packages come back',
  positionals: [{ name: 'packages', describe: 'Names of overridden packages', variadic: true }],
  mutating: true,
  options: [{ name: 'all', alias: ['a'], type: 'boolean', describe: 'Reset every override' }, ...COMMON],
} as const satisfies CommandSpec;

export const OVERRIDE = {
  name: 'override',
  describe: 'Remove or replace packages of the base image, as a new deployment (kept across upgrades)',
  subcommands: [OVERRIDE_REMOVE, OVERRIDE_REPLACE, OVERRIDE_RESET],
} as const satisfies CommandSpec;

export const RESET = {
  name: 'reset',
  describe: 'Go back to the plain base image: drop layered packages, overrides and initramfs settings',
  mutating: true,
  options: [
    { name: 'overlays', alias: ['l'], type: 'boolean', describe: 'Drop only the layered packages' },
    { name: 'overrides', alias: ['o'], type: 'boolean', describe: 'Drop only the base package overrides' },
    { name: 'initramfs', alias: ['i'], type: 'boolean', describe: 'Drop only the initramfs regeneration' },
    { name: 'install', type: 'array', valueName: 'PKG', describe: 'Layer this package in the same transaction', complete: 'available-packages' },
    ...COMMON,
  ],
} as const satisfies CommandSpec;

export const INITRAMFS = {
  name: 'initramfs',
  describe: 'Regenerate the initramfs on this machine (and keep doing it on upgrades), or go back to the image\'s',
  mutating: true,
  options: [
    { name: 'enable', type: 'boolean', describe: 'Regenerate the initramfs in every new deployment (dracut or initramfs-tools, whichever the image has)' },
    { name: 'disable', type: 'boolean', describe: 'Use the image\'s initramfs again' },
    { name: 'arg', type: 'array', valueName: 'ARG', describe: 'An argument for dracut / mkinitramfs (repeatable; with --enable)' },
    UNCHANGED_EXIT_77,
    REBOOT,
    LOCK_FINALIZATION,
    ...LOCK_OPTIONS,
  ],
  examples: [['apt-ostree initramfs --enable --arg=--add=lvm', 'Build the initramfs locally with an extra dracut module']],
} as const satisfies CommandSpec;
