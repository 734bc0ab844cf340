/** systemd's tools that apt-ostree runs on the booted system (apply-live). */
import { run } from './run.js';

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
