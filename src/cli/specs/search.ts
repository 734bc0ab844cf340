import { LOCK_OPTIONS } from '../options.js';
import type { CommandSpec } from '../spec-types.js';

export const SEARCH = {
  name: 'search',
  describe: 'Search the package lists of the deployment\'s apt sources',
  positionals: [{ name: 'terms', describe: 'Regular expressions matched against names and descriptions, as apt-cache search does', variadic: true, required: true }],
  options: [{ name: 'names-only', type: 'boolean', describe: 'Match package names only' }],
  examples: [['apt-ostree search editor', 'Find editors that can be layered']],
} as const satisfies CommandSpec;

export const INFO = {
  name: 'info',
  describe: 'Show the details of a package from the deployment\'s apt sources',
  positionals: [{ name: 'packages', describe: 'Package names', variadic: true, required: true }],
} as const satisfies CommandSpec;

export const REFRESH_MD = {
  name: 'refresh-md',
  describe: 'Download fresh package lists from the deployment\'s apt sources',
  mutating: true,
  options: [
    { name: 'force', alias: ['f'], type: 'boolean', describe: 'Accepted for rpm-ostree\'s scripts: the lists are always fetched again (apt still skips an index the server says is unchanged)' },
    ...LOCK_OPTIONS,
  ],
} as const satisfies CommandSpec;
