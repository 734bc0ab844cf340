/**
 * The members apt-ostree exports, as data: names, argument names and types copied from
 * rpm-ostree's org.projectatomic.rpmostree1 where the concept exists. The service registers
 * exactly these (and nothing else); dbus/org.projectatomic.aptostree1.xml documents them and a
 * test checks that a real DBus client sees the two agree.
 */
import { OS_IFACE, POLKIT_PREFIX, SYSROOT_IFACE, TRANSACTION_IFACE } from './names.js';

export type Arg = readonly [name: string, type: string];

export interface MethodDef {
  name: string;
  in: readonly Arg[];
  out: readonly Arg[];
  /**
   * Who may call it: 'anyone'; 'root' (uid 0 only); or a polkit action id (uid 0 always, others
   * when polkit on the bus says yes). A function picks the action from the arguments.
   */
  auth: 'anyone' | 'root' | string | ((body: unknown[]) => string);
  /** Methods that would start a transaction: they answer "busy" while apt-ostree runs. */
  startsTransaction?: boolean;
}

export interface PropertyDef {
  name: string;
  type: string;
}

export interface SignalDef {
  name: string;
  args: readonly Arg[];
}

export interface InterfaceDef {
  name: string;
  properties: readonly PropertyDef[];
  methods: readonly MethodDef[];
  signals: readonly SignalDef[];
}

const action = (id: string) => `${POLKIT_PREFIX}${id}`;
const TX_OUT: readonly Arg[] = [['transaction_address', 's']];
const OPTIONS: Arg = ['options', 'a{sv}'];
const RPM_DIFF: Arg = ['result', 'a(sua{sv})'];

export const SYSROOT_INTERFACE: InterfaceDef = {
  name: SYSROOT_IFACE,
  properties: [
    { name: 'Booted', type: 'o' },
    { name: 'Path', type: 's' },
    { name: 'ActiveTransaction', type: '(sss)' },
    { name: 'ActiveTransactionPath', type: 's' },
    { name: 'AutomaticUpdatePolicy', type: 's' },
    { name: 'Deployments', type: 'aa{sv}' },
  ],
  methods: [
    { name: 'RegisterClient', in: [OPTIONS], out: [], auth: 'anyone' },
    { name: 'UnregisterClient', in: [OPTIONS], out: [], auth: 'anyone' },
    { name: 'Reload', in: [], out: [], auth: 'anyone' },
    { name: 'ReloadConfig', in: [], out: [], auth: action('reload-daemon') },
    { name: 'GetOS', in: [['name', 's']], out: [['object_path', 'o']], auth: 'anyone' },
  ],
  signals: [],
};

/** The polkit action of UpdateDeployment, from its modifiers (as rpm-ostree decides it). */
function updateDeploymentAction(body: unknown[]): string {
  const modifiers = (body[0] ?? {}) as Record<string, unknown>;
  const options = (body[1] ?? {}) as Record<string, { value?: unknown } | undefined>;
  const has = (k: string) => modifiers[k] !== undefined;
  if (has('set-refspec')) return action('rebase');
  if (has('set-revision')) return action('deploy');
  if (has('install-local-packages')) return action('install-local-packages');
  if (has('install-packages') || has('uninstall-packages') || options['no-layering']?.value === true) return action('install-uninstall-packages');
  if (has('override-remove-packages') || has('override-replace-packages') || has('override-reset-packages') || has('override-replace-local-packages') || options['no-overrides']?.value === true) {
    return action('override');
  }
  if (options['no-pull-base']?.value !== true) return action('upgrade');
  return action('override');
}

