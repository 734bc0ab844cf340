/** Human rendering of `status`, in the manner of `rpm-ostree status`. Pure: unit tested. */
import type { DeploymentStatus, SysrootStatus } from '../../engine/status.js';
import { describeFallback } from '../../engine/health/record.js';

export interface RenderOptions {
  sysroot: string;
  /** Show kernel arguments and more commit detail. */
  verbose: boolean;
}

export function renderStatus(status: SysrootStatus, opts: RenderOptions): string {
  const lines: string[] = [];
  lines.push(`State: ${status.transaction ? `busy (${status.transaction[0]}, ${status.transaction[1]})` : 'idle'}`);
  if (opts.sysroot !== '/') lines.push(`Sysroot: ${opts.sysroot}`);
  const driver = status['update-driver'];
  if (driver) {
    // As rpm-ostree: the unit with -v only.
    const unit = driver['driver-sd-unit'];
    lines.push(`AutomaticUpdatesDriver: ${driver['driver-name']}${opts.verbose && unit ? ` (${unit})` : ''}`);
  }
  const cached = status['cached-update'];
  if (cached && typeof cached === 'object') {
    const v = String((cached as Record<string, unknown>).version ?? '');
    const c = String((cached as Record<string, unknown>).checksum ?? '');
    lines.push(`AvailableUpdate: ${v ? `${v} ` : ''}(${c.slice(0, 12)})`);
    const diff = updateDiffSummary((cached as Record<string, unknown>)['package-diff']);
    if (diff) lines.push(`           Diff: ${diff}`);
  }
  lines.push(...renderHealth(status.health), ...renderRebootState(status['reboot-state']));
  if (status.deployments.length === 0) {
    lines.push('Deployments: none');
    return lines.join('\n') + '\n';
  }
  lines.push('Deployments:');
  status.deployments.forEach((d, i) => {
    if (i > 0) lines.push('');
    lines.push(...renderDeployment(d, i, opts));
  });
  return lines.join('\n') + '\n';
}

