/**
 * The objects --dbus-compat exports while a command runs: the Sysroot, one OS per stateroot,
 * and a Transaction while Transaction.run is inside its body. Property values are computed
 * when the sysroot is (re)loaded — at start, on Reload, when a transaction starts and ends —
 * and changes are announced with PropertiesChanged, as rpm-ostree's daemon does.
 *
 * Method calls are dispatched here rather than by dbus-next, because authorization needs the
 * caller's bus name, which dbus-next does not hand to its method implementations. The OS
 * objects' query methods are answered by queries.ts, with the values of values.ts.
 */
import { resolve } from 'node:path';
import dbus from 'dbus-next';
import type { Message as Msg, MessageBus } from 'dbus-next';
import { AptOstreeError, EXIT_OK, EXIT_UNCHANGED } from '../errors.js';
import { diffPackages, pkglistFromMetadata, type PackageDiff } from '../engine/deployments/packages.js';
import { META } from '../layout/commit-metadata.js';
import { readLockOwner } from '../engine/transaction/lock-owner.js';
import { sysrootStatus, type SysrootStatus } from '../engine/status.js';
import { openSysroot, type Deployment, type Sysroot } from '../engine/deployments/sysroot.js';
import { transactionHooks, type Transaction } from '../engine/transaction/transaction.js';
import type { ProgressEvent, Reporter } from '../output/reporter.js';
import { authorize } from './auth.js';
import { BASE_PATH, CallError, ERRORS, methodForCommand, OBJECT_MANAGER_IFACE, osObjectPath, SYSROOT_PATH, TRANSACTION_PATH } from './names.js';
import { INTERFACES, OS_INTERFACE, signatureOf, SYSROOT_INTERFACE, TRANSACTION_INTERFACE, type InterfaceDef, type MethodDef } from './schema.js';
import { OsQueries } from './queries.js';
import { cachedUpdateRpmDiff } from './values.js';
import { deploymentDict, jsonDict, type VarDict } from './variant.js';

const { Message, Variant, DBusError } = dbus;
const NO_REPLY_EXPECTED = 1;

export interface ServiceOptions {
  bus: MessageBus;
  /** Our unique name on the bus (the sender of everything we start). */
  uniqueName: string;
  sysrootPath: string;
  os?: string;
  /** The command's name ("install"), for ActiveTransaction. */
  command: string;
  reporter: Reporter;
  /** The AutomaticUpdatePolicy in force; called on every reload (ReloadConfig re-reads the file). */
  readPolicy: (sysroot: Sysroot, os?: string) => string;
}

type Props = Record<string, unknown>;
type ExportedIface = InstanceType<typeof dbus.interface.Interface>;

interface Exported {
  path: string;
  def: InterfaceDef;
  iface: ExportedIface;
  props: Props;
  osname?: string;
}

interface ActiveTransaction {
  tx: Transaction;
  path: string;
  exported: Exported;
  osPath: string;
  removeSink: () => void;
  progressOpen: boolean;
  downloadStart?: number;
}

/** One class per interface: dbus-next reads properties from the instance and introspects the class. */
function interfaceClass(def: InterfaceDef) {
  class Exported extends dbus.interface.Interface {
    constructor(readonly values: () => Props) {
      super(def.name);
    }

    /** dbus-next's own introspection leaves out argument names; ours has them, as rpm-ostree's does. */
    $introspect() {
      const named = (args: readonly (readonly [string, string])[], direction?: string) =>
        args.map(([name, type]) => ({ $: { name, type, ...(direction ? { direction } : {}) } }));
      return {
        $: { name: def.name },
        ...(def.properties.length ? { property: def.properties.map((p) => ({ $: { name: p.name, type: p.type, access: 'read' } })) } : {}),
        ...(def.methods.length ? { method: def.methods.map((m) => ({ $: { name: m.name }, arg: [...named(m.in, 'in'), ...named(m.out, 'out')] })) } : {}),
        ...(def.signals.length ? { signal: def.signals.map((s) => ({ $: { name: s.name }, arg: named(s.args) })) } : {}),
      };
    }
  }
  const proto = Exported.prototype as unknown as Record<string, unknown>;
  for (const p of def.properties) {
    Object.defineProperty(proto, p.name, {
      get(this: Exported) {
        const v = this.values()[p.name];
        if (v === undefined) throw new DBusError(ERRORS.failed, `${p.name} is not available`);
        return v;
      },
    });
  }
  // Methods are answered by CompatService.onMethodCall before dbus-next would call these.
  for (const m of def.methods) proto[m.name] = () => {
    throw new DBusError(ERRORS.failed, `${m.name} is not implemented`);
  };
  for (const s of def.signals) proto[s.name] = (...args: unknown[]) => args;
  Exported.configureMembers({
    properties: Object.fromEntries(def.properties.map((p) => [p.name, { signature: p.type, access: 'read' as const }])),
    methods: Object.fromEntries(def.methods.map((m) => [m.name, { inSignature: signatureOf(m.in), outSignature: signatureOf(m.out) }])),
    signals: Object.fromEntries(def.signals.map((s) => [s.name, { signature: signatureOf(s.args) }])),
  });
  return Exported;
}

