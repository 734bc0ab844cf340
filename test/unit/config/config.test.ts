import { describe, expect, it } from 'vitest';
import { CONF_MAN_EXAMPLE } from '../../../src/cli/docs.js';
import { CONFIG_SCHEMA, defaultConfig, parseConfig, renderExampleConfig } from '../../../src/config/config.js';
import { InputError } from '../../../src/errors.js';

const FILE = '/etc/apt-ostree/apt-ostree.conf';

function parseError(text: string): InputError {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('expected the text to be rejected');
}

describe('config parser', () => {
  it('gives the documented defaults for an empty file', () => {
    const r = parseConfig('', FILE);
    expect(r.config).toEqual({
      Daemon: { AutomaticUpdatePolicy: 'none', LockLayering: false, DisableRecommends: false, MaxConcurrentDownloads: 5, DownloadTimeout: 300, PackageListsMaxAge: 86400 },
      Health: { BootTries: 3, CheckTimeout: 120, RebootOnFailure: true },
      Updates: { RebootStrategy: 'immediate', MaintenanceWindows: '', TimeZone: 'UTC', FleetLockURL: '', FleetLockGroup: 'default', KeepRollbacks: 1 },
      Experimental: { Enabled: false, LiveFs: false },
    });
    expect(r.warnings).toEqual([]);
    expect(r.explicit).toEqual([]);
  });

  it('reads every key, with spaces around =, comments and CRLF line ends', () => {
    const text = [
      '# apt-ostree',
      '[Daemon]',
      'AutomaticUpdatePolicy = stage',
      '; a comment in the other style',
      'LockLayering=yes',
      'DisableRecommends=1',
      'MaxConcurrentDownloads=64',
      'DownloadTimeout = 30',
      'PackageListsMaxAge=0',
      '',
      '[Health]',
      'BootTries=5',
      'CheckTimeout = 30',
      'RebootOnFailure=no',
      '',
      '[Updates]',
      'RebootStrategy=fleet-lock',
      'MaintenanceWindows = Sat,Sun 23:30 60; wednesday 01:00 30',
      'TimeZone=Europe/Berlin',
      'FleetLockURL=http://lock.example:8080/base/',
      'FleetLockGroup=workers.eu-1',
      'KeepRollbacks=3',
      '',
      '[Experimental]',
      'Enabled=TRUE',
      'LiveFs=no',
    ].join('\r\n');
    const r = parseConfig(text, FILE);
    expect(r.config).toEqual({
      Daemon: { AutomaticUpdatePolicy: 'stage', LockLayering: true, DisableRecommends: true, MaxConcurrentDownloads: 64, DownloadTimeout: 30, PackageListsMaxAge: 0 },
      Health: { BootTries: 5, CheckTimeout: 30, RebootOnFailure: false },
      Updates: { RebootStrategy: 'fleet-lock', MaintenanceWindows: 'Sat,Sun 23:30 60; wednesday 01:00 30', TimeZone: 'Europe/Berlin', FleetLockURL: 'http://lock.example:8080/base/', FleetLockGroup: 'workers.eu-1', KeepRollbacks: 3 },
      Experimental: { Enabled: true, LiveFs: false },
    });
    expect(r.warnings).toEqual([]);
    expect(r.explicit).toEqual([
      'Daemon.AutomaticUpdatePolicy',
      'Daemon.LockLayering',
      'Daemon.DisableRecommends',
      'Daemon.MaxConcurrentDownloads',
      'Daemon.DownloadTimeout',
      'Daemon.PackageListsMaxAge',
      'Health.BootTries',
      'Health.CheckTimeout',
      'Health.RebootOnFailure',
      'Updates.RebootStrategy',
      'Updates.MaintenanceWindows',
      'Updates.TimeZone',
      'Updates.FleetLockURL',
      'Updates.FleetLockGroup',
      'Updates.KeepRollbacks',
      'Experimental.Enabled',
      'Experimental.LiveFs',
    ]);
  });

  it.each([
    ['true', true], ['false', false], ['yes', true], ['no', false], ['1', true], ['0', false], ['Yes', true], ['FALSE', false],
  ])('accepts the boolean %s', (text, value) => {
    expect(parseConfig(`[Daemon]\nLockLayering=${text}\n`, FILE).config.Daemon.LockLayering).toBe(value);
  });

  it('rejects boot tries the GRUB script cannot count', () => {
    expect(parseError('[Health]\nBootTries=11\n').message).toContain('a whole number from 1 to 10');
    expect(parseError('[Health]\nBootTries=0\n').message).toContain('BootTries=0');
  });

  it('rejects a bad enum value naming file, line, key and the allowed values', () => {
    const e = parseError('[Daemon]\n\n# comment\nAutomaticUpdatePolicy=sometimes\n');
    expect(e.message).toContain(FILE);
    expect(e.message).toContain('line 4');
    expect(e.message).toContain('AutomaticUpdatePolicy=sometimes');
    expect(e.message).toContain('none, check, stage or apply');
    expect(e.hint).toMatch(/apt-ostree reload/);
  });

  it.each([
    ['LockLayering=maybe', 'true, false, yes, no, 1 or 0'],
    ['LockLayering=', 'true, false, yes, no, 1 or 0'],
    ['MaxConcurrentDownloads=0', 'a whole number from 1 to 64'],
    ['MaxConcurrentDownloads=65', 'a whole number from 1 to 64'],
    ['MaxConcurrentDownloads=2.5', 'a whole number from 1 to 64'],
    ['MaxConcurrentDownloads=five', 'a whole number from 1 to 64'],
    ['DownloadTimeout=0', 'a whole number of 1 or more (seconds)'],
    ['DownloadTimeout=-5', 'a whole number of 1 or more (seconds)'],
    ['DownloadTimeout=300 # five minutes', 'a whole number of 1 or more (seconds)'],
    ['PackageListsMaxAge=-1', 'a whole number of 0 or more (seconds)'],
    ['PackageListsMaxAge=1d', 'a whole number of 0 or more (seconds)'],
  ])('rejects %s', (setting, allowed) => {
    const e = parseError(`[Daemon]\n${setting}\n`);
    expect(e.message).toContain(`${FILE} line 2`);
    expect(e.message).toContain(setting.split('=')[0]);
    expect(e.message).toContain(`allowed: ${allowed}`);
  });

  it.each([
    ['MaintenanceWindows=Sat 23:30', /'Sat 23:30' is not DAYS HH:MM MINUTES/],
    ['MaintenanceWindows=Caturday 23:30 60', /'Caturday' in 'Caturday 23:30 60' is not a day of the week/],
    ['MaintenanceWindows=Sat,Sun 24:00 60', /24:00 in 'Sat,Sun 24:00 60' is not a time of day/],
    ['MaintenanceWindows=Sat 23:30 0', /the length 0 .* is not from 1 to 10080 minutes/],
    ['TimeZone=Mars/Olympus_Mons', /'Mars\/Olympus_Mons' is not a time zone name/],
    ['FleetLockURL=ftp://lock.example/', /'ftp:\/\/lock.example\/' is not an http or https URL/],
    ['FleetLockURL=lock.example', /'lock.example' is not a URL/],
    ['FleetLockGroup=my group', /'my group' is not a FleetLock group name/],
    ['FleetLockGroup=workers_1', /allowed: letters, digits, `.` and `-`/],
    ['FleetLockGroup=', /is not a FleetLock group name/],
  ])('rejects [Updates] %s, saying why', (setting, why) => {
    const e = parseError(`[Updates]\n${setting}\n`);
    expect(e.message).toContain(`${FILE} line 2: ${setting.split('=')[0]}=`);
    expect(e.message).toMatch(why);
  });

  it('accepts the time zones Zincati accepts: IANA names and localtime', () => {
    for (const zone of ['UTC', 'America/Panama', 'US/Eastern', 'localtime']) {
      expect(parseConfig(`[Updates]\nTimeZone=${zone}\n`, FILE).config.Updates.TimeZone).toBe(zone);
    }
  });

  it('refuses a strategy without what it needs, so that reload catches it before the timer does', () => {
    expect(parseError('[Updates]\nRebootStrategy=periodic\n').message).toMatch(/RebootStrategy=periodic in \[Updates\] needs MaintenanceWindows/);
    expect(parseError('[Updates]\nRebootStrategy=fleet-lock\n').message).toMatch(/RebootStrategy=fleet-lock in \[Updates\] needs FleetLockURL/);
    expect(parseConfig('[Updates]\nRebootStrategy=periodic\nMaintenanceWindows=Sun 03:00 120\n', FILE).config.Updates.RebootStrategy).toBe('periodic');
  });

  it('reports every bad line at once', () => {
    const e = parseError('[Daemon]\nLockLayering=maybe\nMaxConcurrentDownloads=100\n[Experimental]\nEnabled=perhaps\n');
    expect(e.message).toMatch(/^3 errors/);
    expect(e.message).toContain('line 2');
    expect(e.message).toContain('line 3');
    expect(e.message).toContain('line 5');
  });

  it('rejects lines that are not INI, and keys before any group', () => {
    expect(parseError('[Daemon]\nLockLayering true\n').message).toMatch(/line 2: 'LockLayering true' is not a \[Group\] header/);
    expect(parseError('LockLayering=true\n').message).toMatch(/line 1: LockLayering is set before any \[Group\] header/);
    expect(parseError('[Daemon]\n=true\n').message).toMatch(/line 2/);
  });

  it('warns about unknown groups and keys, with line numbers and suggestions, and keeps going', () => {
    const r = parseConfig('[Daemon]\nLockLayering=true\nlocklayering=false\nFrobnicate=1\nIdleExitTimeout=60\n[daemon]\nX=1\n[Other]\nY=2\n', FILE);
    expect(r.config.Daemon.LockLayering).toBe(true);
    expect(r.warnings).toEqual([
      `${FILE} line 3: unknown key locklayering in [Daemon] is ignored (did you mean LockLayering?)`,
      `${FILE} line 4: unknown key Frobnicate in [Daemon] is ignored (known keys: AutomaticUpdatePolicy, LockLayering, DisableRecommends, MaxConcurrentDownloads, DownloadTimeout, PackageListsMaxAge)`,
      `${FILE} line 5: IdleExitTimeout has no effect (apt-ostree has no daemon that could exit when idle)`,
      `${FILE} line 6: unknown group [daemon] is ignored (did you mean [Daemon]?)`,
      `${FILE} line 8: unknown group [Other] is ignored (known groups: [Daemon], [Health], [Updates], [Experimental])`,
    ]);
  });

  it('warns when a key is set twice (the last one counts) and about LiveFs without Enabled', () => {
    const r = parseConfig('[Daemon]\nDownloadTimeout=10\nDownloadTimeout=20\n[Experimental]\nLiveFs=true\n', FILE);
    expect(r.config.Daemon.DownloadTimeout).toBe(20);
    expect(r.warnings).toEqual([
      `${FILE} line 3: DownloadTimeout in [Daemon] was already set on line 2; the last setting counts`,
      `${FILE} line 5: LiveFs=true has no effect unless Enabled=true in [Experimental]`,
    ]);
  });

  it('a group may appear twice', () => {
    const r = parseConfig('[Daemon]\nLockLayering=true\n[Experimental]\nEnabled=1\n[Daemon]\nDisableRecommends=true\n', FILE);
    expect(r.config.Daemon).toMatchObject({ LockLayering: true, DisableRecommends: true });
    expect(r.warnings).toEqual([]);
  });

  it('ignores a byte order mark', () => {
    expect(parseConfig('\uFEFF[Daemon]\nLockLayering=true\n', FILE).config.Daemon.LockLayering).toBe(true);
  });
});

describe('example configuration', () => {
  const example = renderExampleConfig();

  it('is all comments and groups: it parses to the defaults without warnings', () => {
    const r = parseConfig(example, 'example');
    expect(r.config).toEqual(defaultConfig());
    expect(r.warnings).toEqual([]);
  });

  it('names every key with its default; uncommented, it is still valid and gives the defaults', () => {
    for (const g of CONFIG_SCHEMA) for (const k of g.keys) expect(example).toContain(`#${k.key}=${String(k.default)}\n`);
    const uncommented = example.replace(/^#(\w+=)/gm, '$1');
    const r = parseConfig(uncommented, 'example');
    expect(r.config).toEqual(defaultConfig());
    expect(r.explicit).toHaveLength(CONFIG_SCHEMA.flatMap((g) => g.keys).length);
    expect(r.warnings).toEqual([]);
  });

  it('the example of apt-ostree.conf(5) is valid', () => {
    const r = parseConfig(CONF_MAN_EXAMPLE, 'man page');
    expect(r.warnings).toEqual([]);
    expect(r.config.Daemon).toMatchObject({ AutomaticUpdatePolicy: 'check', DisableRecommends: true });
  });
});
