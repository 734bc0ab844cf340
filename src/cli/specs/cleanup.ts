import { LOCK_OPTIONS } from '../options.js';
import type { CommandSpec } from '../spec-types.js';

export const CLEANUP = {
  name: 'cleanup',
  describe: 'Remove the pending or rollback deployment, unused objects and cached packages',
  mutating: true,
  options: [
    { name: 'pending', alias: ['p'], type: 'boolean', describe: 'Remove the pending deployment (staged, or deployed but not booted yet) on the running system' },
    { name: 'rollback', alias: ['r'], type: 'boolean', describe: 'Remove the rollback deployment(s); pinned ones are kept' },
    { name: 'base', alias: ['b'], type: 'boolean', describe: 'Prune unused refs and objects (including unused layered commits), the downloaded-package cache, the kept base checkouts and the kept packages of layers no deployment has' },
    { name: 'repomd', alias: ['m'], type: 'boolean', describe: 'Remove the cached apt package lists' },
    ...LOCK_OPTIONS,
  ],
  examples: [
    ['apt-ostree cleanup -r', 'Drop the rollback deployment to free space'],
    ['apt-ostree cleanup -b -m', 'Prune unused objects and the package caches'],
  ],
} as const satisfies CommandSpec;
