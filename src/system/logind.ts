/** logind's sessions and wall: who would lose their work to a reboot, and telling them (updates/apply.ts). */
import { run } from './run.js';

export interface LoginSession {
  session: string;
  user: string;
  tty: string;
  seat: string;
}

/**
 * The sessions of people at a terminal or a seat (ssh, a console, a desktop), as Zincati counts
 * them: `loginctl list-sessions -o json`, those with a TTY or a seat. Services' sessions
 * (no TTY, no seat: cron, systemd --user lingering) do not hold a reboot back.
 */
export async function interactiveSessions(): Promise<LoginSession[]> {
  const r = await run('loginctl', ['list-sessions', '--no-pager', '-o', 'json'], { what: 'loginctl list-sessions' });
  const list = JSON.parse(r.stdout || '[]') as Partial<LoginSession>[];
  return list
    .map((s) => ({ session: String(s.session ?? ''), user: String(s.user ?? ''), tty: String(s.tty ?? ''), seat: String(s.seat ?? '') }))
    .filter((s) => s.tty !== '' || s.seat !== '');
}

/** `wall MESSAGE` to every terminal (the message is one argv entry, never parsed by a shell). */
export async function wall(message: string): Promise<void> {
  await run('wall', [message], { what: 'wall' });
}
