/** The initramfs generators an image may have (dracut, initramfs-tools), run inside its tree in the sandbox. */
import { runInSandbox, type SandboxOptions } from './bwrap.js';
import type { RunOptions } from './run.js';

export type InitramfsTool = 'dracut' | 'mkinitramfs';

export interface InitramfsTarget {
  /** The kernel version (its /usr/lib/modules/KVER). */
  kver: string;
  /** The image's own extra arguments (`apt-ostree initramfs --arg`). */
  args: readonly string[];
  /** Where the initramfs is written, inside the sandbox. */
  output: string;
}

/** `dracut --force --kver KVER ARGS… OUT` or `mkinitramfs ARGS… -o OUT KVER`, in the sandbox. */
export async function makeInitramfsInSandbox(sandbox: SandboxOptions, tool: InitramfsTool, t: InitramfsTarget, opts: Pick<RunOptions, 'signal'> = {}): Promise<void> {
  const argv = tool === 'dracut' ? ['dracut', '--force', '--kver', t.kver, ...t.args, t.output] : ['mkinitramfs', ...t.args, '-o', t.output, t.kver];
  await runInSandbox(sandbox, argv, { ...opts, what: `${tool} for kernel ${t.kver}` });
}
