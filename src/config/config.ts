/**
 * /etc/apt-ostree/apt-ostree.conf: the keys of rpm-ostreed.conf that apply to a program
 * without a daemon. CONFIG_SCHEMA below is the one description of the file: the parser
 * validates against it (with zod) and apt-ostree.conf(5) and examples/apt-ostree.conf are
 * rendered from it, so the documentation cannot drift from what is accepted.
 *
 * The file is read from the /etc of the deployment a command acts on: /etc on the running
 * system, DEPLOYMENT/etc for `--sysroot DIR` (provisioning, image builds, tests).
 */
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { AptOstreeError, InputError } from '../errors.js';
import { scanKeyFile } from '../ostree/keyfile.js';
import { FLEET_LOCK_GROUP_PATTERN, isKnownTimeZone, parseMaintenanceWindows } from './maintenance-windows.js';

/** The file's path inside an /etc directory. */
export const CONFIG_RELATIVE_PATH = 'apt-ostree/apt-ostree.conf';
export const CONFIG_PATH = `/etc/${CONFIG_RELATIVE_PATH}`;

export interface AptOstreeConfig {
  Daemon: {
    AutomaticUpdatePolicy: 'none' | 'check' | 'stage' | 'apply';
    LockLayering: boolean;
    DisableRecommends: boolean;
    MaxConcurrentDownloads: number;
    /** Seconds. */
    DownloadTimeout: number;
    /** Seconds. */
    PackageListsMaxAge: number;
  };
  Health: {
    BootTries: number;
    /** Seconds. */
    CheckTimeout: number;
    RebootOnFailure: boolean;
  };
  Updates: {
    RebootStrategy: 'immediate' | 'periodic' | 'fleet-lock';
    /** As written; parseMaintenanceWindows reads it. */
    MaintenanceWindows: string;
    /** An IANA name, UTC or localtime. */
    TimeZone: string;
    FleetLockURL: string;
    FleetLockGroup: string;
    /** Earlier deployments a new one keeps (rollback points). */
    KeepRollbacks: number;
  };
  Experimental: {
    Enabled: boolean;
    LiveFs: boolean;
  };
}

export type ConfigKeyDef =
  | { key: string; type: 'enum'; values: readonly string[]; default: string; describe: string }
  | { key: string; type: 'boolean'; default: boolean; describe: string }
  | { key: string; type: 'integer'; min: number; max?: number; unit?: string; default: number; describe: string }
  /** Free text checked by `check` (undefined: valid; else why not); `allowed` says what is accepted, `valueName` names it in the man page. */
  | { key: string; type: 'text'; default: string; describe: string; allowed: string; valueName: string; check: (value: string) => string | undefined };

export interface ConfigGroupDef {
  group: string;
  describe: string;
  keys: ConfigKeyDef[];
}

