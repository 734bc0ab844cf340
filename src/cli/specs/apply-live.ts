import { LOCK_OPTIONS, UNCHANGED_EXIT_77 } from '../options.js';
import type { CommandSpec, OptionSpec } from '../spec-types.js';

/** --allow-replacement, shared with install --apply-live's refusal message. */
export const ALLOW_REPLACEMENT = {
  name: 'allow-replacement',
  type: 'boolean',
  describe: 'Also apply changes to packages the running system has (upgrades, downgrades, removals): running programs may see their files change',
} as const satisfies OptionSpec;

export const APPLY_LIVE = {
  name: 'apply-live',
  describe:
    'Apply the pending deployment to the running system now, through a transient overlay on /usr (needs LiveFs in apt-ostree.conf(5)); the next boot starts the pending deployment as usual',
  mutating: true,
  options: [ALLOW_REPLACEMENT, UNCHANGED_EXIT_77, ...LOCK_OPTIONS],
  examples: [
    ['apt-ostree apply-live', 'Make the packages just layered usable without a reboot'],
    ['apt-ostree apply-live --allow-replacement', 'Also apply upgraded or removed packages'],
  ],
} as const satisfies CommandSpec;
