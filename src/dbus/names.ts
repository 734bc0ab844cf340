/**
 * Names on the bus for --dbus-compat, and the rules rpm-ostree uses to form them. Pure: no
 * DBus library here, so unit tests and docs can use it.
 */

export const BUS_NAME = 'org.projectatomic.aptostree1';
/** Where org.freedesktop.DBus.ObjectManager lists the objects below (the Sysroot, the OS objects, a Transaction). */
export const BASE_PATH = '/org/projectatomic/aptostree1';
export const OBJECT_MANAGER_IFACE = 'org.freedesktop.DBus.ObjectManager';
export const SYSROOT_PATH = `${BASE_PATH}/Sysroot`;
/** Transactions get `${TRANSACTION_PATH}/N`, N counting from 1 within one command. */
export const TRANSACTION_PATH = `${BASE_PATH}/Transaction`;

export const SYSROOT_IFACE = `${BUS_NAME}.Sysroot`;
export const OS_IFACE = `${BUS_NAME}.OS`;
export const TRANSACTION_IFACE = `${BUS_NAME}.Transaction`;

/** The polkit action ids of polkit/org.projectatomic.aptostree1.policy. */
export const POLKIT_PREFIX = 'org.projectatomic.aptostree.';

/**
 * DBus error names. GLib sends a GIOError it has no mapping for as
 * `org.gtk.GDBus.UnmappedGError.Quark._g_2dio_2derror_2dquark.CodeN`; rpm-ostree's busy and
 * not-found errors are G_IO_ERROR_BUSY (26) and G_IO_ERROR_NOT_FOUND (1), so GLib clients
 * turn ours back into the same GError codes.
 */
export const ERRORS = {
  busy: 'org.gtk.GDBus.UnmappedGError.Quark._g_2dio_2derror_2dquark.Code26',
  notFound: 'org.gtk.GDBus.UnmappedGError.Quark._g_2dio_2derror_2dquark.Code1',
  accessDenied: 'org.freedesktop.DBus.Error.AccessDenied',
  failed: 'org.freedesktop.DBus.Error.Failed',
  invalidArgs: 'org.freedesktop.DBus.Error.InvalidArgs',
  unknownMethod: 'org.freedesktop.DBus.Error.UnknownMethod',
} as const;

/** A DBus error to answer a call with: one of ERRORS and the message. */
export class CallError extends Error {
  constructor(readonly errorName: string, message: string) {
    super(message);
  }
}

/**
 * rpm-ostree's object path segment for a name (its generate_object_path): bytes of
 * [A-Za-z0-9_] stay, '/' and '-' become '_', every other byte becomes _XX (upper-case hex).
 */
export function escapeObjectPathSegment(name: string): string {
  if (!name) throw new Error('cannot make an object path segment of an empty name');
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9_]/.test(c)) out += c;
    else if (c === '/' || c === '-') out += '_';
    else out += `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function osObjectPath(osname: string): string {
  return `${BASE_PATH}/${escapeObjectPathSegment(osname)}`;
}

/**
 * The rpm-ostree method a command corresponds to, for the first member of ActiveTransaction
 * (rpm-ostree puts the method name of the call that started the transaction there).
 */
export function methodForCommand(command: string): string {
  const name = command.trim().split(/\s+/)[0] ?? '';
  const map: Record<string, string> = {
    install: 'PkgChange',
    uninstall: 'PkgChange',
    upgrade: 'Upgrade',
    update: 'Upgrade',
    deploy: 'Deploy',
    rebase: 'Rebase',
    rollback: 'Rollback',
    kargs: 'KernelArgs',
    initramfs: 'SetInitramfsState',
    cleanup: 'Cleanup',
    'refresh-md': 'RefreshMd',
    override: 'UpdateDeployment',
    reset: 'UpdateDeployment',
  };
  return map[name] ?? name;
}
