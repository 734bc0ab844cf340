// Maintenance windows of RebootStrategy=periodic (engine/updates/reboot-windows.ts), with a fake
// clock: fixed instants, in UTC and in named zones, across midnight, the week and a DST change.
import { describe, expect, it } from 'vitest';
import { parseMaintenanceWindows, type MaintenanceWindow } from '../../../../src/config/maintenance-windows.js';
import { checkWindows, describeNextWindow, minuteOfWeek } from '../../../../src/engine/updates/reboot-windows.js';

function windows(text: string): MaintenanceWindow[] {
  const r = parseMaintenanceWindows(text);
  if ('error' in r) throw new Error(r.error);
  return r.windows;
}
const at = (iso: string) => new Date(iso);

describe('maintenance windows', () => {
  it('parses Zincati\'s example into one window per day', () => {
    expect(windows('Sat,Sun 23:30 60; Wed 01:00 30')).toEqual([
      { day: 5, start: 1410, length: 60 },
      { day: 6, start: 1410, length: 60 },
      { day: 2, start: 60, length: 30 },
    ]);
    expect(windows('')).toEqual([]);
    expect(windows('Monday,tue 00:00 1;')).toEqual([{ day: 0, start: 0, length: 1 }, { day: 1, start: 0, length: 1 }]);
  });

  it('counts minutes of the week from Monday 00:00 on the zone\'s wall clock', () => {
    expect(minuteOfWeek(at('2026-12-07T00:00:00Z'), 'UTC')).toBe(0); // a Monday
    expect(minuteOfWeek(at('2026-12-13T23:59:00Z'), 'UTC')).toBe(7 * 1440 - 1);
    expect(minuteOfWeek(at('2026-12-07T00:00:00Z'), 'America/Panama')).toBe(6 * 1440 + 19 * 60); // Sunday 19:00
  });

  it('is open from the start for the length, and not a minute longer (UTC)', () => {
    const w = windows('Wed 01:00 30');
    expect(checkWindows(at('2026-12-09T00:59:59Z'), w, 'UTC').open).toBeUndefined();
    expect(checkWindows(at('2026-12-09T01:00:00Z'), w, 'UTC').open).toEqual(w[0]);
    expect(checkWindows(at('2026-12-09T01:29:59Z'), w, 'UTC').open).toEqual(w[0]);
    expect(checkWindows(at('2026-12-09T01:30:00Z'), w, 'UTC').open).toBeUndefined();
    expect(checkWindows(at('2026-12-10T01:10:00Z'), w, 'UTC').open).toBeUndefined(); // Thursday
  });

  it('wraps past midnight and past Sunday into Monday', () => {
    const w = windows('Sun 23:30 60');
    expect(checkWindows(at('2026-12-13T23:45:00Z'), w, 'UTC').open).toBeDefined(); // Sunday
    expect(checkWindows(at('2026-12-14T00:29:00Z'), w, 'UTC').open).toBeDefined(); // Monday
    expect(checkWindows(at('2026-12-14T00:30:00Z'), w, 'UTC').open).toBeUndefined();
    // A window as long as the week is always open.
    expect(checkWindows(at('2026-12-10T12:00:00Z'), windows('Mon 00:00 10080'), 'UTC').open).toBeDefined();
  });

  it('follows a named time zone, not UTC', () => {
    const w = windows('Sat,Sun 23:30 60'); // Zincati's Panama example: UTC-5 all year
    expect(checkWindows(at('2026-12-13T04:45:00Z'), w, 'America/Panama').open).toEqual(w[0]); // Sat 23:45 in Panama
    expect(checkWindows(at('2026-12-13T04:45:00Z'), w, 'UTC').open).toBeUndefined(); // Sun 04:45 UTC
  });

  it('keeps wall-clock times across a change of the clocks', () => {
    const w = windows('Sun 01:30 60');
    // US/Eastern, 2026-11-01 (fall back): 01:30 EDT is 05:30Z, and 01:30 EST again at 06:30Z.
    expect(checkWindows(at('2026-11-01T05:40:00Z'), w, 'US/Eastern').open).toBeDefined();
    expect(checkWindows(at('2026-11-01T06:40:00Z'), w, 'US/Eastern').open).toBeDefined();
    expect(checkWindows(at('2026-11-01T07:40:00Z'), w, 'US/Eastern').open).toBeUndefined(); // 02:40 EST
  });

  it('says when the next window opens', () => {
    const w = windows('Sat 23:30 60; Wed 01:00 30');
    const v = checkWindows(at('2026-12-09T00:00:00Z'), w, 'UTC'); // Wednesday 00:00
    expect(v).toEqual({ minutesToNext: 60, next: w[1] });
    expect(describeNextWindow(v, 'UTC')).toBe('the next maintenance window (Wed 01:00 for 30 min, UTC) opens in 1 h 0 min');
    // Just after the Wednesday window: the Saturday one, 3 days 22 h later.
    expect(checkWindows(at('2026-12-09T01:30:00Z'), w, 'UTC')).toEqual({ minutesToNext: 3 * 1440 + 22 * 60, next: w[0] });
    expect(describeNextWindow(checkWindows(at('2026-12-09T01:30:00Z'), [], 'UTC'), 'UTC')).toBe('no maintenance window is set');
  });
});
