/**
 * The check of a new deployment's kernel arguments before anything is written: kargs.ts's
 * rules (characters GRUB reads as syntax, the command line's length), then, where GRUB boots
 * the sysroot and grub-script-check is installed, GRUB's own parser over the `linux` line the
 * arguments end up in (what the generator's check of the whole menu would refuse later, after
 * the deployment was written).
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import { grubScriptTextProblem, hasGrubScriptCheck } from '../../system/grub-script.js';
import { checkBootKargs } from './kargs.js';

export async function checkNewDeploymentKargs(sysrootPath: string, kargs: readonly string[], os: string): Promise<void> {
  checkBootKargs(kargs, os);
  // boot/grub/grub.cfg: the link to ostree's menu that provision makes (dangling before the first deploy).
  const grubBoots = lstatSync(join(sysrootPath, 'boot', 'grub', 'grub.cfg'), { throwIfNoEntry: false }) !== undefined;
  if (!grubBoots || !(await hasGrubScriptCheck())) return;
  const problem = await grubScriptTextProblem(`linux /vmlinuz ${kargs.join(' ')}\n`);
  if (problem) {
    throw new InputError(`GRUB cannot read the kernel arguments of the new deployment (grub-script-check: ${problem}): ${kargs.join(' ')}.`, 'Leave out the argument GRUB cannot read (`apt-ostree kargs --delete KEY` removes one).');
  }
}
