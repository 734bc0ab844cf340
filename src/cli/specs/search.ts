import { LOCK_OPTIONS } from '../options.js';
import type { CommandSpec } from '../spec-types.js';

export const SEARCH: CommandSpec = {
  name: 'search',
  describe: 'Search the package lists of the deployment\'s apt sources',
  positionals: [{ name: 'terms', describe: 'Regular expressions matched against names and descriptions, as apt-cache search does', variadic: true, required: true }],
  options: [{ name: 'names-only', type: 'boolean', describe: 'Match package names only' }],
  examples: [['apt-ostree search editor', 'Find editors that can be layered']],
  load: () => import('../commands/search.js'),
};

export const INFO: CommandSpec = {
  name: 'info',
  describe: 'Show the details of a package from the deployment\'s apt sources',
  positionals: [{ name: 'packages', describe: 'Package names', variadic: true, required: true }],
  load: () => import('../commands/search.js').then((m) => ({ run: m.runInfo })),
};

export const REFRESH_MD: CommandSpec = {
  name: 'refresh-md',
  describe: 'Download fresh package lists from the deployment\'s apt sources',
  mutating: true,
  options: [...LOCK_OPTIONS],
  load: () => import('../commands/refresh-md.js'),
};
