/**
 * The status of a sysroot as data: the same shape as `rpm-ostree status --json`, so that
 * tools written for rpm-ostree read it unchanged. Used by `status` and by --dbus-compat.
 */
import { existsSync } from 'node:fs';
import { readLockOwner, sysrootLockHeld } from './transaction/lock-owner.js';
import { originRepair, type Deployment, type Sysroot } from './deployments/sysroot.js';
import { stagedFinalizationLocked } from './deployments/finalization.js';
import { readUpdateDriver, type UpdateDriver } from './updates/driver.js';
import { metadataString, metadataStrings } from '../ostree/commit.js';
import type { GValue } from '../ostree/gvariant.js';
import { META } from '../layout/commit-metadata.js';
import type { CommitSignature } from '../ostree/signatures.js';
import { baseVerification } from './deployments/verification.js';
import { pkglistFromMetadata } from './deployments/packages.js';
import { keptPackages, type KeptPackage } from './layering/kept-packages.js';
import { readLiveState } from './deployments/live-state.js';
import { readHealthRecord, type HealthRecord } from './health/record.js';
import { readCachedUpdate } from './updates/cached-update.js';
import { healthRecordPath, rebootStatePath } from './state-paths.js';
import { readRebootState, type RebootState } from './updates/reboot-lock.js';

export interface DeploymentStatus {
  id: string;
  osname: string;
  serial: number;
  checksum: string;
  'base-checksum'?: string;
  version: string;
  timestamp: number;
  origin: string;
  booted: boolean;
  staged: boolean;
  /** Only on a staged deployment held back by --lock-finalization (true), as rpm-ostree. */
  'finalization-locked'?: boolean;
  pinned: boolean;
  unlocked: string;
  /** Booted only, after apply-live: the commit whose files the running /usr shows (rpm-ostree's LiveCommit). */
  'live-replaced'?: string;
  /** Booted only: the commit of an apply-live that was interrupted (rpm-ostree's InterruptedLiveCommit). */
  'live-inprogress'?: string;
  'requested-packages': string[];
  'requested-local-packages': string[];
  packages: string[];
  'requested-base-removals': string[];
  'base-removals': string[];
  'requested-base-local-replacements': string[];
  'base-local-replacements': string[];
  'regenerate-initramfs': boolean;
  'initramfs-args': string[];
  'override-commit'?: string;
  kargs: string[];
  'base-commit-meta': Record<string, unknown>;
  'layered-commit-meta'?: Record<string, unknown>;
  /** The base's remote checks GPG signatures (as rpm-ostree). */
  'gpg-enabled': boolean;
  /** The base commit's signatures: type, key (GPG fingerprint or key id), timestamp. */
  signatures: CommitSignature[];
  /** The base came verified from its remote (see deployments/verification.ts). */
  verified: boolean;
  /** gpg, ed25519, or why the base is not verified. */
  verification: string;
  /**
   * apt-ostree's own: each kept package of the layer (requested ones and their dependencies),
   * the apt source it came from, and whether its sources still offered it at the last layering
   * run that used it (layering/kept-packages.ts).
   */
  'layered-package-sources'?: Array<{ name: string; version: string; architecture: string; origin: string; offered: boolean }>;
  /** Only for a damaged origin file: `FILE: what is wrong` (its other fields are then empty). */
  'origin-error'?: string;
  /** With origin-error: how to repair it. */
  'origin-repair'?: string;
}

export interface SysrootStatus {
  deployments: DeploymentStatus[];
  /** [title, initiator, object path] of the running transaction, as rpm-ostree reports it. */
  transaction: [string, string, string] | null;
  'cached-update': Record<string, unknown> | null;
  /** The registered update driver (updates/driver.ts): driver-name, driver-sd-unit. */
  'update-driver': UpdateDriver | null;
  /** What the health checks found (health/record.ts): the latest checks, the fallbacks; null when nothing was recorded. */
  health: (HealthRecord & { error?: string }) | null;
  /** AutomaticUpdatePolicy=apply: the FleetLock slot and why a staged update waits (updates/reboot-lock.ts); null when never used. */
  'reboot-state': RebootState | null;
}

