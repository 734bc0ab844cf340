/**
 * The update driver registry, as rpm-ostree has it: an update agent (Zincati, a fleet manager)
 * registers itself with `deploy --register-driver NAME`; `status` shows it ("AutomaticUpdatesDriver",
 * `update-driver` in --json); upgrade, deploy and rebase refuse to run beside it unless given
 * --bypass-driver or run by the driver itself (from its systemd unit); the automatic-update policy
 * warns that two things would be updating the system.
 *
 * The record is SYSROOT/ostree/apt-ostree/update-driver.json, with rpm-ostree's keys (driver-name,
 * driver-sd-unit). rpm-ostree keeps it in /run, so that a registration ends with the boot and the
 * agent registers again when it starts; apt-ostree has no daemon to hold /run for a sysroot
 * directory, so the record carries the boot it was made in instead: on the running system a record
 * of an earlier boot counts as no registration (the same lifetime as rpm-ostree's), on a sysroot
 * directory (no boot of its own) it stays until it is replaced.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AptOstreeError } from '../../errors.js';
import { unitHasFailed, unitIsActive } from '../../system/systemd.js';
import { driverRecordPath } from '../state-paths.js';

/** As rpm-ostree's status --json shows it under `update-driver`. */
export interface UpdateDriver {
  'driver-name': string;
  /** The systemd unit the agent ran in when it registered ('' when it ran in none). */
  'driver-sd-unit': string;
}

interface DriverRecord extends UpdateDriver {
  /** The boot it was registered in, on the running system; absent for a sysroot directory. */
  'boot-id'?: string;
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The systemd unit this process runs in, from its cgroup (`0::/system.slice/zincati.service`):
 * the unit of the agent that started us, since a child stays in its parent's cgroup.
 */
export function callerUnit(): string {
  let text: string;
  try {
    text = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return '';
  }
  const path = /^0::(\S*)$/m.exec(text)?.[1] ?? '';
  const units = path.split('/').filter((p) => /\.(service|scope)$/.test(p));
  return units.at(-1) ?? '';
}

/** The registered driver, if any counts now (see the file's comment). */
export function readUpdateDriver(sysrootPath: string, opts: { booted: boolean }): UpdateDriver | undefined {
  let record: DriverRecord;
  try {
    record = JSON.parse(readFileSync(driverRecordPath(sysrootPath), 'utf8')) as DriverRecord;
  } catch {
    return undefined;
  }
  if (typeof record?.['driver-name'] !== 'string' || !record['driver-name']) return undefined;
  if (opts.booted && record['boot-id'] !== bootId()) return undefined;
  return { 'driver-name': record['driver-name'], 'driver-sd-unit': typeof record['driver-sd-unit'] === 'string' ? record['driver-sd-unit'] : '' };
}

/** Record NAME, run from the caller's unit, as the update driver (replacing any other). */
export function registerUpdateDriver(sysrootPath: string, name: string, opts: { booted: boolean }): UpdateDriver {
  if (!name.trim()) throw new AptOstreeError('--register-driver needs the name of the update driver.', { hint: 'Give it as --register-driver=NAME.' });
  const record: DriverRecord = { 'driver-name': name, 'driver-sd-unit': callerUnit(), ...(opts.booted ? { 'boot-id': bootId() } : {}) };
  const path = driverRecordPath(sysrootPath);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return { 'driver-name': record['driver-name'], 'driver-sd-unit': record['driver-sd-unit'] };
}

/** Does the driver's unit run (or has it failed: a crashed driver still owns the updates), as rpm-ostree asks systemd? */
function unitActive(unit: string): boolean {
  if (unitIsActive(unit)) return true;
  return unitHasFailed(unit);
}

/**
 * Refuse an upgrade, deploy or rebase while another agent drives the updates, as rpm-ostree
 * does: unless --bypass-driver, or the command runs in the driver's own unit, or (on the running
 * system) that unit is no longer running.
 */
export function refuseBesideDriver(sysrootPath: string, opts: { booted: boolean; bypass: boolean; command: string }): void {
  if (opts.bypass) return;
  const driver = readUpdateDriver(sysrootPath, opts);
  if (!driver) return;
  const unit = driver['driver-sd-unit'];
  if (unit && callerUnit() === unit) return;
  if (opts.booted && unit && !unitActive(unit)) return;
  throw new AptOstreeError(`Updates and deployments of this system are driven by ${driver['driver-name']}${unit ? ` (${unit})` : ''}: ${opts.command} would work against it.`, {
    hint: `Let ${driver['driver-name']} do it (see its documentation), or give --bypass-driver to ${opts.command} anyway.`,
  });
}
