/**
 * `apt-ostree health-check --boot`, run by apt-ostree-health-check.service after
 * multi-user.target on every boot:
 *
 *   1. A fallback boot (GRUB used up the tries and booted entry 1, boot-counting.ts)? Then roll
 *      back with the engine's rollback, so that the deployment that failed is no longer the
 *      default, record what happened (record.ts) and stop counting.
 *   2. Run the health checks (checks.ts) and record the result for the deployment that booted.
 *   3. Passed: mark the boot good. Failed: on a deployment on trial, reboot at once when
 *      [Health] RebootOnFailure is true (the next boot uses another try or falls back).
 *
 * On a sysroot directory (a disk image's, inspected or repaired offline) there is no booted
 * deployment: the one GRUB would boot stands for it (entry 1 after a fallback, else the default),
 * and nothing is rebooted.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadSysrootConfig } from '../deployments/settings.js';
import { rollback } from '../deployments/rollback.js';
import { openSysroot, type Deployment, type Sysroot } from '../deployments/sysroot.js';
import { Transaction, type OperationOptions } from '../transaction/transaction.js';
import { metadataString } from '../../ostree/commit.js';
import { grubenvPath } from '../deployments/arm.js';
import { BOOT_COUNTER, clearFallback, countingState, decideAfterChecks, isFallbackBoot, markGood, type BootDecision, type CountingState } from '../deployments/boot-counting.js';
import { ADMIN_CHECKS_DIR, discoverChecks, runChecks, SHIPPED_CHECKS_DIR, type CheckResult, type SkippedCheck } from './checks.js';
import { readGrubEnv, writeGrubEnv, type GrubEnv } from '../deployments/grubenv.js';
import { healthRecordPath } from '../state-paths.js';
import { addFallback, readHealthRecordForBoot, writeHealthRecord, type FallbackRecord, type HealthRecord, type LastCheck } from './record.js';

export interface HealthCheckOptions extends OperationOptions {
  /** The check directories; default on the running system: /usr/lib/apt-ostree/health.d and /etc/apt-ostree/health.d. */
  checkDirs?: string[];
  /** Only run and report the checks: no fallback handling, no record, no change to the boot counter. */
  runOnly?: boolean;
  onResult?: (r: CheckResult) => void;
}

