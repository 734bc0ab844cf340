/**
 * docs/rpm-ostree-compat.md, rendered from rpm-ostree's command line as specs/rpm-ostree.ts
 * records it and from apt-ostree's own specs, so that the table cannot drift from either
 * (test/unit/cli/rpm-ostree-compat.test.ts compares the file with this rendering).
 */
import { flattenCommands, GLOBAL_OPTIONS, type CommandSpec, type OptionSpec } from './spec.js';
import { RPM_OSTREE_COMMANDS, RPM_OSTREE_GLOBAL, type RpmOstreeOption } from './specs/rpm-ostree.js';

/** The option of apt-ostree that takes rpm-ostree's name (its own name or an alias), on a command or globally. */
export function aptOstreeOption(spec: CommandSpec | undefined, name: string): OptionSpec | undefined {
  const all: readonly OptionSpec[] = [...(spec?.options ?? []), ...GLOBAL_OPTIONS, VERSION];
  return all.find((o) => o.name === name || o.alias?.includes(name));
}

/** --version, which main.ts answers on every command line (through yargs), outside the specs. */
const VERSION: OptionSpec = { name: 'version', type: 'boolean', describe: 'Print the version' };

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function optionRow(spec: CommandSpec | undefined, o: RpmOstreeOption): string {
  const form = `\`--${o.name}\`${o.short ? ` (\`-${o.short}\`)` : ''}`;
  if (o.refused) return `| ${form} | refused: ${cell(o.refused)} |`;
  const ours = aptOstreeOption(spec, o.name);
  const alias = ours && ours.name !== o.name ? ` (apt-ostree's \`--${ours.name}\`)` : '';
  return `| ${form} | ${o.differs ? `differs: ${cell(o.differs)}` : `same${alias}`} |`;
}

/** The status --json keys rpm-ostree clients read, and what apt-ostree puts there. */
const JSON_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['deployments[].id, osname, serial, checksum, base-checksum, version, timestamp, origin, booted, staged, pinned, unlocked', 'same'],
  ['deployments[].finalization-locked', 'same: true on a staged deployment held back by --lock-finalization'],
  ['deployments[].requested-packages, packages, requested-local-packages', 'Debian equivalent: apt package requests and names'],
  ['deployments[].requested-base-removals, base-removals, requested-base-local-replacements, base-local-replacements', 'Debian equivalent: base packages removed or replaced by `override`'],
  ['deployments[].regenerate-initramfs, initramfs-args, kargs, base-commit-meta, layered-commit-meta, override-commit', 'same'],
  ['transaction', 'same shape: [title, initiator, object path] while a command holds the sysroot lock'],
  ['cached-update', 'same keys; the package diff is of Debian packages'],
  ['update-driver', 'same: {driver-name, driver-sd-unit} of `deploy --register-driver`'],
];

/** DBus members that differ from rpm-ostree's (docs/dbus.md has the detail). */
const DBUS_MEMBERS: ReadonlyArray<readonly [string, string]> = [
  ['org.freedesktop.DBus.ObjectManager on /org/projectatomic/aptostree1', 'same: GetManagedObjects, InterfacesAdded, InterfacesRemoved'],
  ['Sysroot and OS properties, GetOS, Reload, ReloadConfig, RegisterClient, UnregisterClient', 'same'],
  ['GetDeploymentsRpmDiff, GetCachedUpdateRpmDiff, GetCachedRebaseRpmDiff, GetPackages', 'Debian equivalent: (name, Debian version, architecture) for (name, evr, arch)'],
  ['Methods that start a transaction (Deploy, Upgrade, PkgChange, …)', 'refused: without a daemon, nothing is started over DBus; they answer the busy error'],
  ['FinalizeDeployment', 'refused: run `apt-ostree finalize-deployment`'],
  ['CachedUpdate: rpm-diff, advisories', 'Debian equivalent: rpm-diff is the base\'s Debian package changes from the booted deployment to the update; advisories is always empty (apt lists carry no advisories)'],
  ['ListRepos', 'Debian equivalent: one entry per apt source (deb822 stanza or sources.list line) of the default deployment, id FILE:N as apt names it'],
  ['WhatProvides', 'Debian equivalent: the packages of the apt lists with that name or listing it in Provides, newest per architecture'],
  ['ModifyYumRepo, Search', 'refused: not exported; edit /etc/apt/sources.list.d of the deployment, or run `apt-ostree search`'],
];

export function renderCompatDoc(): string {
  const specs = new Map(flattenCommands().map((c) => [c.path, c.spec]));
  const out: string[] = [
    '# apt-ostree and rpm-ostree',
    '',
    '<!-- Generated from src/cli/specs/rpm-ostree.ts and the command specs by src/cli/compat-doc.ts (`npm run build`); do not edit. -->',
    '',
    'What each command, option, `status --json` key and DBus member of rpm-ostree is in apt-ostree:',
    '**same**, a **Debian equivalent**, **differs** (how), or **refused** (why). apt-ostree answers a',
    'refused option or command with that reason, and exit status 1.',
    '',
    '## Options every command takes',
    '',
    '| rpm-ostree | apt-ostree |',
    '| --- | --- |',
    ...RPM_OSTREE_GLOBAL.map((o) => optionRow(undefined, o)),
    '',
    '## Commands',
  ];
  for (const c of RPM_OSTREE_COMMANDS) {
    out.push('', `### \`rpm-ostree ${c.path}\``, '');
    if (c.refused) {
      out.push(`Refused: ${c.refused}.`);
      continue;
    }
    const spec = specs.get(c.path);
    out.push(c.differs ? `Differs: ${c.differs}.` : `Same command: \`apt-ostree ${c.path}\`.`);
    if (c.options?.length) out.push('', '| rpm-ostree | apt-ostree |', '| --- | --- |', ...c.options.map((o) => optionRow(spec, o)));
  }
  out.push('', '## `status --json`', '', '| rpm-ostree key | apt-ostree |', '| --- | --- |', ...JSON_KEYS.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`));
  out.push('', '## DBus (`--dbus-compat`, as org.projectatomic.aptostree1)', '', '| rpm-ostree | apt-ostree |', '| --- | --- |', ...DBUS_MEMBERS.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`));
  return out.join('\n') + '\n';
}