/** `index`: its place in the list, which pin, unpin and rollback --to take (shown for all but the first). */
function renderDeployment(d: DeploymentStatus, index: number, opts: RenderOptions): string[] {
  const mark = d.booted ? '●' : ' ';
  const out = [`${mark} ${d.osname}:${d.origin || (d['origin-error'] ? '(damaged origin)' : '(no origin)')}`];
  const row = (key: string, value: string) => out.push(`${key.padStart(26)}: ${value}`);
  const when = d.timestamp ? new Date(d.timestamp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
  if (d.version || when) row('Version', `${d.version || '(none)'}${when ? ` (${when})` : ''}`);
  if (index > 0) row('Index', String(index));
  // One line, first: commands refuse this deployment until it is repaired.
  if (d['origin-error']) row('Origin', `damaged (${d['origin-error']})${d['origin-repair'] ? `; ${d['origin-repair']}` : ''}`);
  // As rpm-ostree: with live changes, the commit that booted is named as such.
  const live = d['live-replaced'] || d['live-inprogress'];
  if (d['base-checksum']) {
    row(live ? 'BootedBaseCommit' : 'BaseCommit', d['base-checksum']);
    row(live ? 'BootedCommit' : 'Commit', d.checksum);
  } else row(live ? 'BootedCommit' : 'Commit', d.checksum);
  if (d['live-inprogress']) row('InterruptedLiveCommit', d['live-inprogress']);
  if (d['live-replaced']) row('LiveCommit', d['live-replaced']);
  if (d['override-commit']) row('PinnedCommit', d['override-commit']);
  const key = d.signatures.find((x) => x.type === (d.verification === 'ed25519' ? 'ed25519' : 'gpg'))?.key;
  row('Verified', d.verified ? `yes (${d.verification === 'gpg' ? `GPG${key ? ` key ${key}` : ''}` : d.verification})` : `no: ${d.verification.replace(/^none \((.*)\)$/, '$1')}`);
  if (d.staged) row('Staged', d['finalization-locked'] ? 'yes (finalization locked: `apt-ostree finalize-deployment` boots it)' : 'yes');
  if (d['requested-base-removals'].length) row('RemovedBasePackages', d['requested-base-removals'].join(' '));
  if (d['requested-base-local-replacements'].length) row('ReplacedBasePackages', d['requested-base-local-replacements'].join(' '));
  if (d['requested-packages'].length) row('LayeredPackages', d['requested-packages'].join(' '));
  if (d['requested-local-packages'].length) row('LocalPackages', d['requested-local-packages'].map(localName).join(' '));
  if (d['regenerate-initramfs']) row('Initramfs', d['initramfs-args'].length ? `regenerate ${d['initramfs-args'].join(' ')}` : 'regenerate');
  if (d.pinned) row('Pinned', 'yes');
  if (d.unlocked !== 'none') row('Unlocked', d.unlocked);
  if (opts.verbose) {
    row('Id', d.id);
    if (d.kargs.length) row('KernelArguments', d.kargs.join(' '));
    // Where each kept package of the layer came from, and whether its source still offers it.
    for (const [i, p] of (d['layered-package-sources'] ?? []).entries()) {
      const text = `${p.name} ${p.version} from ${p.origin || '(not recorded)'}${p.offered ? '' : ' (no source offers it any more: kept copy)'}`;
      if (i === 0) row('LayeredPackageSources', text);
      else out.push(`${''.padStart(28)}${text}`);
    }
  }
  return out;
}

/** AutomaticUpdatePolicy=apply: why the staged update waits, and the FleetLock slot. */
function renderRebootState(state: SysrootStatus['reboot-state']): string[] {
  const out: string[] = [];
  if (state?.waiting) out.push(`RebootWaits: ${state.waiting.why} (as of ${state.waiting.at})`);
  const lock = state?.['fleet-lock'];
  if (!lock) return out;
  const slot = lock.held ? `held since ${lock['taken-at'] ?? '?'} for ${lock['for-checksum']?.slice(0, 12) ?? '?'}` : `not held${lock['released-at'] ? ` (released ${lock['released-at']})` : ''}`;
  out.push(`FleetLock: ${slot}; ${lock.url} group ${lock.group} id ${lock.id}`);
  if (lock['kept-because']) out.push(`   Kept: ${lock['kept-because']}`);
  const e = lock['last-error'];
  if (e) out.push(`   LastError: ${e.api} at ${e.at}: ${e.status ? `HTTP ${e.status} ` : ''}${e.kind}: ${e.value}`);
  return out;
}

/** The latest health checks and the latest fallback (status --json has them all). */
function renderHealth(health: SysrootStatus['health']): string[] {
  if (!health) return [];
  const out: string[] = [];
  if (health.error) out.push(`HealthRecord: ${health.error}`);
  const last = health['last-check'];
  if (last) {
    const failed = last.checks.filter((c) => c.status !== 'passed').map((c) => `${c.name} ${c.status === 'timed-out' ? 'timed out' : 'failed'}`);
    const who = `${last.version || last.deployment.slice(0, 12)} (${last.deployment.slice(0, 12)}.${last.deployment.split('.')[1]})`;
    out.push(`HealthCheck: ${last.passed ? `passed (${last.checks.length} checks)` : failed.join(', ')} on ${who} at ${last.time}`);
  }
  const f = health.fallbacks.at(-1);
  if (f) {
    out.push(`   Fallback: ${describeFallback(f)}`);
    const output = f.output?.trim().split('\n').slice(-3).join(' | ');
    if (output) out.push(`     Output: ${output}`);
  }
  return out;
}

/** requested-local entries are SHA256:name_version_arch; show the name part. */
function localName(entry: string): string {
  const i = entry.indexOf(':');
  return i >= 0 ? entry.slice(i + 1) : entry;
}

/** "2 upgraded, 1 added" from a cached update's package-diff counts (see engine/updates/cached-update.ts). */
function updateDiffSummary(diff: unknown): string {
  const counts = (diff as { counts?: Record<string, unknown> } | undefined)?.counts;
  if (!counts) return '';
  const parts = ['upgraded', 'downgraded', 'removed', 'added'].filter((k) => typeof counts[k] === 'number' && (counts[k] as number) > 0).map((k) => `${counts[k]} ${k}`);
  return parts.length ? parts.join(', ') : 'no package changes';
}