function deploymentStatus(sysroot: Sysroot, d: Deployment, kept: (os: string) => Map<string, KeptPackage>): DeploymentStatus {
  const commit = sysroot.commit(d.checksum);
  const baseChecksum = sysroot.baseChecksum(d);
  const layered = baseChecksum !== d.checksum;
  const base = layered ? sysroot.commit(baseChecksum) : commit;
  const o = d.origin;
  const live = readLiveState(d);
  // Left out when there are none (DBus: an empty list would change the key's type).
  const sources = layered && commit ? layerSourcesOf(kept(d.osname), commit.metadata[META.pkglist]) : [];
  return {
    id: `${d.osname}-${d.checksum}.${d.serial}`,
    osname: d.osname,
    serial: d.serial,
    checksum: d.checksum,
    ...(layered ? { 'base-checksum': baseChecksum } : {}),
    version: (base && metadataString(base, 'version')) ?? (commit && metadataString(commit, 'version')) ?? '',
    timestamp: base?.timestamp ?? commit?.timestamp ?? 0,
    origin: o?.refspec ?? '',
    booted: d.booted,
    staged: d.staged,
    ...(d.staged && stagedFinalizationLocked() ? { 'finalization-locked': true } : {}),
    pinned: d.pinned,
    unlocked: d.unlocked,
    ...(live?.inprogress ? { 'live-inprogress': live.inprogress } : {}),
    ...(live?.commit ? { 'live-replaced': live.commit } : {}),
    'requested-packages': o?.requestedPackages ?? [],
    'requested-local-packages': o?.requestedLocalPackages ?? [],
    packages: layered && commit ? metadataStrings(commit, META.packages) : [],
    'requested-base-removals': o?.removedBasePackages ?? [],
    'base-removals': layered && commit ? metadataStrings(commit, META.removedBasePackages) : [],
    'requested-base-local-replacements': o?.replacedLocalPackages ?? [],
    'base-local-replacements': layered && commit ? metadataStrings(commit, META.replacedBasePackages) : [],
    'regenerate-initramfs': o?.regenerateInitramfs ?? false,
    'initramfs-args': o?.initramfsArgs ?? [],
    ...(o?.overrideCommit ? { 'override-commit': o.overrideCommit } : {}),
    kargs: d.kargs,
    ...baseVerification(sysroot.repoPath, o?.refspec, baseChecksum),
    'base-commit-meta': base ? plainMetadata(base.metadata) : {},
    ...(layered && commit ? { 'layered-commit-meta': plainMetadata(commit.metadata) } : {}),
    ...(sources.length ? { 'layered-package-sources': sources } : {}),
    ...(d.originDamage ? { 'origin-error': `${d.originPath}: ${d.originDamage.problem}`, 'origin-repair': originRepair(d.originDamage) } : {}),
  };
}

export function sysrootStatus(sysroot: Sysroot): SysrootStatus {
  // Each stateroot's kept index, read once.
  const keptIndexes = new Map<string, Map<string, KeptPackage>>();
  const kept = (os: string) => {
    if (!keptIndexes.has(os)) keptIndexes.set(os, new Map(keptPackages(sysroot.path, os).map((k) => [`${k.name} ${k.version} ${k.architecture}`, k])));
    return keptIndexes.get(os)!;
  };
  // Busy only while the lock is held: an owner file left by a dead run names nobody.
  const owner = sysrootLockHeld(sysroot.path) ? readLockOwner(sysroot.path) : undefined;
  return {
    deployments: sysroot.deployments.map((d) => deploymentStatus(sysroot, d, kept)),
    transaction: owner ? [owner.command, `pid ${owner.pid}`, ''] : null,
    'cached-update': readCachedUpdate(sysroot.path) ?? null,
    'update-driver': readUpdateDriver(sysroot.path, { booted: sysroot.isBootedSystem }) ?? null,
    health: healthStatus(sysroot.path),
    'reboot-state': existsSync(rebootStatePath(sysroot.path)) ? readRebootState(sysroot.path) : null,
  };
}

/** The kept packages among a layered commit's packages (its pkglist metadata). */
function layerSourcesOf(kept: Map<string, KeptPackage>, pkglist: GValue | undefined): NonNullable<DeploymentStatus['layered-package-sources']> {
  const out: NonNullable<DeploymentStatus['layered-package-sources']> = [];
  for (const p of pkglistFromMetadata(pkglist) ?? []) {
    const k = kept.get(`${p.name} ${p.version} ${p.arch}`);
    if (k) out.push({ name: k.name, version: k.version, architecture: k.architecture, origin: k.origin, offered: k.offered });
  }
  return out;
}

/** The health record, or what is wrong with it: status shows a damaged record instead of failing. */
function healthStatus(sysrootPath: string): SysrootStatus['health'] {
  if (!existsSync(healthRecordPath(sysrootPath))) return null;
  try {
    return readHealthRecord(sysrootPath);
  } catch (e) {
    return { fallbacks: [], error: (e as Error).message };
  }
}

/** Commit metadata as JSON-friendly values (bigints become numbers, bytes hex). */
function plainMetadata(meta: Record<string, GValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) out[k] = plain(v);
  return out;
}

function plain(v: GValue): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, val]) => [String(k), plain(val)]));
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && 'value' in v) return plain(v.value);
  return v;
}