/** Every group and key the file may hold, with its documentation (rendered into apt-ostree.conf(5)). */
export const CONFIG_SCHEMA: ConfigGroupDef[] = [
  {
    group: 'Daemon',
    describe:
      'Settings of apt-ostree itself. The group keeps the name it has in rpm-ostreed.conf so that files can be shared; apt-ostree has no daemon and reads them each time a command starts.',
    keys: [
      {
        key: 'AutomaticUpdatePolicy',
        type: 'enum',
        values: ['none', 'check', 'stage', 'apply'],
        default: 'none',
        describe:
          'What `apt-ostree upgrade --trigger-automatic-update-policy` does; apt-ostree-automatic.timer runs it daily. none: nothing. check: look for a newer base commit and record it, so that `apt-ostree status` shows it as the cached update. stage: also prepare the new deployment for the next boot; the system is not rebooted. apply: stage it held back with ostree\'s finalization lock, then reboot into it when RebootStrategy in [Updates] allows (see docs/fleet.md).',
      },
      {
        key: 'LockLayering',
        type: 'boolean',
        default: false,
        describe:
          'When true, commands refuse to layer new packages onto the base image (for locked-down fleets). Upgrading the base image and removing layered packages still work.',
      },
      {
        key: 'DisableRecommends',
        type: 'boolean',
        default: false,
        describe: 'When true, packages are layered without the packages they recommend, as with apt-get --no-install-recommends.',
      },
      {
        key: 'MaxConcurrentDownloads',
        type: 'integer',
        min: 1,
        max: 64,
        default: 5,
        describe:
          'How many servers apt downloads from at the same time, for each access method (http, https, …), when packages are layered and package lists refreshed: apt\'s Acquire::QueueHost::Limit. apt uses one connection per server; servers beyond the limit share one more. The deployment\'s /etc/apt/apt.conf.d can override it. OSTree pulls are not limited by it (ostree fetches up to 8 objects at a time).',
      },
      {
        key: 'DownloadTimeout',
        type: 'integer',
        min: 1,
        unit: 'seconds',
        default: 300,
        describe:
          'Seconds after which a download that receives no data fails. For apt (layering, package lists) this is Acquire::http::Timeout, Acquire::https::Timeout and Acquire::ftp::Timeout, which also bound connecting (the deployment\'s /etc/apt/apt.conf.d can override them). For OSTree pulls (upgrade, deploy, rebase) it is `ostree pull --low-speed-time-seconds` with a limit of 1 byte per second, where ostree has that option (2023.7 and newer); with an older ostree (Debian 12 has 2022.7) apt-ostree stops the pull itself when ostree reads and writes nothing for this long.',
      },
      {
        key: 'PackageListsMaxAge',
        type: 'integer',
        min: 0,
        unit: 'seconds',
        default: 86400,
        describe:
          'How old the package lists may be before a layering transaction (install, uninstall, override, reset, initramfs, deploy, rebase) refreshes them with `apt-get update` first. The default is a day, as apt\'s APT::Periodic::Update-Package-Lists "1"; 0 refreshes on every transaction. `upgrade` always refreshes them when it rebuilds layered packages: it looks for newer ones. Lists are also refreshed when there are none yet, when the deployment\'s apt sources or keys (/etc/apt/sources.list, sources.list.d, trusted.gpg, trusted.gpg.d, keyrings) changed since the last refresh, when the command is given --refresh, and once when a requested package is not in lists that were not just refreshed. --cache-only never refreshes them; `apt-ostree refresh-md` refreshes them at once.',
      },
    ],
  },
  {
    group: 'Health',
    describe:
      'Health-checked updates: after a new deployment boots, apt-ostree-health-check.service runs the checks in /usr/lib/apt-ostree/health.d and /etc/apt-ostree/health.d (see the health-check command and /etc/apt-ostree/health.d in apt-ostree(8), and docs/health.md). A boot whose checks pass marks the deployment good; a boot that fails them, or never gets far enough to run them, uses one of its tries, and when they are used up the boot loader (GRUB, counting in its environment block /boot/grub/grubenv) boots the previous deployment, which then becomes the default again; `apt-ostree status` says why.',
    keys: [
      {
        key: 'BootTries',
        type: 'integer',
        min: 1,
        max: 10,
        default: 3,
        describe:
          'How many boots a new default deployment gets to pass its health checks before the boot loader goes back to the previous one. Set when the new deployment is written (or, on the running system, when it is staged).',
      },
      {
        key: 'CheckTimeout',
        type: 'integer',
        min: 1,
        max: 86400,
        unit: 'seconds',
        default: 120,
        describe:
          'Seconds each health check may run (or wait for the units it names) before it counts as failed and is stopped.',
      },
      {
        key: 'RebootOnFailure',
        type: 'boolean',
        default: true,
        describe:
          'When true, a new deployment that fails a health check reboots at once, so that its next try (or, when none is left, the previous deployment) starts without waiting for someone to reboot. When false the failed boot stays up until it is rebooted. A system whose default deployment is already known good is never rebooted by a failed check.',
      },
    ],
  },
  {
    group: 'Updates',
    describe:
      'How AutomaticUpdatePolicy=apply reboots into a staged update, and how many rollback points a new deployment keeps (docs/fleet.md). The update is staged with ostree\'s finalization lock and finalized (`finalize-deployment`) only when the strategy allows; while it waits, each run of the timer asks again. A reboot is postponed while users are logged in (up to 10 times 60 seconds, with a wall message each time). The keys are read by the other policies too, and ignored by them.',
    keys: [
      {
        key: 'RebootStrategy',
        type: 'enum',
        values: ['immediate', 'periodic', 'fleet-lock'],
        default: 'immediate',
        describe:
          'immediate: reboot as soon as the update is staged. periodic: only inside one of MaintenanceWindows. fleet-lock: only after the FleetLock server at FleetLockURL granted a reboot slot (`POST /v1/pre-reboot`, as Zincati); the slot is released (`/v1/steady-state`) once the new deployment passed its health checks (`apt-ostree health-check --boot`), and kept after a health fallback, so that the fleet stops rolling out a bad update.',
      },
      {
        key: 'MaintenanceWindows',
        type: 'text',
        valueName: 'windows',
        default: '',
        allowed: 'windows separated by `;`, each DAYS HH:MM MINUTES, e.g. `Sat,Sun 23:30 60; Wed 01:00 30` (days Mon … Sun or their full names, comma-separated; the start in 24-hour time; the length in minutes, from 1 to 10080)',
        check: (v) => {
          const r = parseMaintenanceWindows(v);
          return 'error' in r ? r.error : undefined;
        },
        describe:
          'The weekly windows of RebootStrategy=periodic, in TimeZone. A window may run past midnight and past Sunday into Monday. Required by the periodic strategy.',
      },
      {
        key: 'TimeZone',
        type: 'text',
        valueName: 'zone',
        default: 'UTC',
        allowed: 'an IANA time zone name (e.g. Europe/Berlin), UTC, or localtime (the system\'s /etc/localtime)',
        check: (v) => (isKnownTimeZone(v) ? undefined : `'${v}' is not a time zone name known to this system`),
        describe:
          'The time zone of MaintenanceWindows. A window follows the wall clock: on the days the clocks change it may be an hour longer or shorter.',
      },
      {
        key: 'FleetLockURL',
        type: 'text',
        valueName: 'URL',
        default: '',
        allowed: 'an http or https URL',
        check: (v) => {
          if (v === '') return undefined;
          try {
            const u = new URL(v);
            return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : `'${v}' is not an http or https URL`;
          } catch {
            return `'${v}' is not a URL`;
          }
        },
        describe:
          'The base URL of the FleetLock server (Zincati\'s base_url): requests go to URL/v1/pre-reboot and URL/v1/steady-state. Required by the fleet-lock strategy.',
      },
      {
        key: 'FleetLockGroup',
        type: 'text',
        valueName: 'group',
        default: 'default',
        allowed: 'letters, digits, `.` and `-` (the FleetLock protocol\'s ^[a-zA-Z0-9.-]+$)',
        check: (v) => (FLEET_LOCK_GROUP_PATTERN.test(v) ? undefined : `'${v}' is not a FleetLock group name`),
        describe: 'The reboot group sent to the FleetLock server, as Zincati\'s `identity.group` (which is `default` too when not set).',
      },
      {
        key: 'KeepRollbacks',
        type: 'integer',
        min: 1,
        max: 10,
        default: 1,
        describe:
          'How many earlier deployments of the stateroot a new deployment keeps besides itself (the rollback points): 1 keeps only the previous default, as ostree does. Pinned deployments (`apt-ostree pin`) are kept on top of these and not counted, and the booted deployment is always kept. Applies when a deployment is written to a sysroot directory; on the running system ostree itself finalizes the staged deployment at shutdown and keeps the booted one and the pinned ones: pin what must survive there. `apt-ostree rollback --to INDEX` makes any kept deployment the default.',
      },
    ],
  },
  {
    group: 'Experimental',
    describe: 'Features that may change or go away in a later release.',
    keys: [
      {
        key: 'Enabled',
        type: 'boolean',
        default: false,
        describe: 'Turn on the experimental features.',
      },
      {
        key: 'LiveFs',
        type: 'boolean',
        default: false,
        describe:
          'Allow `apt-ostree apply-live` and `install --apply-live`: the pending deployment\'s new files are copied into a transient overlay on the running /usr, so that layered packages work before the reboot. Takes effect only together with Enabled=true. Off by default, unlike rpm-ostree (which needs no setting): it changes the running system under programs that run, which the image-based model otherwise never does, and a fleet should choose that. Package upgrades and removals are applied live only with --allow-replacement; after an apply-live, `rollback` and `cleanup -p` are refused until the reboot.',
      },
    ],
  },
];

