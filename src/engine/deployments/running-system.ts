/** Whether a sysroot is the running system's: a module of its own, light enough for every command to load. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Is the sysroot the running system's (`/` with /run/ostree-booted)? What stages deployments. */
export function isRunningSystem(sysrootPath: string): boolean {
  return resolve(sysrootPath) === '/' && existsSync('/run/ostree-booted');
}
