/**
 * Health checks: what decides whether a boot is good (see boot-counting.ts for what follows).
 *
 *   /usr/lib/apt-ostree/health.d/   shipped by the image and packages
 *   /etc/apt-ostree/health.d/       the admin's; a file of the same name replaces the shipped one,
 *                                   a symlink to /dev/null (or an empty file) turns it off, as
 *                                   systemd does for units
 *
 * All checks run one after the other in name order, each with the [Health] CheckTimeout, and all
 * of them run even after one failed, so that the record says everything that was wrong. A check is
 *
 *   an executable        passes when it exits 0; its output (stdout and stderr) is kept
 *   NAME.units           a text file of systemd unit names (one per line, # comments): passes when
 *                        each is active (a oneshot that ran and succeeded counts), waiting for
 *                        those still starting; fails at once on a failed or unknown unit
 *
 * Anything else (a file that is not executable, a backup such as NAME~ or NAME.dpkg-old, a
 * hidden file) is skipped and listed as such.
 */
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listDir } from '../../system/fs.js';
import { runCheckProgram } from '../../system/check-program.js';
import { showUnitProperties } from '../../system/systemd.js';

export const SHIPPED_CHECKS_DIR = '/usr/lib/apt-ostree/health.d';
export const ADMIN_CHECKS_DIR = '/etc/apt-ostree/health.d';
export const DEFAULT_CHECK_DIRS = [SHIPPED_CHECKS_DIR, ADMIN_CHECKS_DIR];

export interface HealthCheck {
  name: string;
  path: string;
  kind: 'program' | 'units';
}

export interface SkippedCheck {
  name: string;
  path: string;
  why: 'masked' | 'not executable' | 'backup or hidden file' | 'not a file';
}

export type CheckStatus = 'passed' | 'failed' | 'timed-out';

export interface CheckResult {
  name: string;
  path: string;
  kind: HealthCheck['kind'];
  status: CheckStatus;
  /** Exit status of a program check. */
  'exit-code'?: number;
  signal?: string;
  /** Its output, or what the units check saw; the end of it when long (truncated: true). */
  output: string;
  truncated?: boolean;
  seconds: number;
}

const BACKUP = /(^\.|~$|\.dpkg-(old|new|dist|tmp|bak)$|\.ucf-(old|new|dist)$|\.(orig|rej|swp|bak)$)/;

/** The checks of `dirs` (later directories override earlier ones by name), in name order. */
export function discoverChecks(dirs: readonly string[]): { checks: HealthCheck[]; skipped: SkippedCheck[] } {
  const byName = new Map<string, string>();
  for (const dir of dirs) for (const name of listDir(dir)) byName.set(name, join(dir, name));
  const checks: HealthCheck[] = [];
  const skipped: SkippedCheck[] = [];
  for (const name of [...byName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const path = byName.get(name)!;
    if (BACKUP.test(name)) {
      skipped.push({ name, path, why: 'backup or hidden file' });
      continue;
    }
    let target: ReturnType<typeof statSync>;
    try {
      if (lstatSync(path).isSymbolicLink() && readlinkSync(path) === '/dev/null') {
        skipped.push({ name, path, why: 'masked' });
        continue;
      }
      target = statSync(path);
    } catch {
      skipped.push({ name, path, why: 'not a file' });
      continue;
    }
    if (!target.isFile()) {
      skipped.push({ name, path, why: 'not a file' });
    } else if (target.size === 0) {
      skipped.push({ name, path, why: 'masked' });
    } else if (name.endsWith('.units')) {
      checks.push({ name, path, kind: 'units' });
    } else if ((target.mode & 0o111) === 0) {
      skipped.push({ name, path, why: 'not executable' });
    } else {
      checks.push({ name, path, kind: 'program' });
    }
  }
  return { checks, skipped };
}

export interface RunChecksOptions {
  timeoutSeconds: number;
  /** Called as each check finishes (the command prints it). */
  onResult?: (r: CheckResult) => void;
  /** How a units check reads a unit's state (systemctl show; replaced only where no systemd runs). */
  unitState?: (unit: string) => Promise<UnitProperties>;
  /** Seconds between two looks at units still starting. */
  pollSeconds?: number;
}

export async function runChecks(checks: readonly HealthCheck[], opts: RunChecksOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const c of checks) {
    const r = c.kind === 'units' ? await runUnitsCheck(c, opts) : await runProgramCheck(c, opts.timeoutSeconds);
    results.push(r);
    opts.onResult?.(r);
  }
  return results;
}