const CLASSES = new Map(INTERFACES.map((def) => [def.name, interfaceClass(def)]));

/** A stable text of a value (bigints and Variants included), to tell whether a property changed. */
function fingerprint(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
}

export class CompatService {
  private readonly bus: MessageBus;
  private readonly opts: ServiceOptions;
  private readonly objects = new Map<string, Exported>();
  private sysroot?: Sysroot;
  private status?: SysrootStatus;
  private policy = 'none';
  private active?: ActiveTransaction;
  private txCount = 0;
  /** The last base-to-base package diff of the cached update, by `FROM..TO` (reloads recompute the property). */
  private baseDiff?: { key: string; diff?: PackageDiff };
  /** Clients that said RegisterClient, by bus name (rpm-ostree keeps them to decide when to exit; we only list them). */
  readonly clients = new Map<string, string>();
  private readonly queries = new OsQueries(() => ({ sysrootPath: this.opts.sysrootPath, sysroot: this.sysroot, status: this.status }));
  private dead = false;
  private onDead?: (err: unknown) => void;

  constructor(opts: ServiceOptions) {
    this.bus = opts.bus;
    this.opts = opts;
  }

  start(onDead: (err: unknown) => void): void {
    this.onDead = onDead;
    this.reload(true);
    this.exportObject(SYSROOT_PATH, SYSROOT_INTERFACE);
    this.bus.addMethodHandler(this.onMethodCall);
    transactionHooks.onStart = (tx) => this.guard(() => this.transactionStarted(tx));
    transactionHooks.onEnd = (tx, error) => this.guard(() => this.transactionEnded(tx, error));
  }

  stop(): void {
    if (transactionHooks.onStart) transactionHooks.onStart = undefined;
    if (transactionHooks.onEnd) transactionHooks.onEnd = undefined;
    this.active?.removeSink();
    this.active = undefined;
    this.bus.removeMethodHandler(this.onMethodCall);
    for (const path of [...this.objects.keys()]) this.unexportObject(path);
  }

  /** The bus went away: stop talking to it; the command carries on. */
  markDead(err: unknown): void {
    if (this.dead) return;
    this.dead = true;
    this.onDead?.(err);
  }

  /** DBus trouble must never break the command. */
  private guard(fn: () => void): void {
    if (this.dead) return;
    try {
      fn();
    } catch (e) {
      this.markDead(e);
    }
  }

  // ---- state ----

  /** Load the sysroot again and announce what changed. `quiet`: the first load, nothing to announce. */
  reload(quiet = false): void {
    try {
      const sysroot = openSysroot(this.opts.sysrootPath);
      const status = sysrootStatus(sysroot);
      [this.sysroot, this.status] = [sysroot, status];
    } catch {
      // Not a sysroot (yet: provisioning), or caught half-written: keep what was known.
    }
    if (this.sysroot) {
      try {
        this.policy = this.opts.readPolicy(this.sysroot, this.opts.os);
      } catch {
        /* a broken config file: keep the last policy; the command itself reports the file */
      }
    }
    // One OS object per stateroot; stateroots appear (provisioning) and never go away mid-command.
    for (const osname of this.sysroot?.osnames() ?? []) {
      const path = osObjectPath(osname);
      if (!this.objects.has(path)) this.exportObject(path, OS_INTERFACE, osname);
    }
    for (const obj of this.objects.values()) {
      const next = this.computeProps(obj);
      const changed: VarDict = {};
      for (const p of obj.def.properties) {
        if (fingerprint(next[p.name]) !== fingerprint(obj.props[p.name]) && next[p.name] !== undefined) changed[p.name] = new Variant(p.type, next[p.name]);
      }
      obj.props = next;
      if (!quiet && Object.keys(changed).length) this.emit(obj.path, 'org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{sv}as', [obj.def.name, changed, []]);
    }
  }

