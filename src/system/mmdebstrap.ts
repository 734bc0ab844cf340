/**
 * mmdebstrap, the Debian bootstrapper compose builds trees with (root mode, directory output).
 * Arguments are an array; hook commands are fixed strings written here, and the paths they need
 * come in through the environment, so no user-supplied string is ever parsed by a shell.
 */
import { run, type RunOptions } from './run.js';

export interface MmdebstrapOptions {
  suite: string;
  /** An empty (or absent) directory: the tree is built there. */
  target: string;
  /** One-line apt sources ("deb URI SUITE COMPONENTS"), passed as mmdebstrap's MIRROR arguments. */
  sources: string[];
  variant: string;
  architecture: string;
  include: string[];
  /** apt configuration lines, kept in the tree's /etc/apt/apt.conf.d/99mmdebstrap. */
  aptOptions?: string[];
  includeRecommends?: boolean;
  /** --skip values, e.g. output/dev, update. */
  skip?: string[];
  setupHooks?: string[];
  essentialHooks?: string[];
  customizeHooks?: string[];
  /** Environment for the hooks (paths of the package cache). */
  env?: Record<string, string>;
}

export function mmdebstrapArgs(o: MmdebstrapOptions): string[] {
  const args = ['--mode=root', '--format=directory', `--variant=${o.variant}`, `--architectures=${o.architecture}`];
  if (o.include.length) args.push(`--include=${o.include.join(',')}`);
  for (const opt of o.aptOptions ?? []) args.push(`--aptopt=${opt}`);
  if (o.includeRecommends) args.push('--aptopt=APT::Install-Recommends "true"');
  for (const s of o.skip ?? []) args.push(`--skip=${s}`);
  for (const h of o.setupHooks ?? []) args.push(`--setup-hook=${h}`);
  for (const h of o.essentialHooks ?? []) args.push(`--essential-hook=${h}`);
  for (const h of o.customizeHooks ?? []) args.push(`--customize-hook=${h}`);
  // mmdebstrap reads options until the first non-option; '--' ends them for safety.
  args.push('--', o.suite, o.target, ...o.sources);
  return args;
}

export async function mmdebstrap(o: MmdebstrapOptions, runOpts: RunOptions = {}): Promise<void> {
  await run('mmdebstrap', mmdebstrapArgs(o), {
    what: 'mmdebstrap (building the root filesystem)',
    hint: 'The output of mmdebstrap is shown above; check the manifest\'s sources, suite and packages.',
    env: o.env,
    ...runOpts,
  });
}

/**
 * Hooks that keep .debs in a cache directory between runs (with --skip=essential/unlink, so
 * that the essential packages are still in the archive at the end): the setup hook links the
 * cached .debs (and apt lists) into the new tree, so apt downloads only what is missing; the
 * customize hook links the new ones back out. $APT_OSTREE_DEBS and $APT_OSTREE_LISTS name the
 * directories; hardlinks where possible, copies across file systems.
 */
export const CACHE_IN_HOOK = [
  'set -e',
  'a="$1/var/cache/apt/archives"; mkdir -p "$a/partial"',
  'for f in "$APT_OSTREE_DEBS"/*.deb; do [ -f "$f" ] || continue; ln "$f" "$a/" 2>/dev/null || cp "$f" "$a/"; done',
  'if [ -n "${APT_OSTREE_LISTS:-}" ]; then l="$1/var/lib/apt/lists"; mkdir -p "$l/partial"; for f in "$APT_OSTREE_LISTS"/*; do [ -f "$f" ] || continue; [ "${f##*/}" = lock ] && continue; ln "$f" "$l/" 2>/dev/null || cp "$f" "$l/"; done; fi',
].join('\n');

export const CACHE_OUT_HOOK = [
  'set -e',
  'for f in "$1"/var/cache/apt/archives/*.deb; do [ -f "$f" ] || continue; t="$APT_OSTREE_DEBS/${f##*/}"; [ -e "$t" ] && continue; ln "$f" "$t" 2>/dev/null || cp "$f" "$t"; done',
].join('\n');

/**
 * Essential hook: copy the staged `files` of a manifest ($APT_OSTREE_FILES, a directory tree)
 * into the new tree after the essential packages and before the others are installed, so that
 * package scripts see them (e.g. dracut's configuration before the kernel's postinst builds the
 * initramfs). Existing directories keep their owner and mode.
 */
export const FILES_HOOK = ['set -e', 'tar -C "$APT_OSTREE_FILES" -cf - . | tar -C "$1" -xf - --no-overwrite-dir --no-same-owner'].join('\n');