async function runProgramCheck(c: HealthCheck, timeoutSeconds: number): Promise<CheckResult> {
  const r = await runCheckProgram(c.path, {
    timeoutMs: timeoutSeconds * 1000,
    env: { APT_OSTREE_HEALTH_CHECK: c.name, APT_OSTREE_HEALTH_TIMEOUT: String(timeoutSeconds) },
  });
  const status: CheckStatus = r.timedOut ? 'timed-out' : r.exitCode === 0 ? 'passed' : 'failed';
  let output = r.output;
  if (r.startError) output += `${output && !output.endsWith('\n') ? '\n' : ''}could not start it: ${r.startError}\n`;
  if (r.timedOut) output += `${output && !output.endsWith('\n') ? '\n' : ''}stopped after ${timeoutSeconds} seconds ([Health] CheckTimeout)\n`;
  return {
    name: c.name, path: c.path, kind: c.kind, status,
    ...(r.exitCode !== undefined ? { 'exit-code': r.exitCode } : {}),
    ...(r.signal ? { signal: r.signal } : {}),
    output, ...(r.truncated ? { truncated: true } : {}),
    seconds: Math.round(r.milliseconds / 100) / 10,
  };
}

/** The unit names of a .units file. */
export function parseUnitsFile(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean).flatMap((l) => l.split(/\s+/));
}

/** The properties of a unit a units check looks at (`systemctl show -p …`). */
export type UnitProperties = Partial<Record<'LoadState' | 'ActiveState' | 'SubState' | 'Result' | 'Type' | 'InactiveExitTimestampMonotonic', string>>;

export type UnitVerdict = { state: 'ok' } | { state: 'wait'; what: string } | { state: 'failed'; what: string };

/** Is a unit where a healthy boot has it? Pure: decided from its properties. */
export function unitVerdict(unit: string, p: UnitProperties): UnitVerdict {
  if (p.LoadState === 'not-found') return { state: 'failed', what: `${unit}: no such unit` };
  if (p.LoadState === 'masked') return { state: 'failed', what: `${unit}: masked` };
  if (p.LoadState === 'error' || p.LoadState === 'bad-setting') return { state: 'failed', what: `${unit}: cannot be loaded (${p.LoadState})` };
  const active = p.ActiveState ?? 'unknown';
  if (active === 'active' || active === 'reloading') return { state: 'ok' };
  if (active === 'failed') return { state: 'failed', what: `${unit}: failed (${p.Result ?? 'unknown result'})` };
  // A oneshot without RemainAfterExit is inactive again once it has run: it counts when it succeeded.
  const ran = p.InactiveExitTimestampMonotonic !== undefined && p.InactiveExitTimestampMonotonic !== '0';
  if (active === 'inactive' && p.Type === 'oneshot' && ran && p.Result === 'success') return { state: 'ok' };
  if (active === 'inactive' && ran && p.Result && p.Result !== 'success') return { state: 'failed', what: `${unit}: ran and stopped (${p.Result})` };
  return { state: 'wait', what: `${unit}: ${active}${p.SubState ? ` (${p.SubState})` : ''}` };
}

const UNIT_PROPERTIES = ['LoadState', 'ActiveState', 'SubState', 'Result', 'Type', 'InactiveExitTimestampMonotonic'] as const;

async function systemctlShow(unit: string): Promise<UnitProperties> {
  const stdout = await showUnitProperties(unit, UNIT_PROPERTIES);
  const out: UnitProperties = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    const key = line.slice(0, eq) as (typeof UNIT_PROPERTIES)[number];
    if (eq > 0 && UNIT_PROPERTIES.includes(key)) out[key] = line.slice(eq + 1);
  }
  return out;
}

async function runUnitsCheck(c: HealthCheck, opts: RunChecksOptions): Promise<CheckResult> {
  const started = Date.now();
  const deadline = started + opts.timeoutSeconds * 1000;
  const read = opts.unitState ?? systemctlShow;
  let units: string[];
  try {
    units = parseUnitsFile(readFileSync(c.path, 'utf8'));
  } catch (e) {
    return { name: c.name, path: c.path, kind: c.kind, status: 'failed', output: `cannot read ${c.path}: ${(e as Error).message}\n`, seconds: 0 };
  }
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  let pending = units;
  const done: string[] = [];
  for (;;) {
    const waiting: Array<{ unit: string; what: string }> = [];
    for (const u of pending) {
      let v: UnitVerdict;
      try {
        v = unitVerdict(u, await read(u));
      } catch (e) {
        v = { state: 'failed', what: `${u}: ${(e as Error).message}` };
      }
      if (v.state === 'failed') {
        return { name: c.name, path: c.path, kind: c.kind, status: 'failed', output: [...done, v.what].join('\n') + '\n', seconds: seconds() };
      }
      if (v.state === 'ok') done.push(`${u}: active`);
      else waiting.push({ unit: u, what: v.what });
    }
    pending = waiting.map((w) => w.unit);
    if (!pending.length) return { name: c.name, path: c.path, kind: c.kind, status: 'passed', output: done.join('\n') + (done.length ? '\n' : ''), seconds: seconds() };
    if (Date.now() >= deadline) {
      return {
        name: c.name, path: c.path, kind: c.kind, status: 'timed-out',
        output: [...done, ...waiting.map((w) => `${w.what}, still not active`), `stopped waiting after ${opts.timeoutSeconds} seconds ([Health] CheckTimeout)`].join('\n') + '\n',
        seconds: seconds(),
      };
    }
    await new Promise((r) => setTimeout(r, Math.min((opts.pollSeconds ?? 1) * 1000, Math.max(0, deadline - Date.now()))));
  }
}
