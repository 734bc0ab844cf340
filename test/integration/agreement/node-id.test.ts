// The FleetLock node id (engine/updates/node-id.ts) against systemd's own
// sd_id128_get_machine_app_specific(): `systemd-id128 machine-id --app-specific=` with Zincati's
// application id, for the host's machine id and for others bound over /etc/machine-id in a
// private mount namespace (root; systemd-id128 reads only that file).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appSpecificId, fleetLockNodeId, ZINCATI_APP_ID } from '../../../src/engine/updates/node-id.js';
import { sh } from '../../fixtures/env.js';

const dir = mkdtempSync(join(tmpdir(), 'node-id-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FleetLock node id = systemd-id128 machine-id --app-specific (Zincati\'s id)', () => {
  it('for the host\'s /etc/machine-id', async () => {
    const systemd = (await sh('systemd-id128', ['machine-id', `--app-specific=${ZINCATI_APP_ID}`])).trim();
    expect(systemd).toMatch(/^[0-9a-f]{32}$/);
    expect(fleetLockNodeId('/etc')).toBe(systemd);
  });

  it.each(['00000000000000000000000000000001', 'ffffffffffffffffffffffffffffffff', 'c988d2509fdf4cdcbed39037c56406fb'])('for the machine id %s', async (machineId) => {
    const file = join(dir, `machine-id-${machineId}`);
    writeFileSync(file, `${machineId}\n`);
    const script = `mount --bind "$1" /etc/machine-id && exec systemd-id128 machine-id --app-specific=${ZINCATI_APP_ID}`;
    const systemd = (await sh('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', file])).trim();
    expect(appSpecificId(machineId)).toBe(systemd);
  });
});
