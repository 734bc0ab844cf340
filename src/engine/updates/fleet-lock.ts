/**
 * A FleetLock client, wire-compatible with Zincati's (src/fleet_lock/mod.rs) so that the lock
 * servers written for it (airlock, poseidon/fleetlock, …) work unchanged: POST to
 * BASE/v1/pre-reboot (take a reboot slot) and BASE/v1/steady-state (release it), the header
 * `fleet-lock-protocol: true`, the body {"client_params":{"id":ID,"group":GROUP}}. Only 200 is
 * success; a refusal's body {"kind","value"} is kept for the log and `status`. The endpoints are
 * resolved against BASE as a URL is (Zincati's Url::join): BASE needs its trailing `/` when the
 * server sits under a path.
 */

export type FleetLockApi = 'pre-reboot' | 'steady-state';

export interface FleetLockClient {
  baseUrl: string;
  id: string;
  group: string;
  /** Per request; Zincati allows 30 minutes, a timer run should not wait that long. */
  timeoutMs?: number;
}

export type FleetLockAnswer =
  | { ok: true }
  /** The server answered, and not with 200: kind and value as it sent them, or generic_http_STATUS. */
  | { ok: false; reachable: true; status: number; kind: string; value: string }
  /** No answer: connection refused, DNS, timeout (Zincati's client_failed_request). */
  | { ok: false; reachable: false; kind: 'client_failed_request'; value: string };

export function fleetLockUrl(baseUrl: string, api: FleetLockApi): string {
  return new URL(`v1/${api}`, baseUrl).toString();
}

export async function fleetLockRequest(client: FleetLockClient, api: FleetLockApi): Promise<FleetLockAnswer> {
  let response: Response;
  try {
    response = await fetch(fleetLockUrl(client.baseUrl, api), {
      method: 'POST',
      headers: { 'fleet-lock-protocol': 'true', 'content-type': 'application/json' },
      body: JSON.stringify({ client_params: { id: client.id, group: client.group } }),
      // A redirect could carry the request somewhere not meant for it (the reason for the header).
      redirect: 'manual',
      signal: AbortSignal.timeout(client.timeoutMs ?? 60_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, reachable: false, kind: 'client_failed_request', value: cause?.code ?? cause?.message ?? (e as Error).message };
  }
  const text = await response.text().catch(() => '');
  if (response.status === 200) return { ok: true };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const b = body as { kind?: unknown; value?: unknown } | undefined;
  if (b && typeof b.kind === 'string' && b.kind && typeof b.value === 'string') {
    return { ok: false, reachable: true, status: response.status, kind: clean(b.kind, 80), value: clean(b.value, 300) };
  }
  return { ok: false, reachable: true, status: response.status, kind: `generic_http_${response.status}`, value: '(unknown/generic server error)' };
}

/** A server's text goes into the log and status: no control characters, bounded. */
function clean(s: string, max: number): string {
  const c = s.replace(/[\x00-\x1f\x7f]/g, ' ');
  return c.length > max ? `${c.slice(0, max - 3)}...` : c;
}

export interface RetryPolicy {
  /** Seconds between tries while the server cannot be reached; one more try than delays. */
  delays: readonly number[];
  sleep?: (seconds: number) => Promise<void>;
  onRetry?: (answer: FleetLockAnswer, seconds: number) => void;
}

/** Back-off while the server is unreachable or failing (5xx): 5 s, 10 s, 20 s, 40 s, then 60 s, about 5 minutes. */
export const DEFAULT_RETRY: RetryPolicy = { delays: [5, 10, 20, 40, 60, 60, 60, 60] };

/**
 * The request, tried again after each delay while there is no answer or a server error (5xx).
 * A refusal (4xx: the slots are taken, a bad group) is an answer and is returned at once.
 */
export async function fleetLockWithRetries(client: FleetLockClient, api: FleetLockApi, retry: RetryPolicy = DEFAULT_RETRY): Promise<FleetLockAnswer> {
  const sleep = retry.sleep ?? ((s: number) => new Promise<void>((r) => setTimeout(r, s * 1000)));
  for (let attempt = 0; ; attempt++) {
    const answer = await fleetLockRequest(client, api);
    const transient = !answer.ok && (!answer.reachable || answer.status >= 500);
    const delay = retry.delays[attempt];
    if (!transient || delay === undefined) return answer;
    retry.onRetry?.(answer, delay);
    await sleep(delay);
  }
}

/** "the FleetLock server at URL refused pre-reboot (409 failed_lock_semaphore_full: semaphore currently full)". */
export function describeFleetLockFailure(baseUrl: string, api: FleetLockApi, a: Exclude<FleetLockAnswer, { ok: true }>): string {
  return a.reachable
    ? `the FleetLock server at ${baseUrl} refused ${api} (HTTP ${a.status}, ${a.kind}: ${a.value})`
    : `the FleetLock server at ${baseUrl} could not be reached for ${api} (${a.value})`;
}