  private computeProps(obj: Exported): Props {
    const sysroot = this.sysroot;
    const status = this.status;
    if (obj.def === SYSROOT_INTERFACE) {
      const booted = sysroot?.booted;
      return {
        Booted: booted ? osObjectPath(booted.osname) : '/',
        Path: sysroot?.path ?? resolve(this.opts.sysrootPath),
        ActiveTransaction: this.active ? [methodForCommand(this.opts.command), this.opts.uniqueName, this.active.osPath] : ['', '', ''],
        ActiveTransactionPath: this.active?.path ?? '',
        AutomaticUpdatePolicy: this.policy,
        Deployments: sysroot && status ? status.deployments.map((d) => deploymentDict(d as unknown as Record<string, unknown>, sysroot.repoPath)) : [],
      };
    }
    if (!sysroot || !status) return obj.props;
    const dictOf = (d: Deployment | undefined): VarDict => {
      if (!d) return {};
      const st = status.deployments[d.index];
      return st ? deploymentDict(st as unknown as Record<string, unknown>, sysroot.repoPath) : {};
    };
    if (obj.def === OS_INTERFACE) {
      const os = obj.osname!;
      const booted = sysroot.booted;
      const cached = status['cached-update'];
      return {
        BootedDeployment: dictOf(booted?.osname === os ? booted : undefined),
        DefaultDeployment: dictOf(sysroot.defaultDeployment(os)),
        RollbackDeployment: dictOf(sysroot.rollbackDeployment(os)),
        CachedUpdate: cached && (cached.osname === undefined || cached.osname === os) ? this.cachedUpdateDict(os, cached) : {},
        HasCachedUpdateRpmDiff: Boolean(this.queries.cachedUpdateChecksum(os)),
        Name: os,
      };
    }
    return obj.props; // the Transaction's are fixed when it starts
  }

  /**
   * The CachedUpdate property: the record of `upgrade --check` with rpm-ostree's types, and the
   * two values GNOME Software reads: 'rpm-diff', the package changes of the base from the
   * booted (else default) deployment to the update, and 'advisories', empty (Debian's apt lists
   * carry no advisories).
   */
  private cachedUpdateDict(os: string, cached: Record<string, unknown>): VarDict {
    const dict = jsonDict(cached, { timestamp: 't' });
    const diff = this.cachedUpdatePackageDiff(os, cached);
    if (diff) dict['rpm-diff'] = new Variant('a{sv}', cachedUpdateRpmDiff(diff));
    dict.advisories = new Variant('a(suuasa{sv})', []);
    return dict;
  }

  /**
   * The base's package changes from the booted (else default) deployment of `os` to the cached
   * update: the diff `upgrade --check` recorded when it was found from the same base, else the
   * package lists of the two commits' metadata (the update is fetched without its files).
   */
  private cachedUpdatePackageDiff(os: string, cached: Record<string, unknown>): PackageDiff | undefined {
    const sysroot = this.sysroot;
    const to = this.queries.cachedUpdateChecksum(os);
    if (!sysroot || !to) return undefined;
    const from = sysroot.booted?.osname === os ? sysroot.booted : sysroot.defaultDeployment(os);
    if (!from) return undefined;
    const fromBase = sysroot.baseChecksum(from);
    const recorded = cached['package-diff'] as Partial<PackageDiff> | undefined;
    if (cached['base-checksum'] === fromBase && recorded && (['added', 'removed', 'upgraded', 'downgraded'] as const).every((k) => Array.isArray(recorded[k]))) {
      return recorded as PackageDiff;
    }
    const key = `${fromBase}..${to}`;
    if (this.baseDiff?.key !== key) {
      const list = (checksum: string) => pkglistFromMetadata(sysroot.commit(checksum)?.metadata[META.pkglist]);
      const [a, b] = [list(fromBase), list(to)];
      this.baseDiff = { key, diff: a && b ? diffPackages(a, b) : undefined };
    }
    return this.baseDiff.diff;
  }

