/**
 * rpm-ostree's command line, as plain data: for every command apt-ostree shares with it, each
 * option rpm-ostree's own option tables accept (src/app/rpmostree-*.cxx, hidden ones included).
 * An option apt-ostree has is in its spec too (test/unit/cli/rpm-ostree-compat.test.ts checks
 * that each one here either is, or says why apt-ostree refuses it); the parser answers a refused
 * one with its reason instead of "unknown option"; docs/rpm-ostree-compat.md is rendered from
 * this file and the specs (cli/compat-doc.ts).
 */

export interface RpmOstreeOption {
  /** The long name, as rpm-ostree spells it. */
  readonly name: string;
  /** Its one-letter form in rpm-ostree, if any. */
  readonly short?: string;
  /** Why apt-ostree does not take it: a clause that follows "refused: ". Absent: apt-ostree has it. */
  readonly refused?: string;
  /** Where apt-ostree's option of the same name does something else than rpm-ostree's. */
  readonly differs?: string;
}

export interface RpmOstreeCommand {
  /** The command's full name ("override replace"). */
  readonly path: string;
  readonly options?: readonly RpmOstreeOption[];
  /** Why apt-ostree has no such command. Absent: apt-ostree has it. */
  readonly refused?: string;
  /** The Debian counterpart of a command apt-ostree has under the same name but another meaning. */
  readonly differs?: string;
}

const NO_DAEMON = 'apt-ostree runs in the calling process, without a daemon, so there is no daemon connection to choose';
const CONTAINER_ONLY = 'rpm-ostree takes it only in a container build; apt-ostree layers from the deployment\'s own apt sources (/etc/apt/sources.list.d)';
const PKG_WITH_MOVE = 'run `apt-ostree install` or `apt-ostree uninstall` as a command of its own; layered packages are carried over to the new base anyway';

/** Options every rpm-ostree command that talks to the daemon takes, and the global ones. */
export const RPM_OSTREE_GLOBAL: readonly RpmOstreeOption[] = [
  { name: 'sysroot' },
  { name: 'peer', refused: NO_DAEMON },
  { name: 'version' },
  { name: 'quiet', short: 'q' },
];

const OS = [{ name: 'os' }, { name: 'stateroot' }] as const satisfies readonly RpmOstreeOption[];
const LOCK = { name: 'lock-finalization' } as const satisfies RpmOstreeOption;
const REBOOT = { name: 'reboot', short: 'r' } as const satisfies RpmOstreeOption;
const PKG_ENTRIES = [
  { name: 'install', refused: PKG_WITH_MOVE },
  { name: 'uninstall', refused: PKG_WITH_MOVE },
] as const satisfies readonly RpmOstreeOption[];

/** install and uninstall: one option table in rpm-ostree (rpmostree-pkg-builtins.cxx). */
const PKG_SHARED = [
  ...OS,
  REBOOT,
  { name: 'dry-run', short: 'n' },
  { name: 'assumeyes', short: 'y' },
  { name: 'allow-inactive' },
  { name: 'idempotent' },
  { name: 'unchanged-exit-77' },
  LOCK,
  { name: 'enablerepo', refused: CONTAINER_ONLY },
  { name: 'disablerepo', refused: CONTAINER_ONLY },
  { name: 'releasever', refused: CONTAINER_ONLY },
] as const satisfies readonly RpmOstreeOption[];

