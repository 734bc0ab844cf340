import { LOCK_OPTIONS } from '../options.js';
import type { CommandSpec } from '../spec-types.js';

export const USROVERLAY = {
  name: 'usroverlay',
  aliases: ['unlock'],
  describe: 'Mount a writable overlay on /usr of the running system, for debugging (ostree admin unlock); changes are lost at reboot',
  mutating: true,
  options: [
    { name: 'hotfix', type: 'boolean', describe: 'Keep the changes across reboots (the deployment is cloned; roll back to drop them)' },
    { name: 'transient', type: 'boolean', describe: 'Mount the overlay read-only: remount /usr read-write yourself to change it (LIBMOUNT_FORCE_MOUNT2=always mount -o remount,rw /usr: util-linux 2.39 and newer refuse to remount an overlay otherwise)' },
    ...LOCK_OPTIONS,
  ],
  examples: [
    ['apt-ostree usroverlay', 'Make /usr writable until the next reboot'],
    ['apt-ostree usroverlay --hotfix', 'Make /usr writable, keeping the changes across reboots'],
  ],
} as const satisfies CommandSpec;