  private exportObject(path: string, def: InterfaceDef, osname?: string, props: Props = {}): Exported {
    const Cls = CLASSES.get(def.name)!;
    const obj: Exported = { path, def, osname, props, iface: undefined as unknown as ExportedIface };
    obj.iface = new Cls(() => obj.props);
    if (def !== TRANSACTION_INTERFACE) obj.props = this.computeProps(obj);
    this.bus.export(path, obj.iface);
    this.objects.set(path, obj);
    this.emit(BASE_PATH, OBJECT_MANAGER_IFACE, 'InterfacesAdded', 'oa{sa{sv}}', [path, { [def.name]: this.propVariants(obj) }]);
    return obj;
  }

  /** An object's properties as GetManagedObjects and InterfacesAdded give them (those that have a value). */
  private propVariants(obj: Exported): VarDict {
    const out: VarDict = {};
    for (const p of obj.def.properties) if (obj.props[p.name] !== undefined) out[p.name] = new Variant(p.type, obj.props[p.name]);
    return out;
  }

  /** org.freedesktop.DBus.ObjectManager.GetManagedObjects on BASE_PATH: every object with its interface and properties. */
  private managedObjects(): Record<string, Record<string, VarDict>> {
    return Object.fromEntries([...this.objects.values()].map((o) => [o.path, { [o.def.name]: this.propVariants(o) }]));
  }

  private unexportObject(path: string): void {
    const obj = this.objects.get(path);
    if (!obj) return;
    this.objects.delete(path);
    try {
      this.bus.unexport(path, obj.iface);
    } catch {
      /* already gone */
    }
    this.emit(BASE_PATH, OBJECT_MANAGER_IFACE, 'InterfacesRemoved', 'oas', [path, [obj.def.name]]);
  }

  // ---- signals ----

  private emit(path: string, iface: string, member: string, signature: string, body: unknown[]): void {
    if (this.dead) return;
    try {
      this.bus.send(Message.newSignal(path, iface, member, signature, body));
    } catch (e) {
      this.markDead(e);
    }
  }

  private txSignal(member: string, body: unknown[] = []): void {
    const a = this.active;
    if (!a) return;
    const def = TRANSACTION_INTERFACE.signals.find((s) => s.name === member)!;
    this.emit(a.path, TRANSACTION_INTERFACE.name, member, signatureOf(def.args), body);
  }

  private endProgress(): void {
    if (this.active?.progressOpen) {
      this.active.progressOpen = false;
      this.active.downloadStart = undefined;
      this.txSignal('ProgressEnd');
    }
  }

  /** The reporter's events as the Transaction's signals: the same stream ora and the log see. */
  private onProgress = (e: ProgressEvent): void => {
    const a = this.active;
    if (!a || this.dead) return;
    switch (e.type) {
      case 'task-begin':
        this.endProgress();
        this.txSignal('TaskBegin', [e.text]);
        break;
      case 'task-end':
        this.endProgress();
        // rpm-ostree's clients print TaskBegin's text, then TaskEnd's ("done") on the same line.
        this.txSignal('TaskEnd', [e.ok ? 'done' : 'failed']);
        break;
      case 'percent':
        a.progressOpen = true;
        this.txSignal('PercentProgress', [e.text, e.percent]);
        break;
      case 'download': {
        a.progressOpen = true;
        const now = Math.floor(Date.now() / 1000);
        a.downloadStart ??= now;
        const elapsed = Math.max(now - a.downloadStart, 0);
        this.txSignal('DownloadProgress', [
          [a.downloadStart, elapsed],
          [0, 0],
          [0, 0, 0],
          [0, 0, 0, 0],
          [e.objects ?? 0, e.totalObjects ?? 0],
          [e.bytes, elapsed > 0 ? Math.floor(e.bytes / elapsed) : 0],
        ]);
        break;
      }
      case 'message':
        if (e.level === 'debug') break; // tool output line by line: the console shows it with -v only
        this.txSignal('Message', [e.level === 'warn' ? `warning: ${e.text}` : e.text]);
        break;
      case 'progress-end':
        this.endProgress();
        break;
    }
  };