/** Keys of rpm-ostreed.conf that mean nothing without a daemon: accepted with a warning, never an error. */
const DAEMON_ONLY_KEYS: Record<string, string> = {
  IdleExitTimeout: 'apt-ostree has no daemon that could exit when idle',
};

const BOOLEAN_TRUE = ['true', 'yes', '1'];
const BOOLEAN_FALSE = ['false', 'no', '0'];

let zod: typeof Zod | undefined;

/** A zod schema for one key's text value, producing the typed value. */
function valueSchema(def: Exclude<ConfigKeyDef, { type: 'text' }>): Zod.ZodType<string | number | boolean> {
  // Loaded on first use: transactions read the defaults on every run, most systems have no file.
  zod ??= createRequire(import.meta.url)('zod') as typeof Zod;
  const { z } = zod;
  switch (def.type) {
    case 'boolean':
      return z
        .string()
        .transform((s) => s.toLowerCase())
        .pipe(z.enum([...BOOLEAN_TRUE, ...BOOLEAN_FALSE] as [string, ...string[]]))
        .transform((s) => BOOLEAN_TRUE.includes(s));
    case 'enum':
      return z
        .string()
        .transform((s) => s.toLowerCase())
        .pipe(z.enum(def.values as [string, ...string[]]));
    case 'integer': {
      let n = z.number().int().min(def.min);
      if (def.max !== undefined) n = n.max(def.max);
      return z.string().regex(/^\+?[0-9]{1,9}$/).transform(Number).pipe(n);
    }
  }
}

