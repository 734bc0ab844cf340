// The units checks (NAME.units): when a unit counts as up, and waiting for one that is still
// starting. systemd does not run on the test host, so the unit states here are systemctl show's
// properties as systemd reports them; the boot tests run the same checks against systemd itself.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverChecks, parseUnitsFile, runChecks, unitVerdict, type UnitProperties } from '../../../../src/engine/health/checks.js';

describe('unitVerdict', () => {
  it('accepts an active unit and a oneshot that ran and succeeded', () => {
    expect(unitVerdict('a.service', { LoadState: 'loaded', ActiveState: 'active', SubState: 'running' })).toEqual({ state: 'ok' });
    expect(unitVerdict('b.service', { LoadState: 'loaded', ActiveState: 'inactive', SubState: 'dead', Type: 'oneshot', Result: 'success', InactiveExitTimestampMonotonic: '123' })).toEqual({ state: 'ok' });
  });

  it('waits for a unit that is starting or has not started yet', () => {
    expect(unitVerdict('a.service', { LoadState: 'loaded', ActiveState: 'activating', SubState: 'start' })).toEqual({ state: 'wait', what: 'a.service: activating (start)' });
    expect(unitVerdict('b.service', { LoadState: 'loaded', ActiveState: 'inactive', SubState: 'dead', Type: 'simple', Result: 'success', InactiveExitTimestampMonotonic: '0' }).state).toBe('wait');
  });

  it('fails a failed, unknown or masked unit at once', () => {
    expect(unitVerdict('a.service', { LoadState: 'loaded', ActiveState: 'failed', Result: 'exit-code' })).toEqual({ state: 'failed', what: 'a.service: failed (exit-code)' });
    expect(unitVerdict('nope.service', { LoadState: 'not-found', ActiveState: 'inactive' })).toEqual({ state: 'failed', what: 'nope.service: no such unit' });
    expect(unitVerdict('m.service', { LoadState: 'masked', ActiveState: 'inactive' }).state).toBe('failed');
    expect(unitVerdict('c.service', { LoadState: 'loaded', ActiveState: 'inactive', Type: 'simple', Result: 'signal', InactiveExitTimestampMonotonic: '5' }).state).toBe('failed');
  });
});

describe('units checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'units-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'd'));
  writeFileSync(join(dir, 'd', '10-web.units'), '# the web stack\nnginx.service  php-fpm.service\n\nmulti-user.target # and the target\n');

  it('reads unit names, several to a line, comments left out', () => {
    const { checks } = discoverChecks([join(dir, 'd')]);
    expect(checks).toEqual([{ name: '10-web.units', path: join(dir, 'd', '10-web.units'), kind: 'units' }]);
    expect(parseUnitsFile('# x\nnginx.service  php-fpm.service\n\nmulti-user.target # and the target\n')).toEqual(['nginx.service', 'php-fpm.service', 'multi-user.target']);
  });

  it('waits until every unit is up', async () => {
    let looks = 0;
    const unitState = async (unit: string): Promise<UnitProperties> => {
      looks++;
      return unit === 'php-fpm.service' && looks < 6 ? { LoadState: 'loaded', ActiveState: 'activating' } : { LoadState: 'loaded', ActiveState: 'active' };
    };
    const [r] = await runChecks(discoverChecks([join(dir, 'd')]).checks, { timeoutSeconds: 10, unitState, pollSeconds: 0.05 });
    expect(r).toMatchObject({ status: 'passed', output: 'nginx.service: active\nmulti-user.target: active\nphp-fpm.service: active\n' });
  });

  it('fails on a failed unit, and times out on one that never comes up', async () => {
    const failed = await runChecks(discoverChecks([join(dir, 'd')]).checks, {
      timeoutSeconds: 10, pollSeconds: 0.05,
      unitState: async (u) => (u === 'nginx.service' ? { LoadState: 'loaded', ActiveState: 'failed', Result: 'exit-code' } : { LoadState: 'loaded', ActiveState: 'active' }),
    });
    expect(failed[0]).toMatchObject({ status: 'failed', output: 'nginx.service: failed (exit-code)\n' });
    const slow = await runChecks(discoverChecks([join(dir, 'd')]).checks, {
      timeoutSeconds: 0.3, pollSeconds: 0.05,
      unitState: async (u) => (u === 'php-fpm.service' ? { LoadState: 'loaded', ActiveState: 'activating', SubState: 'start' } : { LoadState: 'loaded', ActiveState: 'active' }),
    });
    expect(slow[0]!.status).toBe('timed-out');
    expect(slow[0]!.output).toMatch(/php-fpm\.service: activating \(start\), still not active\nstopped waiting after 0\.3 seconds/);
  });
});
