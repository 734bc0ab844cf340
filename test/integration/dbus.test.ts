/**
 * --dbus-compat against a private dbus-daemon that enforces the stock system bus policy plus
 * the shipped dbus/org.projectatomic.aptostree1.conf. The CLI runs real transactions on a
 * layering bed; everything is observed from separate real clients: busctl and dbus-monitor.
 */
import { execa } from 'execa';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateBus, BUS_NAME, type PrivateBus } from '../fixtures/dbus.js';
import { BIN, cli, fsckClean, PROJECT_ROOT, sh } from '../fixtures/env.js';
import { makeLayeringBed, type LayeringBed } from '../fixtures/layering.js';
import { MINBASE_REF, minbaseSysroot } from '../fixtures/minbase.js';
import { pkglistGVariant } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const BASE_PATH = '/org/projectatomic/aptostree1';
const SYSROOT_PATH = '/org/projectatomic/aptostree1/Sysroot';
const OS_PATH = '/org/projectatomic/aptostree1/debian';
const SYSROOT_IFACE = `${BUS_NAME}.Sysroot`;
const OS_IFACE = `${BUS_NAME}.OS`;
const TX_IFACE = `${BUS_NAME}.Transaction`;
const TX_SIGNALS = `type='signal',interface='${TX_IFACE}'`;
const NOBODY = 65534;

interface Signal {
  member: string;
  path: string;
  args: string[];
}

/** dbus-monitor's text as a list of signals with their argument lines. */
function parseSignals(text: string): Signal[] {
  const out: Signal[] = [];
  for (const line of text.split('\n')) {
    const head = /^signal .* path=([^;]+); interface=([^;]+); member=(\S+)/.exec(line);
    if (head) out.push({ path: head[1]!, member: head[3]!, args: [] });
    else if (out.length && /^\s+\S/.test(line)) out.at(-1)!.args.push(line.trim());
  }
  return out.filter((s) => s.path.startsWith('/org/projectatomic/'));
}

interface IntrospectedIface {
  properties: string[];
  methods: string[];
  signals: string[];
}

/**
 * The members of the interfaces in introspection XML, one normalized line each (names, types,
 * directions, access), ignoring comments and annotations; org.freedesktop.* interfaces are left out.
 */
function introspectedInterfaces(xml: string): Record<string, IntrospectedIface> {
  const attrs = (tag: string) => Object.fromEntries([...tag.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  const out: Record<string, IntrospectedIface> = {};
  const clean = xml.replace(/<!--[\s\S]*?-->/g, '');
  for (const m of clean.matchAll(/<interface\s+name="([^"]+)"\s*>([\s\S]*?)<\/interface>/g)) {
    if (m[1]!.startsWith('org.freedesktop.')) continue;
    const body = m[2]!;
    const iface: IntrospectedIface = { properties: [], methods: [], signals: [] };
    for (const p of body.matchAll(/<property\s[^>]*>/g)) {
      const a = attrs(p[0]);
      iface.properties.push(`${a.name} ${a.type} ${a.access}`);
    }
    for (const kind of ['method', 'signal'] as const) {
      const re = new RegExp(`<${kind}\\s+name="([^"]+)"\\s*(/>|>([\\s\\S]*?)</${kind}>)`, 'g');
      for (const mm of body.matchAll(re)) {
        const args = [...(mm[3] ?? '').matchAll(/<arg\s[^>]*>/g)].map((x) => {
          const a = attrs(x[0]);
          return `${a.name ?? '?'}:${a.type}${kind === 'method' ? `:${a.direction ?? 'in'}` : ''}`;
        });
        iface[kind === 'method' ? 'methods' : 'signals'].push(`${mm[1]}(${args.join(', ')})`);
      }
    }
    for (const k of ['properties', 'methods', 'signals'] as const) iface[k].sort();
    out[m[1]!] = iface;
  }
  return out;
}

/** busctl --json=short output's data. */
function jsonData(stdout: string): unknown {
  return (JSON.parse(stdout) as { data: unknown }).data;
}

/** An a{sv} from busctl's JSON as a plain object. */
function plainDict(d: Record<string, { type: string; data: unknown }>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.data]));
}

