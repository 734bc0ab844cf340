/**
 * Reordering deployments: make one deployment the default without deploying anything.
 *
 * Newer ostree (2024.x and later, Debian 13's 2025.2) has `ostree admin set-default INDEX`,
 * which does it through libostree; we use it when it is there. ostree 2022.7 (Debian 12) has
 * no such command, so here the reorder is written the way libostree writes a boot
 * configuration (ostree_sysroot_write_deployments, "bootswap" path), measured on this machine:
 *
 *   SYSROOT/boot/loader -> loader.B            B, the "bootversion", is 0 or 1
 *   SYSROOT/boot/loader.B/entries/ostree-V-OS.conf   one BLS entry per deployment
 *       title  PRETTY_NAME [VERSION] (ostree[:OS]:I)  I = index in boot order, 0 = default
 *       version V                                     V = N - I (N deployments): highest boots first
 *       options KARGS ostree=/ostree/boot.B/OS/BOOTCSUM/S
 *       linux/initrd /ostree/OS-BOOTCSUM/...           kernel files, shared, unchanged here
 *     (ostree >= 2024.5 names the files ostree-V.conf; we keep whichever scheme is in use)
 *   SYSROOT/ostree/boot.B -> boot.B.U           U, the "subbootversion", is 0 or 1
 *   SYSROOT/ostree/boot.B.U/OS/BOOTCSUM/S -> ../../../deploy/OS/deploy/CHECKSUM.SERIAL
 *       S, the "bootserial", counts the deployments sharing BOOTCSUM, in boot order
 *
 * A change of order is written as a new bootversion B' = 1 - B, in libostree's order:
 *   1. ostree/boot.B'.U' with the links for the new order (U' = 1 - current U of boot.B', 1 if
 *      boot.B' does not exist), then ostree/boot.B' -> boot.B'.U' (symlink + rename);
 *   2. boot/loader.B'/entries/ with the rewritten entries, synced to disk;
 *   3. the commit point: boot/loader.tmp -> loader.B', renamed over boot/loader (atomic);
 *   4. cleanup of the previous version: boot/loader.B, ostree/boot.B, ostree/boot.B.{0,1}
 *      (what `ostree admin cleanup` removes too).
 * Until step 3 the running configuration is untouched (everything new is under B'), so the undo
 * is "remove what was created"; right after step 3 the old configuration is still complete on
 * disk, so a failed check can still swap boot/loader back. Only step 4 is final.
 *
 * Boot loaders that need their own configuration regenerated from the entries (grub2 with
 * ostree's grub2 backend, syslinux, u-boot, zipl) are refused on this path: ostree would run
 * their generators, which apt-ostree does not reimplement.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AptOstreeError } from '../../errors.js';
import * as ostree from '../../system/ostree.js';
import { deploymentId, ostreeDeploymentOrder } from './deploy.js';
import { editBootEntry } from '../../ostree/boot-entry.js';
import { KeyFile } from '../../ostree/keyfile.js';
import { Sysroot, type Deployment } from './sysroot.js';
import type { Transaction } from '../transaction/transaction.js';

type Version = 0 | 1;

export interface BootVersions {
  bootversion: Version;
  subbootversion: Version;
}

/** Current bootversion (boot/loader) and subbootversion (ostree/boot.B); 0 when missing. */
function readBootVersions(root: string): BootVersions {
  const bootversion = versionFromLink(join(root, 'boot', 'loader'), /^loader\.([01])$/);
  const subbootversion = readSubbootversion(root, bootversion);
  return { bootversion, subbootversion };
}

function readSubbootversion(root: string, bootversion: Version): Version {
  return versionFromLink(join(root, 'ostree', `boot.${bootversion}`), new RegExp(`^boot\\.${bootversion}\\.([01])$`));
}