/** The values a key accepts, as the error messages and the man page say them. */
export function allowedValues(def: ConfigKeyDef): string {
  switch (def.type) {
    case 'boolean':
      return 'true, false, yes, no, 1 or 0';
    case 'enum':
      return def.values.length > 1 ? `${def.values.slice(0, -1).join(', ')} or ${def.values.at(-1)}` : def.values.join('');
    case 'text':
      return def.allowed;
    case 'integer':
      return def.max !== undefined
        ? `a whole number from ${def.min} to ${def.max}${def.unit ? ` (${def.unit})` : ''}`
        : `a whole number of ${def.min} or more${def.unit ? ` (${def.unit})` : ''}`;
  }
}

export function defaultConfig(): AptOstreeConfig {
  const out: Record<string, Record<string, unknown>> = {};
  for (const g of CONFIG_SCHEMA) out[g.group] = Object.fromEntries(g.keys.map((k) => [k.key, k.default]));
  return out as unknown as AptOstreeConfig;
}

export interface ParsedConfig {
  config: AptOstreeConfig;
  /** Settings the file gives, as "Group.Key". */
  explicit: string[];
  /** Unknown groups or keys and other harmless oddities, each naming file and line; the caller prints them. */
  warnings: string[];
}

/**
 * Parse and validate a config file's text (a key file, read by scanKeyFile). Unknown groups and
 * keys are warnings; a bad value or a line that is not a key file line is an InputError naming
 * the file, the line, the key and what is allowed.
 */
