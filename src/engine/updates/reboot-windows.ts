/**
 * When RebootStrategy=periodic may reboot: is a moment inside one of the weekly maintenance
 * windows (config/maintenance-windows.ts), and when does the next one open. Windows follow the
 * wall clock of their time zone (Intl, no tz database of our own), as Zincati's do: on the days
 * the clocks change a window may be an hour longer or shorter.
 */
import { describeWindow, WEEK_MINUTES, type MaintenanceWindow } from '../../config/maintenance-windows.js';

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Minutes since Monday 00:00 of the moment's week, on the wall clock of the zone (`localtime`: the system's). */
export function minuteOfWeek(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timeZone === 'localtime' ? undefined : timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return WEEKDAYS.indexOf(part('weekday')) * 1440 + Number(part('hour')) * 60 + Number(part('minute'));
}

/** Minutes from the window's start to the moment, going forward around the week. */
function sinceStart(w: MaintenanceWindow, minute: number): number {
  return (((minute - (w.day * 1440 + w.start)) % WEEK_MINUTES) + WEEK_MINUTES) % WEEK_MINUTES;
}

export interface WindowVerdict {
  /** The window the moment is in, if any. */
  open?: MaintenanceWindow;
  /** Minutes until the next window opens (when none is open); on the wall clock, so off by up to an hour around a change of the clocks. */
  minutesToNext?: number;
  next?: MaintenanceWindow;
}

export function checkWindows(at: Date, windows: readonly MaintenanceWindow[], timeZone: string): WindowVerdict {
  const minute = minuteOfWeek(at, timeZone);
  const open = windows.find((w) => sinceStart(w, minute) < w.length);
  if (open) return { open };
  let best: { w: MaintenanceWindow; wait: number } | undefined;
  for (const w of windows) {
    const wait = (WEEK_MINUTES - sinceStart(w, minute)) % WEEK_MINUTES;
    if (!best || wait < best.wait) best = { w, wait };
  }
  return best ? { minutesToNext: best.wait, next: best.w } : {};
}

/** "the next window (Sat 23:30 for 60 min, UTC) opens in 2 h 5 min". */
export function describeNextWindow(v: WindowVerdict, timeZone: string): string {
  if (!v.next || v.minutesToNext === undefined) return 'no maintenance window is set';
  const h = Math.floor(v.minutesToNext / 60);
  const m = v.minutesToNext % 60;
  return `the next maintenance window (${describeWindow(v.next)}, ${timeZone}) opens in ${h ? `${h} h ` : ''}${m} min`;
}
