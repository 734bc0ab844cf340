/**
 * How a sysroot made by apt-ostree boots (docs/layout.md, "Booting" and "The disk"): the label
 * that `admin image` gives the root file system and that `admin provision` names in the kernel
 * arguments when none gives a root=.
 */
export const ROOT_LABEL = 'apt-ostree-root';

/** KARGS with root=LABEL=… (the disk's root file system) in front when none names the root. */
export function withRoot(kargs: string[]): string[] {
  return kargs.some((k) => k.startsWith('root=')) ? kargs : [`root=LABEL=${ROOT_LABEL}`, ...kargs];
}
