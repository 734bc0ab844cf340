/**
 * The node id sent to a FleetLock server, derived as Zincati derives it, so that a fleet moving
 * from Zincati keeps its lock holders: systemd's sd_id128_get_machine_app_specific() with
 * Zincati's application id. That is HMAC-SHA256 keyed with the 16 bytes of /etc/machine-id over
 * the 16 bytes of the application id, the first 16 bytes of the digest made a version-4 UUID,
 * written as 32 lower-case hex digits (id128's lower_hex).
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AptOstreeError } from '../../errors.js';

/** Zincati's application id (src/identity/mod.rs APP_ID). */
export const ZINCATI_APP_ID = 'de35106b6ec24688b63afddaa156679b';

const ID128 = /^[0-9a-f]{32}$/;

export function appSpecificId(machineId: string, appId: string = ZINCATI_APP_ID): string {
  if (!ID128.test(machineId) || !ID128.test(appId)) throw new Error('a 128-bit id is 32 lower-case hex digits');
  const id = createHmac('sha256', Buffer.from(machineId, 'hex')).update(Buffer.from(appId, 'hex')).digest().subarray(0, 16);
  // systemd's id128_make_v4_uuid: version 4, variant DCE.
  id[6] = (id[6]! & 0x0f) | 0x40;
  id[8] = (id[8]! & 0x3f) | 0x80;
  return id.toString('hex');
}

/**
 * The node id of the system whose /etc is ETC (the running system's /etc, or a deployment's on
 * a sysroot directory). An empty or missing machine-id (an image never booted) has no id.
 */
export function fleetLockNodeId(etc: string): string {
  const path = join(etc, 'machine-id');
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new AptOstreeError(`Cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}), from which the FleetLock node id is derived.`, {
      hint: 'Boot the system once (systemd writes the machine id), or run `systemd-machine-id-setup`.',
    });
  }
  if (!ID128.test(text)) {
    throw new AptOstreeError(`${path} does not hold a machine id (32 lower-case hex digits), from which the FleetLock node id is derived.`, {
      hint: 'Boot the system once (systemd writes the machine id), or run `systemd-machine-id-setup`.',
    });
  }
  return appSpecificId(text);
}
