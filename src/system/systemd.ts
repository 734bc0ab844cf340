/** systemd's tools that apt-ostree runs on the booted system (apply-live, health checks, reboots, the update driver). */
import { run, runSync } from './run.js';

/** `systemd-sysusers FILE…`: the users and groups these sysusers.d files declare. */
export async function sysusers(files: readonly string[]): Promise<void> {
  if (files.length) await run('systemd-sysusers', ['--', ...files], { what: 'systemd-sysusers' });
}

/** `systemd-tmpfiles --create FILE…`: the files and directories these tmpfiles.d files declare. */
export async function tmpfilesCreate(files: readonly string[]): Promise<void> {
  if (files.length) await run('systemd-tmpfiles', ['--create', '--', ...files], { what: 'systemd-tmpfiles --create' });
}

/** `systemctl daemon-reload`: systemd reads its unit files again, so new units can be started. */
export async function daemonReload(): Promise<void> {
  await run('systemctl', ['daemon-reload'], { what: 'systemctl daemon-reload' });
}

/** `systemctl reboot`; HINT says what to do when it fails. */
export async function rebootSystem(hint: string): Promise<void> {
  await run('systemctl', ['reboot'], { what: 'systemctl reboot', hint });
}

/** `systemctl show --property=P… -- UNIT`: its `NAME=value` lines. */
export async function showUnitProperties(unit: string, properties: readonly string[]): Promise<string> {
  const r = await run('systemctl', ['show', ...properties.map((p) => `--property=${p}`), '--', unit], { what: `systemctl show ${unit}` });
  return r.stdout;
}

/** `systemctl is-active --quiet UNIT`, blocking: does it run (false also where systemctl cannot be started)? */
export function unitIsActive(unit: string): boolean {
  return runSync('systemctl', ['is-active', '--quiet', unit]).status === 0;
}

/** `systemctl is-failed --quiet UNIT`, blocking: has it failed? */
export function unitHasFailed(unit: string): boolean {
  return runSync('systemctl', ['is-failed', '--quiet', unit]).status === 0;
}
