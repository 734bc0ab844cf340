/**
 * `apt-ostree upgrade --trigger-automatic-update-policy`, run daily by
 * apt-ostree-automatic.timer: do what AutomaticUpdatePolicy in apt-ostree.conf says.
 *
 *   none   nothing
 *   check  `upgrade --check --preview`: record the newest base in the cached update
 *          (status shows it as `cached-update`), or drop the record when there is none
 *   stage  a normal upgrade: on the running system ostree stages the new deployment, which
 *          becomes the default at the next boot; on a sysroot directory it is written directly
 *   apply  stage, held with ostree's finalization lock on the running system, then reboot
 *          into it when [Updates] RebootStrategy allows (apply.ts); a run that finds the update
 *          already staged goes straight to that decision
 *
 * Only apply reboots. The upgrade itself is upgradeDeployment's, the one place that upgrades. A base
 * commit that a deployment fell back from (failed health checks, health/record.ts) is not
 * checked or staged again until a newer one is published.
 */
import type { AptOstreeConfig } from '../../config/config.js';
import { loadSysrootConfig } from '../deployments/settings.js';
import type { OperationOptions } from '../transaction/transaction.js';
import { openSysroot } from '../deployments/sysroot.js';
import { upgradeDeployment, type UpgradeResult } from './upgrade.js';
import { readUpdateDriver } from './driver.js';
import { describeFallback, readHealthRecord, refusedBases as refusedBasesOf } from '../health/record.js';
import { UnchangedError } from '../../errors.js';
import type { ApplyOutcome } from './apply.js';
import { readRebootState } from './reboot-lock.js';

export type AutomaticUpdatePolicy = AptOstreeConfig['Daemon']['AutomaticUpdatePolicy'];

export interface AutomaticUpdateOptions extends OperationOptions {
  cacheOnly?: boolean;
  unchangedExit77?: boolean;
}

export interface AutomaticUpdateOutcome {
  policy: AutomaticUpdatePolicy;
  /** The configuration file the policy came from (or would have, when it does not exist). */
  configPath?: string;
  configExists: boolean;
  /** The upgrade's result; undefined with policy none, and with apply when the update was staged before. */
  result?: UpgradeResult;
  /** With policy apply: the reboot, or why there is none yet. */
  apply?: ApplyOutcome;
}

/** Read the policy, then run the check or the upgrade it asks for. UnchangedError passes through. */
export async function runAutomaticUpdate(opts: AutomaticUpdateOptions): Promise<AutomaticUpdateOutcome> {
  // Read before upgradeDeployment's transaction, which loads its own under the lock.
  const sysroot = openSysroot(opts.sysrootPath);
  const loaded = loadSysrootConfig(sysroot, opts.os);
  for (const w of loaded.warnings) opts.reporter.warn(w);
  const policy = loaded.config.Daemon.AutomaticUpdatePolicy;
  const driver = readUpdateDriver(sysroot.path, { booted: sysroot.isBootedSystem });
  if (driver && policy !== 'none') {
    opts.reporter.warn(
      `${driver['driver-name']} is registered as the driver of updates, and AutomaticUpdatePolicy=${policy} updates this system as well; ` +
        `set AutomaticUpdatePolicy=none in ${loaded.path ?? 'apt-ostree.conf'} to leave updates to ${driver['driver-name']}.`,
    );
  }
  const outcome: AutomaticUpdateOutcome = { policy, configPath: loaded.path, configExists: loaded.exists };
  if (policy === 'none') return outcome;
  // A base that a deployment fell back from is not offered again; a newer commit is.
  const refusedBases = new Map(
    [...refusedBasesOf(readHealthRecord(sysroot.path))].map(([checksum, f]) => [
      checksum,
      `Not updating to this commit again: ${describeFallback(f)}. A newer commit will be tried when it is published.`,
    ]),
  );
  const upgrade = () => upgradeDeployment({
    sysrootPath: opts.sysrootPath,
    os: opts.os,
    command: opts.command,
    title: opts.title,
    reporter: opts.reporter,
    target: { kind: 'upgrade' },
    check: policy === 'check',
    preview: policy === 'check',
    cacheOnly: opts.cacheOnly,
    unchangedExit77: opts.unchangedExit77,
    lockWaitSeconds: opts.lockWaitSeconds,
    // apply holds the staged deployment back until the strategy allows the reboot.
    lockFinalization: policy === 'apply' && sysroot.isBootedSystem,
    refusedBases,
  });
  if (policy !== 'apply') {
    outcome.result = await upgrade();
    return outcome;
  }
  try {
    outcome.result = await upgrade();
  } catch (e) {
    // Staged by an earlier run, still waiting for its reboot: decide again.
    // (On a sysroot directory the new default is written at once: it waits when the state says so.)
    const waits = sysroot.isBootedSystem ? stagedDeployment(openSysroot(opts.sysrootPath)) : readRebootState(sysroot.path).waiting;
    if (!(e instanceof UnchangedError) || !waits) throw e;
  }
  const after = openSysroot(opts.sysrootPath);
  const os = after.resolveOs(opts.os);
  const pending = after.isBootedSystem ? stagedDeployment(after) : after.deploymentsOf(os)[0];
  if (!pending) return outcome;
  const { applyStagedUpdate } = await import('./apply.js');
  outcome.apply = await applyStagedUpdate({ sysroot: after, os, pending, updates: loaded.config.Updates, reporter: opts.reporter, command: opts.command });
  return outcome;
}

function stagedDeployment(sysroot: ReturnType<typeof openSysroot>) {
  return sysroot.isBootedSystem && sysroot.deployments[0]?.staged ? sysroot.deployments[0] : undefined;
}

/** The one line saying why nothing was done under policy none. */
export function describeNonePolicy(o: AutomaticUpdateOutcome): string {
  const where = o.configPath ? (o.configExists ? ` in ${o.configPath}` : ` (${o.configPath} does not exist; none is the default)`) : ' (the default)';
  return `AutomaticUpdatePolicy is none${where}: automatic updates are off, nothing to do.\n`;
}