export const RPM_OSTREE_COMMANDS: readonly RpmOstreeCommand[] = [
  {
    path: 'status',
    options: [
      { name: 'pretty', short: 'p', refused: 'apt-ostree prints one layout for people; --json is the one for programs' },
      { name: 'verbose', short: 'v' },
      { name: 'advisories', short: 'a', refused: 'Debian\'s apt lists carry no updateinfo advisories to show (see debsecan(1) for known vulnerabilities)' },
      { name: 'json' },
      { name: 'jsonpath', short: 'J' },
      { name: 'booted', short: 'b' },
      { name: 'pending-exit-77' },
    ],
  },
  {
    path: 'upgrade',
    options: [
      ...OS,
      REBOOT,
      { name: 'allow-downgrade' },
      { name: 'check-diff' },
      { name: 'preview' },
      { name: 'check' },
      { name: 'cache-only', short: 'C' },
      { name: 'download-only' },
      { name: 'upgrade-unchanged-exit-77' },
      { name: 'unchanged-exit-77' },
      { name: 'trigger-automatic-update-policy' },
      LOCK,
      { name: 'bypass-driver' },
      ...PKG_ENTRIES,
    ],
  },
  {
    path: 'deploy',
    options: [
      ...OS,
      REBOOT,
      { name: 'preview' },
      { name: 'cache-only', short: 'C' },
      { name: 'download-only' },
      { name: 'skip-branch-check' },
      LOCK,
      { name: 'disallow-downgrade', differs: 'apt-ostree\'s deploy refuses an older commit already without it (give --allow-downgrade); rpm-ostree\'s deploy allows one unless it is given' },
      { name: 'unchanged-exit-77' },
      { name: 'register-driver' },
      { name: 'bypass-driver' },
      { name: 'ex-cliwrap', refused: 'it wraps rpm for scripts run on the host; apt-ostree guards apt and dpkg on the host with its apt guard instead (docs/layout.md)' },
      ...PKG_ENTRIES,
    ],
  },
  {
    path: 'rebase',
    options: [
      ...OS,
      { name: 'branch', short: 'b', refused: 'apt-ostree takes the target as its argument: REMOTE:REF, REF (same remote) or REMOTE: (same ref)' },
      { name: 'remote', short: 'm', refused: 'apt-ostree takes the target as its argument: REMOTE:REF, REF (same remote) or REMOTE: (same ref)' },
      REBOOT,
      { name: 'skip-purge' },
      { name: 'cache-only', short: 'C' },
      { name: 'download-only' },
      { name: 'custom-origin-description', refused: 'it describes a container image origin; apt-ostree rebases between OSTree refs, which name themselves' },
      { name: 'custom-origin-url', refused: 'it describes a container image origin; apt-ostree rebases between OSTree refs, which name themselves' },
      { name: 'experimental', refused: 'it enables rpm-ostree\'s experimental container rebases, which apt-ostree does not have' },
      { name: 'disallow-downgrade' },
      LOCK,
      { name: 'bypass-driver' },
      ...PKG_ENTRIES,
    ],
  },
  { path: 'rollback', options: [REBOOT] },
  {
    path: 'cleanup',
    options: [...OS, { name: 'base', short: 'b' }, { name: 'pending', short: 'p' }, { name: 'rollback', short: 'r' }, { name: 'repomd', short: 'm' }],
  },
  {
    path: 'kargs',
    options: [
      ...OS,
      { name: 'deploy-index' },
      { name: 'reboot' },
      { name: 'append' },
      { name: 'replace' },
      { name: 'delete' },
      { name: 'append-if-missing' },
      { name: 'delete-if-present' },
      { name: 'unchanged-exit-77' },
      { name: 'import-proc-cmdline' },
      { name: 'editor' },
      LOCK,
    ],
  },
  {
    path: 'install',
    options: [
      ...PKG_SHARED,
      { name: 'uninstall' },
      { name: 'cache-only', short: 'C' },
      { name: 'download-only' },
      { name: 'apply-live', short: 'A' },
      { name: 'force-replacefiles', refused: 'dpkg settles files shared by two packages (Replaces:), and apt-ostree does not override it' },
    ],
  },
  { path: 'uninstall', options: [...PKG_SHARED, { name: 'install' }, { name: 'all' }] },
  {
    path: 'finalize-deployment',
    options: [...OS, { name: 'allow-missing-checksum' }, { name: 'allow-unlocked' }],
  },
  { path: 'initramfs', options: [...OS, { name: 'enable' }, { name: 'arg' }, { name: 'disable' }, REBOOT, LOCK] },
  {
    path: 'reset',
    options: [...OS, REBOOT, { name: 'overlays', short: 'l' }, { name: 'overrides', short: 'o' }, { name: 'initramfs', short: 'i' }, LOCK, { name: 'install' }, { name: 'uninstall', refused: 'reset drops every layered package already; `apt-ostree reset --overlays` is the way to drop them all' }],
  },
  { path: 'refresh-md', options: [...OS, { name: 'force', short: 'f' }] },
  { path: 'reload' },
  ...['remove', 'replace', 'reset'].map((sub) => ({
    path: `override ${sub}`,
    options: [
      ...OS,
      REBOOT,
      { name: 'dry-run', short: 'n' },
      LOCK,
      { name: 'cache-only', short: 'C' },
      ...(sub === 'reset' ? [{ name: 'all', short: 'a' }] : []),
      ...(sub === 'replace' ? [{ name: 'remove', refused: 'run `apt-ostree override remove` as a command of its own' }] : []),
      ...(sub === 'remove' ? [{ name: 'replace', refused: 'run `apt-ostree override replace` as a command of its own' }] : []),
      { name: 'experimental', refused: 'it enables rpm-ostree\'s experimental overrides from rpm-md repositories, which apt-ostree does not have' },
      { name: 'freeze', refused: 'it pins a package from an rpm-md repository; give NAME=VERSION to `override replace` instead' },
      { name: 'from', refused: 'it picks an rpm-md repository or a Koji build; give NAME=VERSION from the apt sources, or a .deb file, instead' },
    ],
  })),
  {
    path: 'db diff',
    options: [
      { name: 'format', short: 'F' },
      { name: 'changelogs', short: 'c', refused: 'apt-ostree does not read changelogs out of the packages; `apt changelog PACKAGE` shows one' },
      { name: 'sysroot' },
      { name: 'base' },
      { name: 'advisories', short: 'a', refused: 'Debian\'s apt lists carry no updateinfo advisories to show' },
    ],
  },
  { path: 'db list', options: [{ name: 'advisories', short: 'a', refused: 'Debian\'s apt lists carry no updateinfo advisories to show' }] },
  { path: 'db version' },
  { path: 'usroverlay', options: [{ name: 'hotfix' }, { name: 'transient' }] },
  {
    path: 'apply-live',
    options: [
      { name: 'allow-replacement' },
      { name: 'target', refused: 'apt-ostree applies the pending deployment only; deploy the commit first (`apt-ostree deploy CHECKSUM`), then apply-live' },
      { name: 'reset', refused: 'the live changes go with the overlay at the next reboot; apt-ostree does not take them back before' },
    ],
  },
  // rpm-ostree's commands that apt-ostree has not.
  { path: 'cancel', refused: 'there is no daemon running transactions: stop the apt-ostree command that runs one (Ctrl-C or SIGTERM), and it undoes its work' },
  { path: 'initramfs-etc', refused: 'apt-ostree regenerates the whole initramfs with `apt-ostree initramfs --enable`, which takes /etc as it is' },
  { path: 'rebuild', refused: 'it applies a container build\'s treefile; apt-ostree layers with install, override and reset' },
  { path: 'ex', refused: 'rpm-ostree\'s experimental commands have no apt-ostree counterpart, but for `ex history`: that is `apt-ostree history`' },
  { path: 'start-daemon', refused: 'apt-ostree has no daemon; `--dbus-compat` exports the DBus interface while one command runs' },
];

/** The rpm-ostree entry of a command of apt-ostree (by its full name), if rpm-ostree has one. */
export function rpmOstreeCommand(path: string): RpmOstreeCommand | undefined {
  return RPM_OSTREE_COMMANDS.find((c) => c.path === path);
}

/**
 * What to say about an option apt-ostree does not have on this command: the refusal of
 * rpm-ostree's option of that form (--name or -x), if it has one.
 */
export function refusedOption(path: string, flag: string): { option: RpmOstreeOption; reason: string } | undefined {
  const all = [...(rpmOstreeCommand(path)?.options ?? []), ...RPM_OSTREE_GLOBAL];
  const o = all.find((x) => `--${x.name}` === flag || (x.short !== undefined && `-${x.short}` === flag));
  return o?.refused ? { option: o, reason: o.refused } : undefined;
}
