/** `health-check`: run the health checks; with --boot, the boot's assessment (engine/health/boot.ts). */
import { healthCheck, type HealthCheckOutcome } from '../../engine/health/boot.js';
import { describeFallback } from '../../engine/health/record.js';
import type { CheckResult } from '../../engine/health/checks.js';
import type { AptOstreeConfig } from '../../config/config.js';
import { loadConfig } from '../../engine/deployments/settings.js';
import { InputError } from '../../errors.js';
import { isDirectory } from '../../system/fs.js';
import { rebootSystem } from '../../system/systemd.js';
import { commandLine, type CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { HEALTH_CHECK } from '../specs/health-check.js';

function resultLine(r: CheckResult): string {
  const how = r.status === 'passed' ? 'passed' : r.status === 'timed-out' ? 'timed out' : `failed${r['exit-code'] !== undefined ? ` (exit status ${r['exit-code']})` : r.signal ? ` (${r.signal})` : ''}`;
  return `${r.status === 'passed' ? 'ok  ' : 'FAIL'} ${r.name}: ${how} in ${r.seconds} s\n`;
}

function indent(text: string): string {
  return text.trimEnd().split('\n').map((l) => `     | ${l}`).join('\n') + '\n';
}

export async function run(ctx: CommandContext<ArgsOf<typeof HEALTH_CHECK>>): Promise<number> {
  const { json, boot } = ctx.args;
  const checkDirs = ctx.args.checksDir.length ? ctx.args.checksDir : undefined;
  // A mistyped --checks-dir would otherwise pass with no check run.
  const missing = checkDirs?.find((d) => !isDirectory(d, { followLinks: true }));
  if (missing !== undefined) throw new InputError(`The health check directory ${missing} does not exist or is not a directory.`, 'Give a directory of health checks (--checks-dir DIR), e.g. /etc/apt-ostree/health.d.');
  const outcome: HealthCheckOutcome = await healthCheck({
    sysrootPath: ctx.sysroot, os: ctx.os, command: commandLine(), reporter: ctx.reporter,
    checkDirs, runOnly: !boot,
    onResult: json ? undefined : (r) => {
      process.stdout.write(resultLine(r));
      if (r.status !== 'passed' && r.output.trim()) process.stdout.write(indent(r.output));
    },
  });
  // Skipped, not failed: a forgotten chmod must not roll back a good update; but said
  // (the boot unit's journal) with the fix, not only listed.
  for (const k of outcome.skipped.filter((x) => x.why === 'not executable')) {
    ctx.reporter.warn(`the health check ${k.path} is not executable, so it was not run; make it executable (chmod +x) to run it, or name it NAME.units if it lists units`);
  }
  if (json) {
    const { deployment, ...rest } = outcome;
    process.stdout.write(JSON.stringify({ ...rest, deployment: deployment ? `${deployment.checksum}.${deployment.serial}` : null }, null, 2) + '\n');
  } else {
    for (const s of outcome.skipped) process.stdout.write(`skip ${s.name}: ${s.why}\n`);
    if (outcome.notRun) process.stdout.write(`No health checks were run: ${outcome.notRun}.\n`);
    else if (!outcome.results.length) process.stdout.write('No health checks to run.\n');
    if (outcome.fallback) process.stdout.write(`Fallback: ${describeFallback(outcome.fallback)}.\n`);
  }
  // FleetLock (AutomaticUpdatePolicy=apply): the slot is released only by a boot that passed.
  if (boot) {
    // A configuration that does not read (the health check reports on the boot regardless) leaves the release to the server that granted the slot.
    let updates: AptOstreeConfig['Updates'] | undefined;
    try {
      updates = loadConfig(ctx.sysroot, undefined, ctx.os).config.Updates;
    } catch {
      updates = undefined;
    }
    const server = updates?.RebootStrategy === 'fleet-lock' && updates.FleetLockURL ? { url: updates.FleetLockURL, group: updates.FleetLockGroup } : undefined;
    await (await import('../../engine/updates/reboot-lock.js')).afterBootAssessment(ctx.sysroot, { passed: outcome.passed, deployment: outcome.deployment, fellBack: Boolean(outcome.fallback) }, ctx.reporter, undefined, server);
  }
  const d = outcome.decision;
  if (d?.action === 'reboot') {
    const tries = `${d.left} more ${d.left === 1 ? 'try' : 'tries'} before the boot loader falls back`;
    // Say "rebooting" only where a reboot follows: a sysroot directory is not the running system.
    if (ctx.sysroot !== '/') {
      ctx.reporter.warn(`a health check failed on a new deployment on trial (${tries}); not rebooting: --sysroot ${ctx.sysroot} is not the running system`);
    } else {
      ctx.reporter.warn(`a health check failed on a new deployment on trial (${tries}); rebooting ([Health] RebootOnFailure=true)`);
      await rebootSystem('Reboot by hand to use the next try.');
    }
  } else if (d?.action === 'report' && d.why === 'no-reboot') {
    ctx.reporter.warn('a health check failed on a new deployment on trial; reboot to use its next try ([Health] RebootOnFailure=false)');
  }
  return outcome.passed ? 0 : 1;
}
