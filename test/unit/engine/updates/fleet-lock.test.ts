// The FleetLock client (engine/updates/fleet-lock.ts) against the test server on loopback: what
// goes on the wire (Zincati's paths, header and body), what counts as success, how refusals and
// failures are reported, and the back-off while the server is down.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeFleetLockFailure, fleetLockRequest, fleetLockUrl, fleetLockWithRetries } from '../../../../src/engine/updates/fleet-lock.js';
import { startFleetLockServer, type FleetLockServer } from '../../../fixtures/fleetlock-server.js';

let server: FleetLockServer;
beforeAll(async () => {
  server = await startFleetLockServer({ slots: 1 });
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  server.holders.clear();
  server.failNext(0);
});

const A = { id: '975228d46dc94622b9bbe16671e2b58d', group: 'workers' };
const client = (over: Partial<{ id: string; group: string; baseUrl: string }> = {}) => ({ baseUrl: server.url, ...A, ...over });
const noWait = { delays: [1, 1, 1], sleep: async () => {} };

describe('FleetLock client', () => {
  it('resolves the endpoints against the base URL as Zincati\'s Url::join does', () => {
    expect(fleetLockUrl('http://h/base/', 'pre-reboot')).toBe('http://h/base/v1/pre-reboot');
    expect(fleetLockUrl('http://h/base', 'steady-state')).toBe('http://h/v1/steady-state');
    expect(fleetLockUrl('https://h', 'pre-reboot')).toBe('https://h/v1/pre-reboot');
  });

  it('sends Zincati\'s request: POST, the protocol header, client_params with id and group', async () => {
    expect(await fleetLockRequest(client(), 'pre-reboot')).toEqual({ ok: true });
    const [r] = server.requests;
    expect(r).toMatchObject({ method: 'POST', path: '/base/v1/pre-reboot' });
    expect(r!.headers['fleet-lock-protocol']).toBe('true');
    expect(JSON.parse(r!.body)).toEqual({ client_params: { id: A.id, group: 'workers' } });
    expect(server.holders).toEqual(new Set([A.id]));
    expect(await fleetLockRequest(client(), 'steady-state')).toEqual({ ok: true });
    expect(server.requests[1]!.path).toBe('/base/v1/steady-state');
    expect(server.holders.size).toBe(0);
  });

  it('reports a refusal with the server\'s kind and value', async () => {
    await fleetLockRequest(client({ id: 'other' }), 'pre-reboot');
    const a = await fleetLockRequest(client(), 'pre-reboot');
    expect(a).toEqual({ ok: false, reachable: true, status: 409, kind: 'failed_lock_semaphore_full', value: 'semaphore currently full, all slots are locked already' });
    expect(describeFleetLockFailure(server.url, 'pre-reboot', a as Exclude<typeof a, { ok: true }>)).toBe(
      `the FleetLock server at ${server.url} refused pre-reboot (HTTP 409, failed_lock_semaphore_full: semaphore currently full, all slots are locked already)`,
    );
  });

  it('counts only 200 as success, and names a body without kind and value generic_http_STATUS', async () => {
    expect(await fleetLockRequest(client({ baseUrl: server.url.replace(/base\/$/, 'elsewhere/') }), 'pre-reboot')).toMatchObject({ ok: false, status: 404, kind: 'not_found' });
    server.failNext(1);
    expect(await fleetLockRequest(client(), 'pre-reboot')).toMatchObject({ ok: false, status: 500, kind: 'internal_error' });
  });

  it('reports an unreachable server as client_failed_request', async () => {
    const down = await startFleetLockServer();
    await down.close();
    expect(await fleetLockRequest(client({ baseUrl: down.url }), 'pre-reboot')).toMatchObject({ ok: false, reachable: false, kind: 'client_failed_request', value: 'ECONNREFUSED' });
    server.failNext(1, 'drop');
    expect(await fleetLockRequest(client(), 'pre-reboot')).toMatchObject({ ok: false, reachable: false });
  });

  it('retries with back-off while the server fails, and stops at an answer', async () => {
    const waits: number[] = [];
    server.failNext(2, 'drop');
    const a = await fleetLockWithRetries(client(), 'pre-reboot', { delays: [5, 10, 20], sleep: async (s) => void waits.push(s) });
    expect(a).toEqual({ ok: true });
    expect(waits).toEqual([5, 10]);
    expect(server.requests).toHaveLength(3);
    // A refusal is an answer: not retried.
    server.requests.length = 0;
    await fleetLockRequest(client({ id: 'other' }), 'pre-reboot');
    await fleetLockRequest(client({ id: 'third' }), 'pre-reboot');
    expect(server.requests).toHaveLength(2);
    server.failNext(5);
    expect(await fleetLockWithRetries(client({ id: 'third' }), 'pre-reboot', noWait)).toMatchObject({ ok: false, status: 500 }); // out of tries
    expect(server.requests).toHaveLength(2 + 4);
  });
});
