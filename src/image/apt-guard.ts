/**
 * The plain-apt guard, installed into images by compose: on a system booted from an OSTree
 * deployment, `apt install foo` (or `dpkg -i`) is stopped before dpkg writes anything to the
 * read-only /usr, with a message naming the apt-ostree command to use instead — the counterpart
 * of rpm-ostree's cliwrap. apt calls the guard from DPkg::Pre-Install-Pkgs (which also hands it
 * the package list), dpkg from its pre-invoke hook. Commands that only read (apt list, apt show,
 * apt-cache policy, dpkg -l, apt-get -s) and apt update never run dpkg, so they keep working.
 *
 * The guard passes when /run/ostree-booted is absent (image builds, chroots) and inside
 * apt-ostree's own sandbox, which sets APT_OSTREE_TRANSACTION=1 (engine/layering/build.ts), so layering
 * keeps working with the guard in the image. The files themselves live in data/apt-guard/.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the shipped files are: data/apt-guard/ of the installed program (lib/image/ → ../../data). */
const APT_GUARD_DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'apt-guard');

/** The guard's path in an image (the hooks name it). */
const APT_GUARD_PATH = '/usr/libexec/apt-ostree/apt-guard';

interface GuardFile {
  /** The file in data/apt-guard/. */
  source: string;
  /** Where it goes: relative to /etc (`etc:`) or to the root. */
  dest: { etc: string } | { root: string };
  mode: number;
}

const FILES: GuardFile[] = [
  { source: 'apt-guard', dest: { root: APT_GUARD_PATH.slice(1) }, mode: 0o755 },
  { source: '50apt-ostree', dest: { etc: 'apt/apt.conf.d/50apt-ostree' }, mode: 0o644 },
  { source: 'dpkg.cfg', dest: { etc: 'dpkg/dpkg.cfg.d/apt-ostree' }, mode: 0o644 },
];

export interface InstallAptGuardOptions {
  /**
   * The tree's /etc, relative to root: `usr/etc` in the apt-ostree layout (the default when the
   * tree has a usr/etc), `etc` in a plain Debian tree (before the layout conversion).
   */
  etcDir?: string;
}

/** Write the guard and its apt and dpkg hooks into the tree at `root`. Returns the paths written, relative to root. */
export function installAptGuard(root: string, opts: InstallAptGuardOptions = {}): string[] {
  const etcDir = opts.etcDir ?? (existsSync(join(root, 'usr', 'etc')) ? 'usr/etc' : 'etc');
  const written: string[] = [];
  for (const f of FILES) {
    const rel = 'etc' in f.dest ? join(etcDir, f.dest.etc) : f.dest.root;
    const path = join(root, rel);
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    // Written beside and renamed: never in place, as the tree may be a hardlinked checkout.
    const tmp = `${path}.apt-ostree-tmp`;
    writeFileSync(tmp, readFileSync(join(APT_GUARD_DATA_DIR, f.source)));
    chmodSync(tmp, f.mode);
    renameSync(tmp, path);
    written.push(rel);
  }
  return written;
}
