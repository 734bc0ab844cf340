/** `pin` and `unpin`: keep a deployment as a rollback point, or stop keeping it (engine/deployments/pin.ts). */
import { describeDeployment } from '../../engine/deployments/deploy.js';
import { setPinned } from '../../engine/deployments/pin.js';
import { InputError } from '../../errors.js';
import { transactionOptions, type CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { PIN, UNPIN } from '../specs/pin.js';

export async function run(ctx: CommandContext<ArgsOf<typeof PIN>>): Promise<number> {
  return change(ctx, true);
}

export async function runUnpin(ctx: CommandContext<ArgsOf<typeof UNPIN>>): Promise<number> {
  return change(ctx, false);
}

async function change(ctx: CommandContext<ArgsOf<typeof PIN>>, pinned: boolean): Promise<number> {
  const index = deploymentIndex(ctx.args.index);
  const { sysroot, target, changed } = await setPinned(transactionOptions(ctx, `${pinned ? 'pin' : 'unpin'} ${index}`), index, pinned);
  const what = describeDeployment(sysroot, target);
  if (!changed) process.stdout.write(`${what} is already ${pinned ? 'pinned' : 'not pinned'}; nothing was changed.\n`);
  else process.stdout.write(pinned ? `Pinned ${what}: cleanup and new deployments keep it until \`apt-ostree unpin ${index}\`.\n` : `Unpinned ${what}: the next cleanup or new deployment may remove it.\n`);
  return 0;
}

/** A deployment index as typed: a whole number, 0 or more. */
export function deploymentIndex(text: string): number {
  if (!/^[0-9]{1,4}$/.test(text)) throw new InputError(`'${text}' is not a deployment index.`, 'Give the index as `apt-ostree status` lists the deployments (0 = the first).');
  return Number(text);
}