export const OS_INTERFACE: InterfaceDef = {
  name: OS_IFACE,
  properties: [
    { name: 'BootedDeployment', type: 'a{sv}' },
    { name: 'DefaultDeployment', type: 'a{sv}' },
    { name: 'RollbackDeployment', type: 'a{sv}' },
    { name: 'CachedUpdate', type: 'a{sv}' },
    { name: 'HasCachedUpdateRpmDiff', type: 'b' },
    { name: 'Name', type: 's' },
  ],
  methods: [
    // Read-only queries.
    { name: 'GetDeploymentsRpmDiff', in: [['deployid0', 's'], ['deployid1', 's']], out: [RPM_DIFF], auth: 'anyone' },
    { name: 'GetCachedUpdateRpmDiff', in: [['deployid', 's']], out: [RPM_DIFF, ['details', 'a{sv}']], auth: 'anyone' },
    { name: 'GetCachedRebaseRpmDiff', in: [['refspec', 's'], ['packages', 'as']], out: [RPM_DIFF, ['details', 'a{sv}']], auth: 'anyone' },
    { name: 'GetDeploymentBootConfig', in: [['deployid', 's'], ['is_pending', 'b']], out: [['bootconfig', 'a{sv}']], auth: 'anyone' },
    { name: 'GetPackages', in: [['names', 'as']], out: [['packages', 'aa{sv}']], auth: 'anyone' },
    // Answered from apt: the default deployment's sources and the stateroot's package lists.
    { name: 'ListRepos', in: [], out: [['repos', 'aa{sv}']], auth: 'anyone' },
    { name: 'WhatProvides', in: [['provides', 'as']], out: [['packages', 'aa{sv}']], auth: 'anyone' },
    // Methods that start a transaction in rpm-ostree: busy while apt-ostree holds the sysroot.
    { name: 'AutomaticUpdateTrigger', in: [OPTIONS], out: [['enabled', 'b'], ['transaction_address', 's']], auth: action('upgrade'), startsTransaction: true },
    { name: 'Deploy', in: [['revision', 's'], OPTIONS], out: TX_OUT, auth: action('deploy'), startsTransaction: true },
    { name: 'DownloadDeployRpmDiff', in: [['revision', 's'], ['packages', 'as']], out: TX_OUT, auth: action('deploy'), startsTransaction: true },
    { name: 'Upgrade', in: [OPTIONS], out: TX_OUT, auth: action('upgrade'), startsTransaction: true },
    { name: 'DownloadUpdateRpmDiff', in: [], out: TX_OUT, auth: action('upgrade'), startsTransaction: true },
    { name: 'Rollback', in: [OPTIONS], out: TX_OUT, auth: action('rollback'), startsTransaction: true },
    { name: 'ClearRollbackTarget', in: [OPTIONS], out: TX_OUT, auth: action('rollback'), startsTransaction: true },
    { name: 'Rebase', in: [OPTIONS, ['refspec', 's'], ['packages', 'as']], out: TX_OUT, auth: action('rebase'), startsTransaction: true },
    { name: 'DownloadRebaseRpmDiff', in: [['refspec', 's'], ['packages', 'as']], out: TX_OUT, auth: action('rebase'), startsTransaction: true },
    { name: 'PkgChange', in: [OPTIONS, ['packages_added', 'as'], ['packages_removed', 'as']], out: TX_OUT, auth: action('install-uninstall-packages'), startsTransaction: true },
    { name: 'SetInitramfsState', in: [['regenerate', 'b'], ['args', 'as'], OPTIONS], out: TX_OUT, auth: action('bootconfig'), startsTransaction: true },
    {
      name: 'KernelArgs',
      in: [['existing_kernel_arg_string', 's'], ['kernel_args_added', 'as'], ['kernel_args_replaced', 'as'], ['kernel_args_removed', 'as'], OPTIONS],
      out: TX_OUT,
      auth: action('bootconfig'),
      startsTransaction: true,
    },
    { name: 'Cleanup', in: [['elements', 'as']], out: TX_OUT, auth: action('cleanup'), startsTransaction: true },
    { name: 'RefreshMd', in: [OPTIONS], out: TX_OUT, auth: action('upgrade'), startsTransaction: true },
    { name: 'UpdateDeployment', in: [['modifiers', 'a{sv}'], OPTIONS], out: TX_OUT, auth: updateDeploymentAction, startsTransaction: true },
  ],
  signals: [],
};

export const TRANSACTION_INTERFACE: InterfaceDef = {
  name: TRANSACTION_IFACE,
  properties: [
    { name: 'Title', type: 's' },
    { name: 'InitiatingClientDescription', type: 's' },
  ],
  methods: [
    { name: 'Cancel', in: [], out: [], auth: 'root' },
    { name: 'Start', in: [], out: [['started', 'b']], auth: 'anyone' },
  ],
  signals: [
    { name: 'Finished', args: [['success', 'b'], ['error_message', 's']] },
    { name: 'Message', args: [['text', 's']] },
    { name: 'TaskBegin', args: [['text', 's']] },
    { name: 'TaskEnd', args: [['text', 's']] },
    { name: 'PercentProgress', args: [['text', 's'], ['percentage', 'u']] },
    {
      name: 'DownloadProgress',
      args: [['time', '(tt)'], ['outstanding', '(uu)'], ['metadata', '(uuu)'], ['delta', '(uuut)'], ['content', '(uu)'], ['transfer', '(tt)']],
    },
    { name: 'ProgressEnd', args: [] },
  ],
};

export const INTERFACES: readonly InterfaceDef[] = [SYSROOT_INTERFACE, OS_INTERFACE, TRANSACTION_INTERFACE];

export function signatureOf(args: readonly Arg[]): string {
  return args.map(([, t]) => t).join('');
}