export function parseConfig(text: string, file: string): ParsedConfig {
  const config = defaultConfig() as unknown as Record<string, Record<string, unknown>>;
  const explicit: string[] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  const seen = new Map<string, number>();
  let group: ConfigGroupDef | undefined;
  let groupName: string | undefined;
  for (const l of scanKeyFile(text.replace(/^\uFEFF/, ''))) {
    const where = `${file} line ${l.line}`;
    // `;` comments are accepted too (GKeyFile knows only `#`).
    if (l.kind === 'comment' || l.text.trim().startsWith(';')) continue;
    if (l.kind === 'group') {
      groupName = l.name;
      group = CONFIG_SCHEMA.find((g) => g.group === groupName);
      if (!group) {
        const near = CONFIG_SCHEMA.find((g) => g.group.toLowerCase() === groupName!.trim().toLowerCase());
        warnings.push(
          `${where}: unknown group [${groupName}] is ignored` +
            (near ? ` (did you mean [${near.group}]?)` : ` (known groups: ${CONFIG_SCHEMA.map((g) => `[${g.group}]`).join(', ')})`),
        );
      }
      continue;
    }
    if (l.kind === 'bad') {
      errors.push(l.key !== undefined ? `${where}: ${shorten(l.key)} is set before any [Group] header` : `${where}: '${shorten(l.text.trim())}' is not a [Group] header, a Key=value setting or a # comment`);
      continue;
    }
    const { key } = l;
    const value = l.value.trim();
    if (!group) continue; // the unknown group was reported once at its header
    const def = group.keys.find((k) => k.key === key);
    if (!def) {
      if (DAEMON_ONLY_KEYS[key] && group.group === 'Daemon') {
        warnings.push(`${where}: ${key} has no effect (${DAEMON_ONLY_KEYS[key]})`);
        continue;
      }
      const near = group.keys.find((k) => k.key.toLowerCase() === key.toLowerCase());
      warnings.push(
        `${where}: unknown key ${key} in [${group.group}] is ignored` +
          (near ? ` (did you mean ${near.key}?)` : ` (known keys: ${group.keys.map((k) => k.key).join(', ')})`),
      );
      continue;
    }
    const id = `${group.group}.${def.key}`;
    const parsed = def.type === 'text' ? checkText(def, value) : valueSchema(def).safeParse(value);
    if (!parsed.success) {
      const why = 'why' in parsed && parsed.why ? ` (${shorten(parsed.why, 120)})` : '';
      errors.push(`${where}: ${def.key}=${shorten(value)} in [${group.group}] is not valid${why}; allowed: ${allowedValues(def)}`);
      continue;
    }
    const before = seen.get(id);
    if (before !== undefined) warnings.push(`${where}: ${def.key} in [${group.group}] was already set on line ${before}; the last setting counts`);
    seen.set(id, l.line);
    config[group.group]![def.key] = parsed.data;
    if (!explicit.includes(id)) explicit.push(id);
  }
  if (errors.length) {
    throw new InputError(
      errors.length === 1 ? `${errors[0]}.` : `${errors.length} errors in the configuration:\n  ${errors.join('\n  ')}`,
      `Fix the file (see apt-ostree.conf(5)), then check it with \`apt-ostree reload\`.`,
    );
  }
  const cfg = config as unknown as AptOstreeConfig;
  const needs = updatesRequirement(cfg);
  if (needs) {
    throw new InputError(`${file}: ${needs}.`, 'Fix the file (see apt-ostree.conf(5)), then check it with `apt-ostree reload`.');
  }
  if (cfg.Experimental.LiveFs && !cfg.Experimental.Enabled) {
    warnings.push(`${file} line ${seen.get('Experimental.LiveFs')}: LiveFs=true has no effect unless Enabled=true in [Experimental]`);
  }
  return { config: cfg, explicit, warnings };
}

