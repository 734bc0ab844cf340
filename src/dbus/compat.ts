/**
 * --dbus-compat: while the command runs, own org.projectatomic.aptostree1 on the system bus and
 * export rpm-ostree's Sysroot/OS/Transaction interfaces (see docs/dbus.md). main.ts loads this
 * module only when the flag is given, and this module loads dbus-next only here, so the
 * normal start-up path never pays for it.
 *
 * DBus is an extra: when no bus is reachable, or it does not let us own the name, the command
 * says so once and carries on. Every wait on the bus has a deadline.
 */
import type { MessageBus } from 'dbus-next';
import type { Reporter } from '../output/reporter.js';
import { BUS_NAME } from './names.js';

const DEFAULT_SYSTEM_BUS_ADDRESS = 'unix:path=/var/run/dbus/system_bus_socket';
/** Connecting and saying Hello; asking for the name. Each step gets this long. */
const STEP_TIMEOUT_MS = 5_000;
/** Releasing the name at exit; the name goes with the connection anyway. */
const RELEASE_TIMEOUT_MS = 2_000;

const REQUEST_NAME_DO_NOT_QUEUE = 4;
const PRIMARY_OWNER = 1;
const ALREADY_OWNER = 4;

export interface DbusCompat {
  close(): Promise<void>;
}

/** The system bus address: $DBUS_SYSTEM_BUS_ADDRESS (private buses in tests), else the standard socket. */
export function systemBusAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DBUS_SYSTEM_BUS_ADDRESS?.trim() || DEFAULT_SYSTEM_BUS_ADDRESS;
}

/**
 * The address in the form dbus-next connects to: its own parser splits on ':' ',' '=' and
 * needs an optional native module for abstract sockets, which Node reaches directly
 * ("\0name" paths). Escaped bytes (%XX) are decoded.
 */
export function connectableAddress(address: string): string {
  return address
    .split(';')
    .filter(Boolean)
    .map((a) => {
      const m = /^unix:(.*)$/.exec(a);
      if (!m) return a;
      const params = Object.fromEntries(m[1]!.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      const decode = (v: string) => decodeURIComponent(v);
      if (params.abstract) return `unix:socket=\0${decode(params.abstract)}`;
      if (params.path) return `unix:socket=${decode(params.path)}`;
      return a;
    })
    .join(';');
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Drop the connection at once: end() alone waits for the peer, which may never answer. */
function hangUp(bus: MessageBus): void {
  try {
    bus.disconnect();
  } catch {
    /* already closed */
  }
  (bus as unknown as { _connection?: { stream?: { destroy?: () => void } } })._connection?.stream?.destroy?.();
}

/** What the interface needs of the running command (the CLI's CommandContext has it). */
export interface DbusCommandContext {
  command: string;
  sysroot: string;
  os?: string;
  verbose: boolean;
  reporter: Reporter;
}

export async function startDbusCompat(ctx: DbusCommandContext): Promise<DbusCompat> {
  const none: DbusCompat = { close: async () => {} };
  const address = systemBusAddress();
  let warned = false;
  const warnOnce = (text: string) => {
    if (warned) return;
    warned = true;
    ctx.reporter.warn(`--dbus-compat: ${text}; continuing without the DBus interface`);
  };

  const { default: dbus } = await import('dbus-next');
  let bus: MessageBus;
  try {
    bus = dbus.sessionBus({ busAddress: connectableAddress(address) });
  } catch (e) {
    warnOnce(`cannot use the system bus address ${address} (${(e as Error).message})`);
    return none;
  }
  // dbus-next emits 'error' for a refused or lost connection; unhandled, it would end the process.
  let onError: (err: unknown) => void = () => {};
  bus.on('error', (err: unknown) => onError(err));

  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        onError = reject;
        bus.on('connect', () => resolve());
      }),
      STEP_TIMEOUT_MS,
      `the system bus at ${address}`,
    );
    const reply = await withTimeout(bus.requestName(BUS_NAME, REQUEST_NAME_DO_NOT_QUEUE), STEP_TIMEOUT_MS, 'the system bus');
    if (reply !== PRIMARY_OWNER && reply !== ALREADY_OWNER) {
      throw new Error(`${BUS_NAME} is already owned by another process (another apt-ostree --dbus-compat or rpm-ostree-style daemon)`);
    }
  } catch (e) {
    hangUp(bus);
    const err = e as Error & { type?: string; text?: string };
    if (err.type === 'org.freedesktop.DBus.Error.AccessDenied') {
      warnOnce(`the system bus does not let this process own ${BUS_NAME} (only root may, with dbus/${BUS_NAME}.conf installed in /usr/share/dbus-1/system.d)`);
    } else {
      warnOnce(`no system bus reachable at ${address}: ${err.text ?? err.message ?? String(e)}`);
    }
    return none;
  }

  const { CompatService } = await import('./service.js');
  const { loadSysrootConfig } = await import('../engine/deployments/settings.js');
  const uniqueName = (bus as unknown as { name: string }).name;
  const service = new CompatService({
    bus,
    uniqueName,
    sysrootPath: ctx.sysroot,
    os: ctx.os,
    command: ctx.command,
    reporter: ctx.reporter,
    readPolicy: (sysroot, os) => loadSysrootConfig(sysroot, os).config.Daemon.AutomaticUpdatePolicy,
  });
  let lost = false;
  const loseBus = (err: unknown) => {
    if (lost) return;
    lost = true;
    service.markDead(err);
    service.stop();
    hangUp(bus);
    ctx.reporter.warn(`--dbus-compat: lost the connection to the system bus (${(err as Error)?.message ?? String(err)}); continuing without the DBus interface`);
  };
  onError = loseBus;
  try {
    service.start(loseBus);
  } catch (e) {
    service.stop();
    hangUp(bus);
    warnOnce(`cannot export the interface (${(e as Error).message})`);
    return none;
  }
  if (ctx.verbose) ctx.reporter.debug(`--dbus-compat: owning ${BUS_NAME} as ${uniqueName} on ${address}`);

  let closed = false;
  return {
    async close() {
      if (closed || lost) return;
      closed = true;
      service.stop();
      onError = () => {};
      try {
        await withTimeout(bus.releaseName(BUS_NAME), RELEASE_TIMEOUT_MS, 'the system bus');
      } catch {
        /* the name goes with the connection */
      }
      hangUp(bus);
    },
  };
}
