/**
 * Who may call what, as rpm-ostree decides it: a caller with uid 0 may do everything; others
 * only what polkit allows (when polkit is on the bus), else nothing that changes state.
 */
import dbus from 'dbus-next';
import type { Message as Msg, MessageBus as Bus } from 'dbus-next';

const { Message, Variant } = dbus;

const DBUS = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };
const POLKIT = { destination: 'org.freedesktop.PolicyKit1', path: '/org/freedesktop/PolicyKit1/Authority', interface: 'org.freedesktop.PolicyKit1.Authority' };
/** CheckAuthorization flag AllowUserInteraction: polkit may ask the user (rpm-ostree allows it). */
const ALLOW_USER_INTERACTION = 1;
/** How long polkit may take, an authentication dialog included. */
const POLKIT_TIMEOUT_MS = 120_000;
const BUS_TIMEOUT_MS = 10_000;

export type Decision = { allowed: true } | { allowed: false; reason: string };

/** Call a method with a deadline: dbus-next's own calls never time out. */
async function callWithTimeout(bus: Bus, msg: Msg, ms: number, what: string): Promise<Msg> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return (await Promise.race([
      bus.call(msg),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${Math.round(ms / 1000)} s`)), ms);
        timer.unref();
      }),
    ])) as Msg;
  } finally {
    clearTimeout(timer);
  }
}

/** The uid of the process behind a bus name (org.freedesktop.DBus.GetConnectionUnixUser). */
async function callerUid(bus: Bus, sender: string): Promise<number> {
  const reply = await callWithTimeout(bus, new Message({ ...DBUS, member: 'GetConnectionUnixUser', signature: 's', body: [sender] }), BUS_TIMEOUT_MS, 'the bus');
  return Number(reply.body[0]);
}

async function polkitPresent(bus: Bus): Promise<boolean> {
  const reply = await callWithTimeout(bus, new Message({ ...DBUS, member: 'NameHasOwner', signature: 's', body: [POLKIT.destination] }), BUS_TIMEOUT_MS, 'the bus');
  return reply.body[0] === true;
}

/**
 * May `sender` do `action`? 'anyone': yes. 'root': only uid 0. A polkit action id: uid 0, or
 * whoever polkit authorizes for that action; without polkit on the bus, uid 0 only.
 */
export async function authorize(bus: Bus, sender: string, action: string, method: string): Promise<Decision> {
  if (action === 'anyone') return { allowed: true };
  const uid = await callerUid(bus, sender);
  if (uid === 0) return { allowed: true };
  const denied: Decision = { allowed: false, reason: `apt-ostree: ${method} is not allowed for uid ${uid}` };
  if (action === 'root') return { ...denied, reason: `${denied.reason}; only root may call it` };
  if (!(await polkitPresent(bus))) return { ...denied, reason: `${denied.reason} (only root may call it when polkit is not running)` };
  const subject = ['system-bus-name', { name: new Variant('s', sender) }];
  const reply = await callWithTimeout(
    bus,
    new Message({ ...POLKIT, member: 'CheckAuthorization', signature: '(sa{sv})sa{ss}us', body: [subject, action, {}, ALLOW_USER_INTERACTION, ''] }),
    POLKIT_TIMEOUT_MS,
    'polkit',
  );
  const [isAuthorized] = reply.body[0] as [boolean, boolean, Record<string, string>];
  return isAuthorized ? { allowed: true } : { ...denied, reason: `${denied.reason} (polkit action ${action})` };
}
