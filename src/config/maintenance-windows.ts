/**
 * [Updates] MaintenanceWindows: the weekly windows in which RebootStrategy=periodic may reboot,
 * as Zincati's `updates.periodic.window` entries (days, start time, length) written on one line:
 *
 *   MaintenanceWindows=Sat,Sun 23:30 60; Wed 01:00 30
 *
 * Each entry is DAYS HH:MM MINUTES; a window may run past midnight and past Sunday into Monday.
 * Parsed here (config reading validates it); engine/updates/reboot-windows.ts evaluates it.
 */

export interface MaintenanceWindow {
  /** 0 = Monday … 6 = Sunday. */
  day: number;
  /** Minutes after midnight. */
  start: number;
  /** Minutes, at least 1. */
  length: number;
}

const DAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
export const DAY_ABBREVIATIONS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
/** A week, in minutes: windows are at most this long. */
export const WEEK_MINUTES = 7 * 24 * 60;

function parseDay(word: string): number | undefined {
  const w = word.toLowerCase();
  const i = DAY_NAMES.findIndex((d) => d === w || d.slice(0, 3) === w);
  return i < 0 ? undefined : i;
}

/** The windows of a MaintenanceWindows value, or the reason it is not one. An empty value has none. */
export function parseMaintenanceWindows(text: string): { windows: MaintenanceWindow[] } | { error: string } {
  const windows: MaintenanceWindow[] = [];
  for (const entry of text.split(';').map((e) => e.trim()).filter(Boolean)) {
    const m = /^(\S+)\s+(\d{1,2}):(\d{2})\s+(\d{1,5})$/.exec(entry);
    if (!m) return { error: `'${entry}' is not DAYS HH:MM MINUTES (e.g. Sat,Sun 23:30 60)` };
    const days = m[1]!.split(',').filter(Boolean).map((d) => [d, parseDay(d)] as const);
    const bad = days.find(([, i]) => i === undefined);
    if (bad || !days.length) return { error: `'${bad?.[0] ?? m[1]}' in '${entry}' is not a day of the week (Mon … Sun, or the full name)` };
    const hours = Number(m[2]);
    const minutes = Number(m[3]);
    if (hours > 23 || minutes > 59) return { error: `${m[2]}:${m[3]} in '${entry}' is not a time of day (00:00 to 23:59)` };
    const length = Number(m[4]);
    if (length < 1 || length > WEEK_MINUTES) return { error: `the length ${m[4]} in '${entry}' is not from 1 to ${WEEK_MINUTES} minutes` };
    for (const [, day] of days) windows.push({ day: day!, start: hours * 60 + minutes, length });
  }
  return { windows };
}

/** A window as it is written, for messages: "Sat 23:30 for 60 min". */
export function describeWindow(w: MaintenanceWindow): string {
  const hh = String(Math.floor(w.start / 60)).padStart(2, '0');
  const mm = String(w.start % 60).padStart(2, '0');
  return `${DAY_ABBREVIATIONS[w.day]} ${hh}:${mm} for ${w.length} min`;
}

/** Is the name a time zone this Node knows (IANA names, as Intl has them), or `localtime`? */
export function isKnownTimeZone(name: string): boolean {
  if (name === 'localtime') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** A FleetLock group, as Zincati validates it (and the protocol specifies it): ^[a-zA-Z0-9.-]+$. */
export const FLEET_LOCK_GROUP_PATTERN = /^[a-zA-Z0-9.-]+$/;