describe('--dbus-compat', () => {
  let tmp: string;
  let bed: LayeringBed;
  let bus: PrivateBus;

  beforeAll(async () => {
    tmp = makeTemp('dbus-');
    bus = await startPrivateBus();
    // A remote repository of its own (TMP/srv-repo), where the last test publishes an update.
    bed = await makeLayeringBed(tmp, { sysroot: (dir) => minbaseSysroot(dir, { privateRepo: true }) });
  });
  afterAll(async () => {
    await bed?.close();
    await bus?.close();
    await removeTemp(tmp);
  });

  const run = (args: string[], env: Record<string, string> = bus.env) => bed.run(args, { env });
  const statusJson = async () => JSON.parse((await run(['status', '--json'])).stdout) as { deployments: { id: string; checksum: string; serial: number }[] };
  const snapshot = async () => ({
    ids: (await statusJson()).deployments.map((d) => d.id),
    origin: readFileSync(`${await bed.defaultDeployment()}.origin`, 'utf8'),
  });
  const getProperty = async (path: string, iface: string, name: string) => {
    const r = await bus.busctl(['--json=short', 'get-property', BUS_NAME, path, iface, name]);
    expect(r.code, r.stderr).toBe(0);
    return jsonData(r.stdout);
  };
  /** The CLI in the background, as a user would start it. */
  const spawn = (args: string[]) => execa(process.execPath, [BIN, '--sysroot', bed.sysroot, ...args], { reject: false, env: bus.env, stdin: 'ignore' });

  it('loads dbus-next only with --dbus-compat', async () => {
    const hook = join(tmp, 'report-dbus-next.cjs');
    writeFileSync(hook, "process.on('exit', () => { if (Object.keys(require.cache).some((k) => k.includes('/node_modules/dbus-next/'))) process.stderr.write('dbus-next was loaded\\n'); });\n");
    const env = { ...bus.env, NODE_OPTIONS: `--require ${hook}` };
    const plain = await run(['status'], env);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).not.toMatch(/dbus-next was loaded/);
    const withFlag = await run(['status', '--dbus-compat'], env);
    expect(withFlag.code, withFlag.stderr).toBe(0);
    expect(withFlag.stderr).toMatch(/dbus-next was loaded/);
    expect(withFlag.stderr).not.toMatch(/warning/);
  });

  it('install: the progress stream as Transaction signals, Finished(true), and the name goes away', async () => {
    const mon = await bus.monitor(TX_SIGNALS);
    const props = await bus.monitor(`type='signal',interface='org.freedesktop.DBus.Properties',path='${SYSROOT_PATH}'`);
    const r = await run(['install', '--dbus-compat', 'hello-ao']);
    expect(r.code, r.stderr).toBe(0);
    await mon.waitFor(/member=Finished/);
    expect(await bus.hasOwner()).toBe(false);
    const signals = parseSignals(mon.text());
    expect(signals.every((s) => s.path === '/org/projectatomic/aptostree1/Transaction/1')).toBe(true);
    const begun = signals.filter((s) => s.member === 'TaskBegin').map((s) => s.args[0]);
    // The same tasks the plain log printed, in the same order.
    const logged = [...r.stderr.matchAll(/^\d\d:\d\d:\d\d (.*)\.\.\.$/gm)].map((m) => `string "${m[1]}"`);
    expect(begun).toEqual(logged);
    expect(begun).toContain('string "Resolving packages"');
    expect(signals.filter((s) => s.member === 'TaskEnd').map((s) => s.args[0])).toContain('string "done"');
    const percents = signals.filter((s) => s.member === 'PercentProgress');
    expect(percents.map((s) => s.args[0])).toContain('string "Unpacking"');
    expect(percents.at(-1)!.args[1]).toBe('uint32 100');
    expect(signals.some((s) => s.member === 'ProgressEnd')).toBe(true);
    const finished = signals.filter((s) => s.member === 'Finished');
    expect(finished).toHaveLength(1);
    expect(finished[0]!.args).toEqual(['boolean true', 'string ""']);
    expect(signals.at(-1)!.member).toBe('Finished');
    // The new deployment was announced.
    await props.waitFor(/string "Deployments"/);
    await mon.stop();
    await props.stop();
  });

  it('ObjectManager: InterfacesAdded and InterfacesRemoved announce the objects while the service lives', async () => {
    // What Cockpit's ostree page follows after GetManagedObjects (cockpit.dbus(…).watch(PATH)).
    const mon = await bus.monitor("type='signal',interface='org.freedesktop.DBus.ObjectManager'");
    const tx = await bus.monitor(TX_SIGNALS);
    const r = await run(['refresh-md', '--dbus-compat']);
    expect(r.code, r.stderr).toBe(0);
    await mon.waitFor(/member=InterfacesRemoved\n\s+object path "\/org\/projectatomic\/aptostree1\/Sysroot"/);
    expect(await bus.hasOwner()).toBe(false);
    const signals = parseSignals(mon.text());
    expect(signals.every((s) => s.path === BASE_PATH)).toBe(true);
    const txPath = `${BASE_PATH}/Transaction/1`;
    // The objects as the command exports them (start), the Transaction while Transaction.run
    // is inside its body, and everything taken away when the command lets the name go.
    expect(signals.map((s) => `${s.member} ${/^object path "(.*)"$/.exec(s.args[0] ?? '')?.[1]}`)).toEqual([
      `InterfacesAdded ${OS_PATH}`,
      `InterfacesAdded ${SYSROOT_PATH}`,
      `InterfacesAdded ${txPath}`,
      `InterfacesRemoved ${txPath}`,
      `InterfacesRemoved ${OS_PATH}`,
      `InterfacesRemoved ${SYSROOT_PATH}`,
    ]);
    // InterfacesAdded carries the interface with its properties; InterfacesRemoved names it.
    const [osAdded, , txAdded, txRemoved] = signals;
    expect(osAdded!.args).toEqual(expect.arrayContaining([`string "${OS_IFACE}"`, 'string "Name"', 'variant                   string "debian"', 'string "DefaultDeployment"']));
    expect(txAdded!.args).toEqual(expect.arrayContaining([`string "${TX_IFACE}"`, 'string "Title"', 'variant                   string "refresh-md"', 'string "InitiatingClientDescription"']));
    expect(txRemoved!.args).toEqual([`object path "${txPath}"`, 'array [', `string "${TX_IFACE}"`, ']']);
    // The Transaction came and went around its own signals.
    await tx.waitFor(/member=Finished/);
    expect(parseSignals(tx.text()).every((s) => s.path === txPath)).toBe(true);
    await mon.stop();
    await tx.stop();
  });

  it('while a transaction runs: introspection, state, busy, authorization, Cancel undoes it', async () => {
    const before = await snapshot();
    const beforeStatus = await statusJson();
    expect(beforeStatus.deployments).toHaveLength(2);
    const mon = await bus.monitor(TX_SIGNALS);
    // busctl shows well-known errors by their errno text only: read the replies' own text here.
    const errors = await bus.monitor("type='error'");
    const child = spawn(['install', '--dbus-compat', 'sleep-ao']);
    try {
      // sleep-ao's postinst sleeps 60 s after dpkg said "Setting up": the transaction is mid-way.
      await mon.waitFor(/member=PercentProgress\n\s+string "Configuring"/);

      // What the program exports is what dbus/org.projectatomic.aptostree1.xml says.
      const shipped = introspectedInterfaces(readFileSync(join(PROJECT_ROOT, 'dbus', `${BUS_NAME}.xml`), 'utf8'));
      expect(Object.keys(shipped).sort()).toEqual([OS_IFACE, SYSROOT_IFACE, TX_IFACE]);
      const txPath = (await getProperty(SYSROOT_PATH, SYSROOT_IFACE, 'ActiveTransactionPath')) as string;
      expect(txPath).toBe('/org/projectatomic/aptostree1/Transaction/1');
      const tree = await bus.busctl(['tree', '--list', BUS_NAME]);
      expect(tree.stdout.split('\n').filter(Boolean).sort()).toEqual(
        ['/', '/org', '/org/projectatomic', '/org/projectatomic/aptostree1', SYSROOT_PATH, '/org/projectatomic/aptostree1/Transaction', txPath, OS_PATH].sort(),
      );
      for (const [path, iface] of [[SYSROOT_PATH, SYSROOT_IFACE], [OS_PATH, OS_IFACE], [txPath, TX_IFACE]] as const) {
        const r = await bus.busctl(['introspect', '--xml-interface', BUS_NAME, path]);
        expect(r.code, r.stderr).toBe(0);
        expect(introspectedInterfaces(r.stdout)).toEqual({ [iface]: shipped[iface] });
      }

      // Deployments as `status --json` has them, with rpm-ostree's types.
      const deployments = (await getProperty(SYSROOT_PATH, SYSROOT_IFACE, 'Deployments')) as Record<string, { type: string; data: unknown }>[];
      expect(deployments.map((d) => d.id!.data)).toEqual(beforeStatus.deployments.map((d) => d.id));
      expect(deployments[0]!.serial!.type).toBe('i');
      expect(deployments[0]!.timestamp!.type).toBe('t');
      expect(deployments[0]!.booted).toEqual({ type: 'b', data: false });
      expect(deployments[0]!['requested-packages']).toEqual({ type: 'as', data: ['hello-ao'] });
      expect(deployments[0]!['base-commit-meta']!.type).toBe('a{sv}');
      expect((deployments[0]!['base-commit-meta']!.data as Record<string, { data: unknown }>).version!.data).toBe('12.0');
      const [method, sender, osPath] = (await getProperty(SYSROOT_PATH, SYSROOT_IFACE, 'ActiveTransaction')) as string[];
      expect(method).toBe('PkgChange');
      expect(sender).toMatch(/^:1\.\d+$/);
      expect(osPath).toBe(OS_PATH);
      expect(await getProperty(txPath, TX_IFACE, 'Title')).toBe('install sleep-ao');
      expect(await getProperty(txPath, TX_IFACE, 'InitiatingClientDescription')).toMatch(/^apt-ostree .*install --dbus-compat sleep-ao \(pid \d+, uid 0, bus name :1\.\d+\)$/);
      expect(await getProperty(SYSROOT_PATH, SYSROOT_IFACE, 'Path')).toBe(bed.sysroot);
      expect(await getProperty(SYSROOT_PATH, SYSROOT_IFACE, 'AutomaticUpdatePolicy')).toBe('none');
      expect(plainDict((await getProperty(OS_PATH, OS_IFACE, 'DefaultDeployment')) as never).id).toBe(beforeStatus.deployments[0]!.id);
      expect(plainDict((await getProperty(OS_PATH, OS_IFACE, 'RollbackDeployment')) as never).id).toBe(beforeStatus.deployments[1]!.id);
      expect(await getProperty(OS_PATH, OS_IFACE, 'BootedDeployment')).toEqual({});
      expect(await getProperty(OS_PATH, OS_IFACE, 'Name')).toBe('debian');

      // Read-only methods.
      const getOs = await bus.busctl(['call', BUS_NAME, SYSROOT_PATH, SYSROOT_IFACE, 'GetOS', 's', 'debian']);
      expect(getOs.stdout.trim()).toBe(`o "${OS_PATH}"`);
      const noOs = await bus.busctl(['call', BUS_NAME, SYSROOT_PATH, SYSROOT_IFACE, 'GetOS', 's', 'fedora']);
      expect(noOs.code).not.toBe(0);
      expect(noOs.stderr).toMatch(/OS name "fedora" not found/);
      const [oldId, newId] = [beforeStatus.deployments[1]!.id, beforeStatus.deployments[0]!.id];
      const diff = await bus.busctl(['--json=short', 'call', BUS_NAME, OS_PATH, OS_IFACE, 'GetDeploymentsRpmDiff', 'ss', oldId, newId]);
      expect(diff.code, diff.stderr).toBe(0);
      const rows = (jsonData(diff.stdout) as unknown[][])[0] as [string, number, Record<string, { data: string[] }>][];
      expect(rows.map(([name, kind]) => [name, kind])).toEqual([['dep-ao', 0], ['hello-ao', 0]]);
      expect(rows[1]![2].NewPackage!.data).toEqual(['hello-ao', '1.0', 'all']);
      const pkgs = await bus.busctl(['--json=short', 'call', BUS_NAME, OS_PATH, OS_IFACE, 'GetPackages', 'as', '2', 'hello-ao', 'no-such-package']);
      expect(pkgs.code, pkgs.stderr).toBe(0);
      const found = (jsonData(pkgs.stdout) as Record<string, { data: unknown }>[][])[0]!.map((p) => plainDict(p as never));
      expect(found).toEqual([{ key: 'hello-ao', name: 'hello-ao', epoch: 0, version: '1.0', arch: 'all', evr: '1.0', nevra: 'hello-ao_1.0_all' }]);
      // Cockpit's ostree page (cockpit-ostree src/client.js) finds the OS objects with the
      // ObjectManager of the service's root path (cockpit.dbus(…).watch(PATH) asks GetManagedObjects).
      const managed = await bus.busctl(['--json=short', 'call', BUS_NAME, '/org/projectatomic/aptostree1', 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects']);
      expect(managed.code, managed.stderr).toBe(0);
      const objects = (jsonData(managed.stdout) as Record<string, Record<string, Record<string, { data: unknown }>>>[])[0]!;
      expect(Object.keys(objects)).toEqual(expect.arrayContaining([SYSROOT_PATH, OS_PATH, txPath]));
      const osProps = objects[OS_PATH]![OS_IFACE]!;
      expect(Object.keys(osProps)).toEqual(expect.arrayContaining(['BootedDeployment', 'DefaultDeployment', 'RollbackDeployment', 'Name']));
      expect(plainDict(osProps.DefaultDeployment!.data as never).id).toBe(beforeStatus.deployments[0]!.id);
      expect(plainDict(osProps.RollbackDeployment!.data as never).id).toBe(beforeStatus.deployments[1]!.id);
      expect(osProps.BootedDeployment!.data).toEqual({});
      expect(objects[SYSROOT_PATH]![SYSROOT_IFACE]!.Path!.data).toBe(bed.sysroot);
      // Cockpit's rebase preview: GetCachedRebaseRpmDiff of the deployment's own ref gives the
      // layered packages as removed (the plain base has not got them).
      const refspec = (beforeStatus.deployments[0] as unknown as { origin: string }).origin;
      expect(refspec).not.toBe('');
      const rebase = await bus.busctl(['--json=short', 'call', BUS_NAME, OS_PATH, OS_IFACE, 'GetCachedRebaseRpmDiff', 'sas', refspec, '0']);
      expect(rebase.code, rebase.stderr).toBe(0);
      const [rebaseRows, rebaseDetails] = jsonData(rebase.stdout) as [[string, number][], Record<string, { data: unknown }>];
      expect(rebaseRows.map(([name, kind]) => [name, kind])).toEqual([['dep-ao', 1], ['hello-ao', 1]]);
      expect(plainDict(rebaseDetails as never).origin).toBe(refspec);
      const noRef = await bus.busctl(['call', BUS_NAME, OS_PATH, OS_IFACE, 'GetCachedRebaseRpmDiff', 'sas', 'nowhere:no/such/ref', '0']);
      expect(noRef.code).not.toBe(0);
      expect(noRef.stderr).toMatch(/not in the repository/);
      const boot = await bus.busctl(['--json=short', 'call', BUS_NAME, OS_PATH, OS_IFACE, 'GetDeploymentBootConfig', 'sb', '', 'true']);
      expect(boot.code, boot.stderr).toBe(0);
      const bootconfig = plainDict((jsonData(boot.stdout) as never[])[0]!);
      expect(bootconfig.staged).toBe(false);
      expect(bootconfig.options).toMatch(/ostree=\/ostree\/boot\.\d\/debian\//);

      // Another client asking for a change gets rpm-ostree's busy error; polkit is not on this
      // bus, so only root gets that far.
      const busy = await bus.busctl(['call', BUS_NAME, OS_PATH, OS_IFACE, 'PkgChange', 'a{sv}asas', '0', '1', 'conf-ao', '0']);
      expect(busy.code).not.toBe(0);
      expect(busy.stderr).toMatch(/Transaction in progress: install sleep-ao/);
      const upgrade = await bus.busctl(['call', BUS_NAME, OS_PATH, OS_IFACE, 'Upgrade', 'a{sv}', '0']);
      expect(upgrade.stderr).toMatch(/Transaction in progress/);
      const userPkgChange = await bus.busctl(['call', BUS_NAME, OS_PATH, OS_IFACE, 'PkgChange', 'a{sv}asas', '0', '1', 'conf-ao', '0'], { uid: NOBODY });
      expect(userPkgChange.code).not.toBe(0);
      expect(userPkgChange.stderr).toMatch(/Access denied/);
      await errors.waitFor(/error_name=org\.freedesktop\.DBus\.Error\.AccessDenied.*\n\s+string "apt-ostree: org\.projectatomic\.aptostree1\.OS\.PkgChange is not allowed for uid 65534 \(only root may call it when polkit is not running\)"/);
      // An unprivileged client may read (the shipped bus policy lets it) but not cancel.
      const userRead = await bus.busctl(['get-property', BUS_NAME, txPath, TX_IFACE, 'Title'], { uid: NOBODY });
      expect(userRead.stdout.trim()).toBe('s "install sleep-ao"');
      const userCancel = await bus.busctl(['call', BUS_NAME, txPath, TX_IFACE, 'Cancel'], { uid: NOBODY });
      expect(userCancel.code).not.toBe(0);
      expect(userCancel.stderr).toMatch(/Access denied/);
      await errors.waitFor(/string "apt-ostree: org\.projectatomic\.aptostree1\.Transaction\.Cancel is not allowed for uid 65534; only root may call it"/);
      const userSet = await bus.busctl(['set-property', BUS_NAME, SYSROOT_PATH, SYSROOT_IFACE, 'Path', 's', '/x'], { uid: NOBODY });
      expect(userSet.code).not.toBe(0);
      expect(userSet.stderr).toMatch(/Access denied|AccessDenied/i);

      // Root cancels: the command undoes the transaction and exits 130.
      const cancel = await bus.busctl(['call', BUS_NAME, txPath, TX_IFACE, 'Cancel']);
      expect(cancel.code, cancel.stderr).toBe(0);
      const res = await child;
      expect(res.exitCode, String(res.stderr)).toBe(130);
      expect(String(res.stderr)).toMatch(/cancel requested over DBus/);
      await mon.waitFor(/member=Finished\n\s+boolean false\n\s+string "[^"]*cancelled/);
      expect(await bus.hasOwner()).toBe(false);
      expect(await snapshot()).toEqual(before);
      await fsckClean(bed.repo);
    } finally {
      // A failed expectation must not leave the command holding the sysroot for the next tests.
      if (child.exitCode === null) child.kill('SIGTERM');
      await child;
      await mon.stop();
      await errors.stop();
    }
  });

  it('a failing install: Finished(false) carries the error, the name goes away', async () => {
    const before = await snapshot();
    const mon = await bus.monitor(TX_SIGNALS);
    const r = await run(['install', '--dbus-compat', 'fail-ao']);
    expect(r.code).toBe(1);
    await mon.waitFor(/member=Finished/);
    const finished = parseSignals(mon.text()).filter((s) => s.member === 'Finished');
    expect(finished).toHaveLength(1);
    expect(finished[0]!.args[0]).toBe('boolean false');
    expect(finished[0]!.args[1]).toMatch(/maintainer script failed/);
    expect(parseSignals(mon.text()).filter((s) => s.member === 'TaskEnd').map((s) => s.args[0])).toContain('string "failed"');
    expect(await bus.hasOwner()).toBe(false);
    expect(await snapshot()).toEqual(before);
    await mon.stop();
  });

  it('upgrade --dbus-compat', async () => {
    await bed.apt.add([{ name: 'dep-ao', version: '2.1', files: { '/usr/share/dep-ao/data': 'data 2.1\n' } }]);
    const mon = await bus.monitor(TX_SIGNALS);
    const r = await run(['upgrade', '--dbus-compat']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dep-ao 2\.0 -> 2\.1/);
    await mon.waitFor(/member=Finished/);
    const signals = parseSignals(mon.text());
    expect(signals.filter((s) => s.member === 'TaskBegin').length).toBeGreaterThan(2);
    expect(signals.find((s) => s.member === 'Finished')!.args).toEqual(['boolean true', 'string ""']);
    expect(await bus.hasOwner()).toBe(false);
    await mon.stop();
  });

  it('SIGTERM during the transaction: exit 143, nothing changed, the name goes away', async () => {
    const before = await snapshot();
    const mon = await bus.monitor(TX_SIGNALS);
    const child = spawn(['install', '--dbus-compat', 'sleep-ao']);
    await mon.waitFor(/member=PercentProgress\n\s+string "Configuring"/);
    expect(await bus.hasOwner()).toBe(true);
    child.kill('SIGTERM');
    const res = await child;
    expect(res.exitCode).toBe(143);
    await mon.waitFor(/member=Finished\n\s+boolean false\n\s+string "[^"]*terminated/);
    expect(await bus.hasOwner()).toBe(false);
    expect(await snapshot()).toEqual(before);
    await fsckClean(bed.repo);
    await mon.stop();
  });

  it('no bus reachable: one warning, and the command does its work', async () => {
    const r = await run(['install', '--dbus-compat', 'conf-ao'], { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(tmp, 'no-such-socket')}` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/--dbus-compat/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/warning: --dbus-compat: no system bus reachable at unix:path=.*no-such-socket.*continuing without the DBus interface/);
    const d = (await statusJson()).deployments[0] as unknown as { 'requested-packages': string[] };
    expect(d['requested-packages']).toContain('conf-ao');
  });

  it('a bus that never answers: the command does not hang', async () => {
    const socket = join(tmp, 'silent.sock');
    const server: Server = createServer(() => {
      /* accept and say nothing */
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      const t0 = Date.now();
      const r = await run(['status', '--dbus-compat'], { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` });
      expect(r.code, r.stderr).toBe(0);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(r.stderr.match(/--dbus-compat/g)).toHaveLength(1);
      expect(r.stderr).toMatch(/did not answer within 5 s/);
      expect(r.stdout).toMatch(/Deployments:/);
    } finally {
      server.close();
    }
  });

  it('the shipped bus policy lets only root own the name', async () => {
    const r = await cli(['--sysroot', bed.sysroot, 'status', '--dbus-compat'], { env: bus.env, uid: NOBODY });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/--dbus-compat: the system bus does not let this process own org\.projectatomic\.aptostree1/);
    expect(await bus.hasOwner()).toBe(false);
  });

  // GNOME Software's rpm-ostree plugin (plugins/rpm-ostree/gs-plugin-rpm-ostree.c): its sources
  // dialog calls ListRepos and reads 'id', 'description', 'is-enabled', skipping 'is-devel' and
  // 'is-source' ones (list_apps_sources_sync); "what provides" searches call WhatProvides and
  // read 'name' and 'nevra' (list_apps_provides_sync); the updates page reads CachedUpdate's
  // 'rpm-diff' (upgraded/downgraded a(us(ss)(ss)), removed/added a(usss), all four required)
  // and 'advisories' a(suuasa{sv}) (list_apps_for_update_sync). Last: it publishes a new base.
  it('GNOME Software: ListRepos, WhatProvides, and the cached update\'s rpm-diff and advisories', async () => {
    // Packages providing a virtual name; of mta-one-ao only the newest version is an answer.
    await bed.apt.add([
      { name: 'mta-one-ao', version: '1.0', provides: 'mail-transport-agent-ao' },
      { name: 'mta-one-ao', version: '1.1', provides: 'mail-transport-agent-ao', description: 'first test MTA' },
      { name: 'mta-two-ao', version: '2:0.5-1', provides: 'mail-transport-agent-ao (= 1.0), other-ao' },
    ]);
    // Sources beside the test repository, disabled (apt must not reach the network).
    const deployment = await bed.defaultDeployment();
    const etcApt = join(deployment, 'etc', 'apt');
    writeFileSync(join(etcApt, 'sources.list'), `${bed.apt.sourcesLine()}\n# deb-src http://deb.debian.org/debian bookworm main\n`);
    mkdirSync(join(etcApt, 'sources.list.d'), { recursive: true });
    writeFileSync(
      join(etcApt, 'sources.list.d', 'debian.sources'),
      [
        'Types: deb deb-src',
        'URIs: http://deb.debian.org/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main',
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
        'Enabled: no',
        '',
        'Types: deb',
        'URIs: http://deb.debian.org/debian-debug',
        'Suites: bookworm-debug',
        'Components: main',
        'Enabled: no',
        '',
      ].join('\n'),
    );

    // A new base on the remote, its package list changed: one package removed, one upgraded,
    // one downgraded, one added; `upgrade --check` records it (fetching the commit only).
    const srv = join(tmp, 'srv-repo');
    const base = (await sh('ostree', [`--repo=${srv}`, 'rev-parse', MINBASE_REF])).trim();
    const listText = await sh('ostree', [`--repo=${srv}`, 'show', '--print-metadata-key=aptostree.dpkg.pkglist', base]);
    const list = [...listText.matchAll(/\('([^']*)', '([^']*)', '([^']*)'\)/g)].map((m) => [m[1]!, m[2]!, m[3]!] as [string, string, string]);
    expect(list.length).toBeGreaterThan(50);
    const [gone, up, down] = [list[0]!, list[1]!, list[2]!];
    const next: [string, string, string][] = [
      [up[0], `${up[1]}+ao1`, up[2]],
      [down[0], `${down[1]}~ao0`, down[2]],
      ...list.slice(3),
      ['zz-new-ao', '1.0', 'all'],
    ];
    const update = (
      await sh('ostree', [`--repo=${srv}`, 'commit', `--branch=${MINBASE_REF}`, `--parent=${base}`, `--tree=ref=${base}`, '--add-metadata-string=version=12.1', `--add-metadata=aptostree.dpkg.pkglist=${pkglistGVariant(next)}`, '--no-bindings'])
    ).trim();
    const check = await run(['upgrade', '--check']);
    expect(check.code, check.stderr).toBe(0);
    expect((await statusJson() as unknown as { 'cached-update': { checksum: string } })['cached-update'].checksum).toBe(update);

    const mon = await bus.monitor(TX_SIGNALS);
    const child = spawn(['install', '--dbus-compat', 'sleep-ao']);
    try {
      await mon.waitFor(/member=PercentProgress\n\s+string "Configuring"/);
      const call = async (method: string, ...args: string[]) => {
        const r = await bus.busctl(['--json=short', 'call', BUS_NAME, OS_PATH, OS_IFACE, method, ...args], { uid: NOBODY });
        expect(r.code, r.stderr).toBe(0);
        return (jsonData(r.stdout) as unknown[])[0];
      };

      // ListRepos, open to anyone as in rpm-ostree: one entry per sources.list line and deb822 stanza.
      const repos = ((await call('ListRepos')) as Record<string, { type: string; data: unknown }>[]).map((d) => plainDict(d));
      expect(repos).toEqual([
        {
          id: '/etc/apt/sources.list:1', description: `deb ${bed.apt.url} ./`, 'is-enabled': true, 'is-source': false, 'is-devel': false,
          file: '/etc/apt/sources.list', types: ['deb'], uris: [bed.apt.url], suites: ['./'], components: [],
        },
        {
          id: '/etc/apt/sources.list:2', description: 'deb-src http://deb.debian.org/debian bookworm main', 'is-enabled': false, 'is-source': true, 'is-devel': false,
          file: '/etc/apt/sources.list', types: ['deb-src'], uris: ['http://deb.debian.org/debian'], suites: ['bookworm'], components: ['main'],
        },
        {
          id: '/etc/apt/sources.list.d/debian.sources:1', description: 'deb deb-src http://deb.debian.org/debian bookworm bookworm-updates main',
          'is-enabled': false, 'is-source': false, 'is-devel': false, file: '/etc/apt/sources.list.d/debian.sources', types: ['deb', 'deb-src'],
          uris: ['http://deb.debian.org/debian'], suites: ['bookworm', 'bookworm-updates'], components: ['main'], 'signed-by': '/usr/share/keyrings/debian-archive-keyring.gpg',
        },
        {
          id: '/etc/apt/sources.list.d/debian.sources:2', description: 'deb http://deb.debian.org/debian-debug bookworm-debug main', 'is-enabled': false, 'is-source': false, 'is-devel': true,
          file: '/etc/apt/sources.list.d/debian.sources', types: ['deb'], uris: ['http://deb.debian.org/debian-debug'], suites: ['bookworm-debug'], components: ['main'],
        },
      ]);

      // WhatProvides: by name or by Provides, the newest of each; rpm's provides match nothing.
      const provides = (await call('WhatProvides', 'as', '3', 'mail-transport-agent-ao', 'hello-ao', 'font(:lang=en)')) as Record<string, { type: string; data: unknown }>[];
      expect(provides.map((d) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.type])))).toEqual(
        Array(3).fill({ name: 's', epoch: 't', version: 's', arch: 's', evr: 's', nevra: 's', summary: 's', reponame: 's' }),
      );
      expect(provides.map((d) => plainDict(d))).toEqual([
        { name: 'hello-ao', epoch: 0, version: '1.0', arch: 'all', evr: '1.0', nevra: 'hello-ao_1.0_all', summary: 'test package hello-ao', reponame: '/etc/apt/sources.list:1' },
        { name: 'mta-one-ao', epoch: 0, version: '1.1', arch: 'all', evr: '1.1', nevra: 'mta-one-ao_1.1_all', summary: 'first test MTA', reponame: '/etc/apt/sources.list:1' },
        { name: 'mta-two-ao', epoch: 2, version: '0.5-1', arch: 'all', evr: '2:0.5-1', nevra: 'mta-two-ao_2:0.5-1_all', summary: 'test package mta-two-ao', reponame: '/etc/apt/sources.list:1' },
      ]);
      expect(await call('WhatProvides', 'as', '1', 'no-such-thing-ao')).toEqual([]);

      // The cached update: rpm-diff from the deployment's base to the update, advisories empty.
      const cached = (await getProperty(OS_PATH, OS_IFACE, 'CachedUpdate')) as Record<string, { type: string; data: unknown }>;
      expect(cached.checksum).toEqual({ type: 's', data: update });
      expect(cached.version).toEqual({ type: 's', data: '12.1' });
      expect(cached.advisories).toEqual({ type: 'a(suuasa{sv})', data: [] });
      expect(cached['rpm-diff']!.type).toBe('a{sv}');
      const diff = cached['rpm-diff']!.data as Record<string, { type: string; data: unknown }>;
      expect(diff).toEqual({
        upgraded: { type: 'a(us(ss)(ss))', data: [[0, up[0], [up[1], up[2]], [`${up[1]}+ao1`, up[2]]]] },
        downgraded: { type: 'a(us(ss)(ss))', data: [[0, down[0], [down[1], down[2]], [`${down[1]}~ao0`, down[2]]]] },
        removed: { type: 'a(usss)', data: [[0, ...gone]] },
        added: { type: 'a(usss)', data: [[0, 'zz-new-ao', '1.0', 'all']] },
      });
      expect(await getProperty(OS_PATH, OS_IFACE, 'HasCachedUpdateRpmDiff')).toBe(true);

      const cancel = await bus.busctl(['call', BUS_NAME, `${BASE_PATH}/Transaction/1`, TX_IFACE, 'Cancel']);
      expect(cancel.code, cancel.stderr).toBe(0);
      expect((await child).exitCode).toBe(130);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      await child;
      await mon.stop();
    }
  });
});