function shorten(s: string, max = 60): string {
  const clean = s.replace(/[\x00-\x1f\x7f]/g, '?'); // never echo control characters to the terminal
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

function checkText(def: Extract<ConfigKeyDef, { type: 'text' }>, value: string): { success: true; data: string } | { success: false; why: string } {
  const why = def.check(value);
  return why === undefined ? { success: true, data: value } : { success: false, why };
}

/** A strategy without what it needs is an error whatever the policy: `reload` must catch it before the timer's run does. */
function updatesRequirement(cfg: AptOstreeConfig): string | undefined {
  const u = cfg.Updates;
  if (u.RebootStrategy === 'periodic' && !u.MaintenanceWindows.trim()) return 'RebootStrategy=periodic in [Updates] needs MaintenanceWindows (e.g. MaintenanceWindows=Sat,Sun 23:30 60)';
  if (u.RebootStrategy === 'fleet-lock' && !u.FleetLockURL) return 'RebootStrategy=fleet-lock in [Updates] needs FleetLockURL, the base URL of the FleetLock server';
  return undefined;
}

export interface LoadedConfig extends ParsedConfig {
  /** The file that was (or would have been) read; undefined when the target has no deployment yet. */
  path?: string;
  /** False when the file does not exist: then every setting has its default. */
  exists: boolean;
}

/** Read and parse one file; a missing file (or no file at all) gives the defaults. */
export function readConfigFile(path: string | undefined): LoadedConfig {
  if (!path) return { config: defaultConfig(), explicit: [], warnings: [], exists: false };
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { config: defaultConfig(), explicit: [], warnings: [], path, exists: false };
    if (code === 'EACCES') {
      throw new AptOstreeError(`Cannot read the configuration file ${path}: permission denied.`, { hint: 'Run the command with sudo, or make the file readable.' });
    }
    if (code === 'EISDIR') throw new InputError(`The configuration file ${path} is a directory.`, 'Replace it with a file (see apt-ostree.conf(5)) or remove it.');
    throw new AptOstreeError(`Cannot read the configuration file ${path}: ${(e as Error).message}.`, { cause: e });
  }
  // Binary junk (a damaged disk, a file copied over it) is one error, not one per line of noise.
  if (bytes.includes(0) || !isUtf8(bytes)) {
    throw new InputError(
      `The configuration file ${path} is not a text file (it contains ${bytes.includes(0) ? 'NUL bytes' : 'bytes that are not UTF-8'}): it is damaged.`,
      'Rewrite it (see apt-ostree.conf(5)), then check it with `apt-ostree reload`.',
    );
  }
  return { ...parseConfig(bytes.toString('utf8'), path), path, exists: true };
}

/**
 * The example file shipped as examples/apt-ostree.conf: every key, commented out, with its
 * default and documentation. Rendered from CONFIG_SCHEMA.
 */
export function renderExampleConfig(): string {
  const out = [
    '# apt-ostree configuration: /etc/apt-ostree/apt-ostree.conf (see apt-ostree.conf(5)).',
    '# Every key is shown commented out with its default value. Uncomment and change what you need,',
    '# then check the file with `apt-ostree reload`.',
  ];
  for (const g of CONFIG_SCHEMA) {
    out.push('', `[${g.group}]`);
    for (const k of g.keys) {
      out.push(...wrapComment(`${k.describe} Allowed: ${allowedValues(k)}.`));
      out.push(`#${k.key}=${formatValue(k.default)}`, '');
    }
    if (out.at(-1) === '') out.pop();
  }
  return out.join('\n') + '\n';
}

export function formatValue(v: string | number | boolean): string {
  return String(v);
}

function wrapComment(text: string, width = 92): string[] {
  const lines: string[] = [];
  let cur = '#';
  for (const word of text.split(/\s+/)) {
    if (cur.length + 1 + word.length > width && cur !== '#') {
      lines.push(cur);
      cur = '#';
    }
    cur += ` ${word}`;
  }
  if (cur !== '#') lines.push(cur);
  return lines;
}
