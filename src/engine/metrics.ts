/**
 * The node exporter's textfile (Prometheus text exposition format 0.0.4) with the state of
 * updates on this machine: /var/lib/prometheus/node-exporter/apt_ostree.prom, where Debian's
 * prometheus-node-exporter reads textfiles; for --sysroot DIR the same path under the default
 * stateroot's /var (SYSROOT/ostree/deploy/OS/var/…, which is the running system's /var).
 * Written after every command whose transaction ended, the boot's health check included
 * (cli/main.ts: the history changed), atomically (a temporary file renamed over it: the
 * exporter never reads half a file). Every value comes from what is on disk: the deployments, the history
 * (transaction/history.ts), the health record (health/record.ts) and the reboot lock's state
 * (updates/reboot-lock.ts). docs/fleet.md lists the metrics.
 */
import { replaceFile } from '../layout/files.js';
import { metadataString } from '../ostree/commit.js';
import { stagedFinalizationLocked } from './deployments/finalization.js';
import { openSysroot, type Deployment, type Sysroot } from './deployments/sysroot.js';
import { readHealthRecord, type HealthRecord } from './health/record.js';
import { metricsFilePath } from './state-paths.js';
import { readHistory, type HistoryEntry } from './transaction/history.js';
import { readCachedUpdate } from './updates/cached-update.js';
import { readRebootState, rebootLockState, REBOOT_LOCK_STATES } from './updates/reboot-lock.js';

interface Metric {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Array<{ labels?: Record<string, string>; value: number }>;
}

/** Write the textfile of the sysroot's default stateroot; returns its path, or undefined when the sysroot has no deployment. */
export function writeMetrics(sysrootPath: string, now = new Date()): string | undefined {
  const sysroot = openSysroot(sysrootPath);
  const os = sysroot.booted?.osname ?? sysroot.deployments[0]?.osname;
  if (!os) return undefined;
  const path = metricsFilePath(sysroot.path, os);
  replaceFile(path, renderMetrics(collectMetrics(sysroot, now)));
  return path;
}