function versionFromLink(path: string, re: RegExp): Version {
  let target: string;
  try {
    target = readlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  const m = re.exec(target);
  if (!m) throw new AptOstreeError(`Unexpected boot configuration: ${path} points to '${target}'.`, { hint: 'Check the sysroot with `ostree admin status`.' });
  return Number(m[1]) as Version;
}

/**
 * The boot loader whose own configuration ostree regenerates, if any (undefined for plain BLS
 * entries: `sysroot.bootloader=none`, or nothing detected).
 */
function configGeneratingBootloader(root: string): string | undefined {
  let configured: string | undefined;
  try {
    configured = KeyFile.parse(readFileSync(join(root, 'ostree', 'repo', 'config'), 'utf8')).get('sysroot', 'bootloader');
  } catch {
    configured = undefined;
  }
  if (configured && configured !== 'auto') return configured === 'none' ? undefined : configured;
  // ostree's auto-detection (2022.7): these files select a backend.
  const probes: Array<[string, string]> = [
    ['boot/syslinux/syslinux.cfg', 'syslinux'],
    ['boot/grub2/grub.cfg', 'grub2'],
    ['boot/uEnv.txt', 'uboot'],
  ];
  for (const [file, name] of probes) if (existsSync(join(root, file))) return name;
  return undefined;
}

/** `deployments` with `target` moved to the front, the others keeping their order. */
export function withDefault(deployments: Deployment[], target: Deployment): Deployment[] {
  return [target, ...deployments.filter((d) => d.path !== target.path)];
}

/**
 * Make `target` the default deployment (index 0), keeping the others in order. Runs inside
 * `tx`; on failure before the switch nothing visible changed, and the created files go.
 */
export async function setDefaultDeployment(tx: Transaction, sysroot: Sysroot, target: Deployment): Promise<void> {
  const expected = withDefault(sysroot.deployments, target).map(deploymentId);
  if (await ostree.hasAdminSetDefault()) {
    tx.enterCommitPhase();
    await ostree.adminSetDefault(sysroot.path, target.index);
    await checkOstreeOrder(sysroot.path, expected);
    return;
  }
  const written = await writeBootOrder(tx, sysroot, withDefault(sysroot.deployments, target));
  // ostree itself must read the new configuration as intended before the old one goes.
  await checkOstreeOrder(sysroot.path, expected);
  written.finalize();
}

async function checkOstreeOrder(sysrootPath: string, expected: string[]): Promise<void> {
  const seen = await ostreeDeploymentOrder(sysrootPath);
  if (seen.join(' ') !== expected.join(' ')) {
    throw new AptOstreeError('After reordering, ostree lists the deployments in an unexpected order.', {
      detail: `expected:\n  ${expected.join('\n  ')}\nostree admin status:\n  ${seen.join('\n  ')}`,
    });
  }
}

interface EntryPlan {
  deployment: Deployment;
  fileName: string;
  text: string;
  bootLink: string;
}

/**
 * Write a boot configuration with the deployments in `order` (all of them, none staged) and
 * switch to it. Until `finalize()` (which removes the previous configuration) the transaction's
 * undo can still switch back.
 */
export async function writeBootOrder(tx: Transaction, sysroot: Sysroot, order: Deployment[]): Promise<{ finalize(): void }> {
  let finalized = false;
  const undo = (what: string, fn: () => void) => tx.onUndo(what, () => {
    if (!finalized) fn();
  });
  const root = sysroot.path;
  const bootloader = configGeneratingBootloader(root);
  if (bootloader) {
    throw new AptOstreeError(`This sysroot boots with ${bootloader}, whose configuration ostree regenerates itself; apt-ostree cannot reorder its deployments without \`ostree admin set-default\`.`, {
      hint: 'Use an ostree with `admin set-default` (2024.1 or newer, Debian 13), or boot from the BLS entries (`ostree config set sysroot.bootloader none`).',
    });
  }
  if (order.length !== sysroot.deployments.length || order.some((d) => d.staged || !d.bootEntry || !d.bootcsum)) {
    throw new AptOstreeError('Cannot reorder: every deployment must have a boot entry (none staged).');
  }
  const current = readBootVersions(root);
  const newBoot: Version = current.bootversion === 0 ? 1 : 0;
  const oldSubOfNew = readSubbootversion(root, newBoot);
  const newSub: Version = oldSubOfNew === 0 ? 1 : 0;
  const plans = planEntries(order, newBoot);

  const loaderName = `loader.${newBoot}`;
  const bootDir = join(root, 'boot');
  const ostreeDir = join(root, 'ostree');
  try {
    // 1. The new links, under boot.B'.U', then ostree/boot.B' pointing at them.
    const subbootName = `boot.${newBoot}.${newSub}`;
    const subbootDir = join(ostreeDir, subbootName);
    rmSync(subbootDir, { recursive: true, force: true });
    undo(`delete ${subbootDir}`, () => rmSync(subbootDir, { recursive: true, force: true }));
    mkdirSync(subbootDir, { recursive: true });
    for (const p of plans) {
      const link = join(ostreeDir, p.bootLink.replace(/^\/ostree\/boot\.[01]\//, `${subbootName}/`));
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(`../../../deploy/${p.deployment.osname}/deploy/${deploymentId(p.deployment)}`, link);
    }
    fsyncTree(subbootDir);
    const bootLinkPath = join(ostreeDir, `boot.${newBoot}`);
    const previousBootLink = readlinkOrUndefined(bootLinkPath);
    undo(`restore ${bootLinkPath}`, () => {
      if (previousBootLink === undefined) rmSync(bootLinkPath, { force: true });
      else replaceSymlink(bootLinkPath, previousBootLink);
    });
    replaceSymlink(bootLinkPath, subbootName);

    // 2. The new entries under boot/loader.B'.
    const loaderDir = join(bootDir, loaderName);
    rmSync(loaderDir, { recursive: true, force: true });
    undo(`delete ${loaderDir}`, () => rmSync(loaderDir, { recursive: true, force: true }));
    mkdirSync(join(loaderDir, 'entries'), { recursive: true });
    for (const p of plans) writeFileSync(join(loaderDir, 'entries', p.fileName), p.text, { mode: 0o644 });
    fsyncTree(loaderDir);
    fsyncPath(ostreeDir);
  } catch (e) {
    throw fsError(e, 'Could not write the new boot configuration', 'Nothing was changed; check that /boot and /ostree are writable.');
  }
  tx.throwIfCancelled();

  // 3. The switch.
  tx.enterCommitPhase();
  const loaderLink = join(bootDir, 'loader');
  const oldLoaderName = readlinkOrUndefined(loaderLink) ?? `loader.${current.bootversion}`;
  // Registered first: pointing boot/loader at the old version is harmless if it never moved.
  undo(`point ${loaderLink} back to ${oldLoaderName}`, () => replaceSymlink(loaderLink, oldLoaderName, join(bootDir, 'loader.tmp')));
  try {
    replaceSymlink(loaderLink, loaderName, join(bootDir, 'loader.tmp'));
  } catch (e) {
    throw fsError(e, 'Could not switch to the new boot configuration', 'Nothing was changed; check that /boot is writable.');
  }

  // Check with our own reader before dropping the old configuration.
  const reread = Sysroot.load(root).deployments.map(deploymentId);
  const wanted = order.map(deploymentId);
  if (reread.join(' ') !== wanted.join(' ')) {
    throw new AptOstreeError('The rewritten boot configuration does not list the deployments in the intended order.', {
      detail: `expected:\n  ${wanted.join('\n  ')}\nfound:\n  ${reread.join('\n  ')}`,
    });
  }
  return {
    finalize: () => {
      finalized = true;
      try {
        removeOldBootVersion(root);
      } catch (e) {
        tx.reporter.warn(`could not remove the previous boot configuration (ostree admin cleanup will): ${(e as Error).message}`);
      }
    },
  };
}

/** After a successful switch: remove the previous bootversion as `ostree admin cleanup` would. */
function removeOldBootVersion(root: string): void {
  const { bootversion, subbootversion } = readBootVersions(root);
  const other = bootversion === 0 ? 1 : 0;
  for (const p of [
    join(root, 'boot', `loader.${other}`),
    join(root, 'ostree', `boot.${other}`),
    join(root, 'ostree', `boot.${other}.0`),
    join(root, 'ostree', `boot.${other}.1`),
    join(root, 'ostree', `boot.${bootversion}.${subbootversion === 0 ? 1 : 0}`),
  ]) {
    rmSync(p, { recursive: true, force: true });
  }
}

function planEntries(order: Deployment[], newBoot: Version): EntryPlan[] {
  const n = order.length;
  const serials = new Map<string, number>();
  const scheme = namingScheme(order);
  return order.map((d, i) => {
    const bootcsum = d.bootcsum!;
    const serial = serials.get(bootcsum) ?? 0;
    serials.set(bootcsum, serial + 1);
    const version = n - i;
    const bootLink = `/ostree/boot.${newBoot}/${d.osname}/${bootcsum}/${serial}`;
    let sawOstreeArg = false;
    const text = editBootEntry(readFileSync(d.bootEntry!, 'utf8'), (key, value) => {
      if (key === 'version') return String(version);
      if (key === 'title') return value.replace(/:\d+\)$/, `:${i})`);
      if (key !== 'options') return undefined;
      // Only the ostree= argument changes; the other arguments stay as they are written.
      return value.replace(/(?<=^|\s)ostree=\S*/g, () => {
        sawOstreeArg = true;
        return `ostree=${bootLink}`;
      });
    });
    if (!sawOstreeArg) throw new AptOstreeError(`The boot entry ${d.bootEntry} has no ostree= argument.`);
    const fileName = scheme === 'with-os' ? `ostree-${version}-${d.osname}.conf` : `ostree-${version}.conf`;
    return { deployment: d, fileName, text, bootLink };
  });
}

/** ostree-V-OS.conf (up to 2024.4) or ostree-V.conf (newer); refuse anything else. */
function namingScheme(order: Deployment[]): 'with-os' | 'plain' {
  const names = order.map((d) => basename(d.bootEntry!));
  if (names.every((n, i) => /^ostree-\d+-/.test(n) && n.replace(/^ostree-\d+-/, '') === `${order[i]!.osname}.conf`)) return 'with-os';
  if (names.every((n) => /^ostree-\d+\.conf$/.test(n))) return 'plain';
  throw new AptOstreeError(`Unrecognised boot entry names (${names.join(', ')}); apt-ostree cannot reorder them without \`ostree admin set-default\`.`, {
    hint: 'Boot counting or a newer entry naming may be in use; upgrade ostree to one with `admin set-default`.',
  });
}

function fsError(e: unknown, what: string, hint: string): Error {
  if (e instanceof AptOstreeError) return e;
  return new AptOstreeError(`${what}: ${(e as Error).message}.`, { hint, cause: e });
}

function readlinkOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Point `path` at `target` atomically: a temporary symlink renamed over it. */
function replaceSymlink(path: string, target: string, tmp = `${path}.tmp-${process.pid}`): void {
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, path);
  fsyncPath(dirname(path));
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync the files and directories of a small tree (entries, link farms), not following links. */
function fsyncTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) fsyncTree(p);
    else if (e.isFile()) fsyncPath(p);
  }
  fsyncPath(dir);
}