  // ---- transactions ----

  private transactionStarted(tx: Transaction): void {
    if (this.active) return; // nested transactions do not happen; keep the outer one
    this.txCount++;
    const path = `${TRANSACTION_PATH}/${this.txCount}`;
    const exported = this.exportObject(path, TRANSACTION_INTERFACE, undefined, {
      Title: tx.title,
      InitiatingClientDescription: `apt-ostree ${process.argv.slice(2).join(' ')} (pid ${process.pid}, uid ${process.getuid?.() ?? 0}, bus name ${this.opts.uniqueName})`,
    });
    let osname: string | undefined;
    try {
      osname = this.sysroot?.resolveOs(this.opts.os);
    } catch {
      osname = undefined;
    }
    this.active = {
      tx,
      path,
      exported,
      osPath: osname ? osObjectPath(osname) : SYSROOT_PATH,
      removeSink: tx.reporter.addSink(this.onProgress),
      progressOpen: false,
    };
    this.reload();
  }

  private transactionEnded(tx: Transaction, error?: unknown): void {
    const a = this.active;
    if (!a || a.tx !== tx) return;
    this.endProgress();
    const unchanged = error instanceof AptOstreeError && (error.exitCode === EXIT_OK || error.exitCode === EXIT_UNCHANGED);
    if (unchanged) this.txSignal('Message', [(error as Error).message]);
    const success = !error || unchanged;
    this.txSignal('Finished', [success, success ? '' : errorText(error)]);
    a.removeSink();
    this.active = undefined;
    this.unexportObject(a.path);
    try {
      this.reload();
    } catch {
      /* the sysroot is unreadable after a failure: keep the last state */
    }
  }

  // ---- method calls ----

  private findMethod(msg: Msg): { obj: Exported; method: MethodDef } | undefined {
    const obj = this.objects.get(msg.path);
    if (!obj) return undefined;
    if (msg.interface && msg.interface !== obj.def.name) return undefined;
    const method = obj.def.methods.find((m) => m.name === msg.member);
    return method ? { obj, method } : undefined;
  }

  /** dbus-next's method handler hook: true when the call is ours (answered later, asynchronously). */
  private onMethodCall = (msg: Msg): boolean => {
    if (msg.path === BASE_PATH && msg.member === 'GetManagedObjects' && (!msg.interface || msg.interface === OBJECT_MANAGER_IFACE)) {
      this.guard(() => {
        if (!((msg.flags ?? 0) & NO_REPLY_EXPECTED)) this.bus.send(Message.newMethodReturn(msg, 'a{oa{sa{sv}}}', [this.managedObjects()]));
      });
      return true;
    }
    const found = this.findMethod(msg);
    if (!found) return false;
    void this.dispatch(msg, found.obj, found.method);
    return true;
  };

  private async dispatch(msg: Msg, obj: Exported, method: MethodDef): Promise<void> {
    let reply: Msg;
    try {
      const expected = signatureOf(method.in);
      if ((msg.signature ?? '') !== expected) {
        throw new CallError(ERRORS.invalidArgs, `${method.name} takes arguments of type '${expected}', not '${msg.signature ?? ''}'`);
      }
      const body = msg.body ?? [];
      const action = typeof method.auth === 'function' ? method.auth(body) : method.auth;
      const decision = await authorize(this.bus, msg.sender, action, `${obj.def.name}.${method.name}`);
      if (!decision.allowed) throw new CallError(ERRORS.accessDenied, decision.reason);
      const out = await this.call(obj, method, body, msg.sender);
      reply = Message.newMethodReturn(msg, signatureOf(method.out), out);
    } catch (e) {
      const [name, text] = e instanceof CallError ? [e.errorName, e.message] : [ERRORS.failed, errorText(e)];
      reply = Message.newError(msg as unknown as string, name, text);
    }
    if ((msg.flags ?? 0) & NO_REPLY_EXPECTED) return;
    if (this.dead) return;
    try {
      this.bus.send(reply);
    } catch (e) {
      this.markDead(e);
    }
  }