export interface HealthCheckOutcome {
  results: CheckResult[];
  skipped: SkippedCheck[];
  passed: boolean;
  /** The fallback this run found and handled (rolled back, recorded). */
  fallback?: FallbackRecord;
  /** The boot counting state before this run. */
  counting: CountingState;
  /** What follows the checks (undefined with runOnly). */
  decision?: BootDecision;
  /** The deployment the checks ran for. */
  deployment?: Deployment;
  /** Why no check ran (a sysroot directory without --checks-dir). */
  notRun?: string;
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

function deploymentRef(sysroot: Sysroot, d: Deployment) {
  const base = sysroot.baseChecksum(d);
  const commit = sysroot.commit(base) ?? sysroot.commit(d.checksum);
  return { osname: d.osname, deployment: `${d.checksum}.${d.serial}`, checksum: d.checksum, 'base-checksum': base, version: (commit && metadataString(commit, 'version')) ?? '' };
}

/** The deployment that booted: the running one, or for a sysroot directory the one GRUB chose. */
function bootedDeployment(sysroot: Sysroot, os: string, state: CountingState): Deployment | undefined {
  if (sysroot.isBootedSystem) return sysroot.booted;
  const list = sysroot.deploymentsOf(os);
  return state.kind === 'fallen-back' ? list[1] : list[0];
}

/** A short transaction: the sysroot lock held while the record and the block change, both undone on failure. */
async function underLock(opts: HealthCheckOptions, title: string, body: (tx: Transaction) => void): Promise<void> {
  await Transaction.run({ sysrootPath: opts.sysrootPath, command: opts.command, title, reporter: opts.reporter, lockWaitSeconds: opts.lockWaitSeconds ?? 300 }, async (tx) => body(tx));
}

/** The record read under the lock: a damaged one is set aside with a warning, never the end of the boot's assessment. */
function lockedRecord(sysrootPath: string, opts: HealthCheckOptions): HealthRecord {
  return readHealthRecordForBoot(sysrootPath, { setAside: true, warn: (m) => opts.reporter.warn(m) });
}

function saveRecord(tx: Transaction, sysrootPath: string, record: HealthRecord): void {
  const path = healthRecordPath(sysrootPath);
  const before = existsSync(path) ? readFileSync(path) : undefined;
  tx.onUndo(`restore ${path}`, () => (before ? writeFileSync(path, before) : rmSync(path, { force: true })));
  writeHealthRecord(sysrootPath, record);
}

function saveEnv(tx: Transaction, path: string, env: GrubEnv): void {
  const before = existsSync(path) ? readFileSync(path) : undefined;
  tx.onUndo(`restore ${path}`, () => (before ? writeFileSync(path, before) : rmSync(path, { force: true })));
  writeGrubEnv(path, env);
}

export async function healthCheck(opts: HealthCheckOptions): Promise<HealthCheckOutcome> {
  // Read before the checks, outside the lock (they take minutes); the step that records their
  // result compares the default deployment with a fresh load (a deploy may have happened since).
  let sysroot = openSysroot(opts.sysrootPath);
  const os = sysroot.resolveOs(opts.os);
  const loaded = loadSysrootConfig(sysroot, os);
  for (const w of loaded.warnings) opts.reporter.warn(w);
  const health = loaded.config.Health;
  const envPath = grubenvPath(sysroot.path);
  const env = opts.runOnly ? undefined : readGrubEnv(envPath);
  const counting = env ? countingState(env) : ({ kind: 'idle' } as const);
  let booted = bootedDeployment(sysroot, os, counting);
  const outcome: HealthCheckOutcome = { results: [], skipped: [], passed: false, counting, deployment: booted };

  // 1. GRUB fell back: the failed deployment stops being the default.
  if (!opts.runOnly && env && booted) {
    const isDefault = sysroot.defaultDeployment(os)?.path === booted.path;
    if (isFallbackBoot(counting, { bootedIsDefault: isDefault })) {
      const failed = sysroot.defaultDeployment(os)!;
      const failedRef = deploymentRef(sysroot, failed);
      opts.reporter.warn(`the boot loader fell back: ${failedRef.version || failedRef.deployment} used up its tries; making the booted deployment the default again`);
      const r = await rollback({ ...opts, title: 'health-check fallback' });
      sysroot = r.sysroot;
      booted = sysroot.deployments.find((d) => d.path === booted!.path) ?? booted;
      const record = readHealthRecordForBoot(sysroot.path, { setAside: false });
      const last = record['last-check'];
      const lastFailed = last && last.deployment === failedRef.deployment && !last.passed ? last : undefined;
      const firstFailure = lastFailed?.checks.find((c) => c.status !== 'passed');
      const back = deploymentRef(sysroot, r.target);
      const fallback: FallbackRecord = {
        ...failedRef,
        time: new Date().toISOString(),
        reason: firstFailure ? 'failed-check' : 'no-check-result',
        ...(firstFailure ? { 'failed-check': firstFailure.name, output: firstFailure.output } : {}),
        'rolled-back-to': back.deployment,
        'rolled-back-to-version': back.version,
      };
      await underLock(opts, 'health-check: record the fallback', (tx) => {
        saveRecord(tx, sysroot.path, addFallback(lockedRecord(sysroot.path, opts), fallback));
        saveEnv(tx, envPath, clearFallback(readGrubEnv(envPath) ?? env));
      });
      outcome.fallback = fallback;
      outcome.deployment = booted;
    }
  }

  // 2. The checks. Those of a sysroot directory's deployment belong to that system, not to this
  // host: they run only from directories given on purpose.
  if (!opts.checkDirs && !sysroot.isBootedSystem) {
    outcome.passed = true;
    outcome.notRun = `the checks of ${sysroot.path} belong to the system it boots and are not run on this host; give --checks-dir DIR to run checks here`;
    return outcome;
  }
  const dirs = opts.checkDirs ?? [SHIPPED_CHECKS_DIR, ADMIN_CHECKS_DIR];
  const { checks, skipped } = discoverChecks(dirs);
  outcome.skipped = skipped;
  outcome.results = await runChecks(checks, { timeoutSeconds: health.CheckTimeout, onResult: opts.onResult });
  outcome.passed = outcome.results.every((r) => r.status === 'passed');
  if (opts.runOnly || !booted) return outcome;

  const lastCheck: LastCheck = {
    ...deploymentRef(sysroot, booted),
    time: new Date().toISOString(),
    ...(sysroot.isBootedSystem ? { 'boot-id': bootId() } : {}),
    passed: outcome.passed,
    checks: outcome.results,
  };
  // 3. Mark good, or decide what the failure does.
  const state = outcome.fallback ? ({ kind: 'fallen-back' } as const) : counting;
  const decision = decideAfterChecks(state, { passed: outcome.passed }, { rebootOnFailure: health.RebootOnFailure });
  outcome.decision = decision;
  const counterSeen = outcome.fallback ? undefined : env?.get(BOOT_COUNTER);
  const defaultSeen = sysroot.defaultDeployment(os)?.path;
  await underLock(opts, 'health-check: record the result', (tx) => {
    saveRecord(tx, sysroot.path, { ...lockedRecord(sysroot.path, opts), 'last-check': lastCheck });
    if (decision.action !== 'mark-good' || counting.kind === 'idle') return;
    // A deployment made while the checks ran (its counter armed anew) is not what they judged.
    const now = readGrubEnv(envPath) ?? new Map<string, string>();
    if (now.get(BOOT_COUNTER) !== counterSeen || sysroot.reload().defaultDeployment(os)?.path !== defaultSeen) {
      opts.reporter.warn('a new deployment was made while the checks ran: its boot counting is left as it is');
      return;
    }
    saveEnv(tx, envPath, markGood(now));
  });
  return outcome;
}
