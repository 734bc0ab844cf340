import { LOCK_OPTIONS } from '../options.js';
import type { CommandSpec } from '../spec-types.js';

const INDEX = { name: 'index', required: true, describe: 'The deployment, by its index as `apt-ostree status` lists them (0 = the first)' } as const;

export const PIN = {
  name: 'pin',
  describe:
    'Pin a deployment (ostree admin pin): it is kept as a rollback point through cleanup, new deployments and automatic updates until it is unpinned',
  mutating: true,
  positionals: [INDEX],
  options: [...LOCK_OPTIONS],
  examples: [
    ['apt-ostree pin 1', 'Keep the rollback deployment whatever comes next'],
    ['apt-ostree rollback --to 2', 'Later: make a kept deployment the default again'],
  ],
} as const satisfies CommandSpec;

export const UNPIN = {
  name: 'unpin',
  describe: 'Unpin a deployment: the next cleanup or new deployment may remove it again',
  mutating: true,
  positionals: [INDEX],
  options: [...LOCK_OPTIONS],
  examples: [['apt-ostree unpin 2', 'Let deployment 2 go with the next cleanup']],
} as const satisfies CommandSpec;