  private async call(obj: Exported, method: MethodDef, body: unknown[], sender: string): Promise<unknown[]> {
    if (method.startsTransaction) throw this.busyError();
    switch (`${obj.def.name === SYSROOT_INTERFACE.name ? 'Sysroot' : obj.def.name === OS_INTERFACE.name ? 'OS' : 'Transaction'}.${method.name}`) {
      case 'Sysroot.RegisterClient': {
        const opts = (body[0] ?? {}) as Record<string, { value?: unknown }>;
        this.clients.set(sender, typeof opts.id?.value === 'string' ? opts.id.value : '');
        return [];
      }
      case 'Sysroot.UnregisterClient':
        this.clients.delete(sender);
        return [];
      case 'Sysroot.Reload':
      case 'Sysroot.ReloadConfig':
        this.reload();
        return [];
      case 'Sysroot.GetOS': {
        const name = String(body[0] ?? '');
        if (!name) return [this.objects.get(SYSROOT_PATH)!.props.Booted];
        const path = osObjectPath(name);
        if (!this.objects.has(path) || this.objects.get(path)!.osname !== name) throw new CallError(ERRORS.notFound, `OS name "${name}" not found`);
        return [path];
      }
      case 'OS.GetDeploymentsRpmDiff':
        return [await this.queries.deploymentsDiff(String(body[0]), String(body[1]))];
      case 'OS.GetCachedUpdateRpmDiff':
        return this.queries.cachedUpdateDiff(obj.osname!, String(body[0] ?? ''));
      case 'OS.GetCachedRebaseRpmDiff':
        return this.queries.rebaseDiff(obj.osname!, String(body[0] ?? ''));
      case 'OS.GetDeploymentBootConfig':
        return [this.queries.bootConfig(obj.osname!, String(body[0] ?? ''), body[1] === true)];
      case 'OS.GetPackages':
        return [await this.queries.packages(obj.osname!, (body[0] ?? []) as string[])];
      case 'OS.ListRepos':
        return [this.queries.listRepos(obj.osname!)];
      case 'OS.WhatProvides':
        return [await this.queries.whatProvides(obj.osname!, (body[0] ?? []) as string[])];
      case 'Transaction.Cancel':
        return this.cancel(obj, sender);
      case 'Transaction.Start':
        return [false]; // it was started by the command itself
      default:
        throw new CallError(ERRORS.unknownMethod, `${method.name} is not implemented`);
    }
  }

  /** rpm-ostree's answer when a transaction holds the sysroot (G_IO_ERROR_BUSY). */
  private busyError(): CallError {
    if (this.active) {
      return new CallError(
        ERRORS.busy,
        `Transaction in progress: ${this.active.tx.title}\n You can cancel the current transaction with the Cancel method of ${this.active.path}, or stop apt-ostree (pid ${process.pid}).`,
      );
    }
    const owner = readLockOwner(this.opts.sysrootPath);
    if (owner) return new CallError(ERRORS.busy, `Transaction in progress: ${owner.command}\n The sysroot is locked by apt-ostree (pid ${owner.pid}).`);
    return new CallError(
      ERRORS.busy,
      `apt-ostree ${this.opts.command} is running and has the sysroot open; apt-ostree has no daemon to start transactions for other clients.\n Run the apt-ostree command itself once it has finished.`,
    );
  }

  private cancel(obj: Exported, sender: string): unknown[] {
    const a = this.active;
    if (!a || a.exported !== obj) throw new CallError(ERRORS.failed, 'The transaction has already finished.');
    if (a.tx.isCommitting) throw new CallError(ERRORS.failed, `${a.tx.title}: the new deployment is being written; it can no longer be cancelled.`);
    if (!a.tx.signal.aborted) {
      a.tx.reporter.warn(`cancel requested over DBus by ${sender}: stopping and undoing the transaction`);
      a.tx.cancel();
    }
    return [];
  }
}

function errorText(e: unknown): string {
  if (e instanceof AptOstreeError) return e.hint ? `${e.message} ${e.hint}` : e.message;
  return e instanceof Error ? e.message : String(e);
}