export function collectMetrics(sysroot: Sysroot, now: Date): Metric[] {
  const { entries } = readHistory(sysroot.path);
  let health: HealthRecord;
  try {
    health = readHealthRecord(sysroot.path);
  } catch {
    health = { fallbacks: [] };
  }
  const booted = sysroot.booted;
  // What boots next: the staged deployment, else the first of the boot order.
  const next = sysroot.deployments[0];
  const pending = booted ? (next && next !== booted ? next : undefined) : next;
  const roles: Array<[string, Deployment]> = [...(booted ? [['booted', booted] as [string, Deployment]] : []), ...(pending ? [[booted ? 'pending' : 'default', pending] as [string, Deployment]] : [])];
  const info = (role: string, d: Deployment) => {
    const commit = sysroot.commit(sysroot.baseChecksum(d));
    return { role, osname: d.osname, version: (commit && metadataString(commit, 'version')) ?? '', checksum: d.checksum, serial: String(d.serial), timestamp: commit?.timestamp ?? 0 };
  };
  const deployments = roles.map(([role, d]) => info(role, d));
  const label = ({ role, osname, version, checksum, serial }: ReturnType<typeof info>) => ({ role, osname, version, checksum, serial });
  const lastOf = (pred: (e: HistoryEntry) => boolean) => {
    const e = [...entries].reverse().find(pred);
    return e ? Date.parse(e.start) / 1000 + e['duration-seconds'] : 0;
  };
  const isUpdate = (e: HistoryEntry) => e.outcome === 'succeeded' && e.from?.deployment !== e.to?.deployment;
  const cached = readCachedUpdate(sysroot.path);
  const lastCheck = Math.max(lastOf((e) => e.outcome === 'succeeded' && /(^|\s)upgrade(\s|$)/.test(e.command)), cached?.['checked-at'] ?? 0);
  const rebootReason = !booted || !pending ? 'none' : pending.staged ? (stagedFinalizationLocked() ? 'staged-finalization-locked' : 'staged') : 'new-default';
  const lastHealth = health['last-check'];
  const lastFallback = health.fallbacks.at(-1);
  const lockState = rebootLockState(readRebootState(sysroot.path));
  const seconds = (iso: string | undefined) => (iso ? Date.parse(iso) / 1000 : 0);
  return [
    { name: 'apt_ostree_deployment_info', type: 'gauge', help: 'The booted deployment and the one the next boot starts (role pending; default on a sysroot that is not the running system), 1 each', samples: deployments.map((d) => ({ labels: label(d), value: 1 })) },
    { name: 'apt_ostree_deployment_timestamp_seconds', type: 'gauge', help: "Commit time of the deployment's base, by role", samples: deployments.map((d) => ({ labels: { role: d.role }, value: d.timestamp })) },
    { name: 'apt_ostree_deployments', type: 'gauge', help: 'Deployments in the boot order (pinned ones by pinned="true")', samples: [false, true].map((p) => ({ labels: { pinned: String(p) }, value: sysroot.deployments.filter((d) => d.pinned === p).length })) },
    { name: 'apt_ostree_last_check_timestamp_seconds', type: 'gauge', help: 'When an update was last looked for (upgrade, its --check, the timer); 0: never', samples: [{ value: lastCheck }] },
    { name: 'apt_ostree_last_update_success_timestamp_seconds', type: 'gauge', help: 'When a transaction last changed the deployment the next boot starts, successfully; 0: never', samples: [{ value: lastOf(isUpdate) }] },
    { name: 'apt_ostree_last_failure_timestamp_seconds', type: 'gauge', help: 'When a transaction last failed or was cancelled; 0: never', samples: [{ value: lastOf((e) => e.outcome !== 'succeeded') }] },
    { name: 'apt_ostree_update_available', type: 'gauge', help: 'A check found an update that is not deployed yet (the cached update)', samples: [{ value: cached ? 1 : 0 }] },
    { name: 'apt_ostree_reboot_pending', type: 'gauge', help: 'A reboot waits to start another deployment, by reason (staged, staged-finalization-locked, new-default; none)', samples: [{ labels: { reason: rebootReason }, value: rebootReason === 'none' ? 0 : 1 }] },
    { name: 'apt_ostree_health_check_passed', type: 'gauge', help: "The latest boot's health checks passed (1) or failed (0); absent: never run", samples: lastHealth ? [{ labels: { deployment: lastHealth.deployment, version: lastHealth.version }, value: lastHealth.passed ? 1 : 0 }] : [] },
    { name: 'apt_ostree_health_check_timestamp_seconds', type: 'gauge', help: 'When the health checks last ran; 0: never', samples: [{ value: seconds(lastHealth?.time) }] },
    { name: 'apt_ostree_health_check_failures', type: 'gauge', help: 'Checks that failed in the latest run, by check', samples: (lastHealth?.checks ?? []).filter((c) => c.status !== 'passed').map((c) => ({ labels: { check: c.name, status: c.status }, value: 1 })) },
    { name: 'apt_ostree_health_fallbacks', type: 'gauge', help: 'Fallbacks to the previous deployment after failed health checks, as recorded (the newest 10 are kept)', samples: [{ value: health.fallbacks.length }] },
    { name: 'apt_ostree_health_last_fallback_timestamp_seconds', type: 'gauge', help: 'When the last fallback happened; 0: never', samples: [{ value: seconds(lastFallback?.time) }] },
    { name: 'apt_ostree_reboot_lock_state', type: 'gauge', help: "The reboot lock's state (FleetLock), 1 for the current one", samples: REBOOT_LOCK_STATES.map((s) => ({ labels: { state: s }, value: s === lockState ? 1 : 0 })) },
    { name: 'apt_ostree_metrics_timestamp_seconds', type: 'gauge', help: 'When this file was written', samples: [{ value: Math.floor(now.getTime() / 1000) }] },
  ];
}

/** The text exposition format: HELP and TYPE, then the samples; a metric without samples keeps its HELP and TYPE. */
export function renderMetrics(metrics: Metric[]): string {
  const out: string[] = [];
  for (const m of metrics) {
    out.push(`# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${m.name} ${m.type}`);
    for (const s of m.samples) {
      const labels = Object.entries(s.labels ?? {}).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      out.push(`${m.name}${labels.length ? `{${labels.join(',')}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return out.join('\n') + '\n';
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(v);
}
