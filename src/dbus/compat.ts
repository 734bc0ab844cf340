/** --dbus-compat: built in a later change; until then it says so once and the command carries on. */
import type { CommandContext } from '../cli/context.js';

export async function startDbusCompat(ctx: CommandContext): Promise<{ close(): Promise<void> }> {
  ctx.reporter.warn('--dbus-compat is not available in this build; continuing without the DBus interface');
  return { close: async () => {} };
}
