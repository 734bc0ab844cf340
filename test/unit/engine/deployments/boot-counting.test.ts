// The boot counting state machine (greenboot's scheme on GRUB's environment block): tries,
// marking good, fallback, and the GRUB script that is the loader's half of it (checked against
// Debian's GRUB in test/integration/agreement/grub-script.test.ts).
import { describe, expect, it } from 'vitest';
import {
  armCounter, clearFallback, countingState, decideAfterChecks, grubBootCountingScript, isFallbackBoot, loaderBoot, markGood, MAX_BOOT_TRIES,
  type CountingState,
} from '../../../../src/engine/deployments/boot-counting.js';
import type { GrubEnv } from '../../../../src/engine/deployments/grubenv.js';

const empty = (): GrubEnv => new Map();

/** Boot `times` times without the checks passing (they failed, or were never reached): the entries GRUB chose. */
function bootFailing(env: GrubEnv, times: number): { entries: number[]; env: GrubEnv } {
  const entries: number[] = [];
  for (let i = 0; i < times; i++) {
    const b = loaderBoot(env);
    entries.push(b.entry);
    env = b.env;
  }
  return { entries, env };
}

describe('boot counting', () => {
  it('is idle with no counter, and GRUB boots the default', () => {
    expect(countingState(empty())).toEqual({ kind: 'idle' });
    expect(loaderBoot(empty())).toEqual({ entry: 0, env: empty() });
    expect(loaderBoot(markGood(empty())).entry).toBe(0);
  });

  it('gives a new default its tries (default 3), then boots the previous deployment', () => {
    const armed = armCounter(empty(), 3);
    expect(countingState(armed)).toEqual({ kind: 'counting', left: 3, success: false });
    const { entries, env } = bootFailing(armed, 5);
    expect(entries).toEqual([0, 0, 0, 1, 1]);
    expect(countingState(env)).toEqual({ kind: 'fallen-back' });
  });

  it('counts one try per boot for every allowed number of tries', () => {
    for (let tries = 1; tries <= MAX_BOOT_TRIES; tries++) {
      const { entries } = bootFailing(armCounter(empty(), tries), tries + 1);
      expect(entries.filter((e) => e === 0)).toHaveLength(tries);
      expect(entries.at(-1)).toBe(1);
    }
    expect(() => armCounter(empty(), 0)).toThrow(RangeError);
    expect(() => armCounter(empty(), MAX_BOOT_TRIES + 1)).toThrow(RangeError);
  });

  it('stops counting once a boot passes its checks', () => {
    let env = bootFailing(armCounter(empty(), 3), 2).env; // two boots used, the second passes
    expect(decideAfterChecks(countingState(env), { passed: true }, { rebootOnFailure: true })).toEqual({ action: 'mark-good' });
    env = markGood(env);
    expect(countingState(env)).toEqual({ kind: 'idle' });
    expect(bootFailing(env, 10).entries.every((e) => e === 0)).toBe(true);
  });

  it('keeps other variables of the block', () => {
    const env = armCounter(new Map([['saved_entry', 'x']]), 2);
    expect(markGood(env).get('saved_entry')).toBe('x');
    expect(loaderBoot(env).env.get('saved_entry')).toBe('x');
  });

  it('decides what a failed check does', () => {
    const counting: CountingState = { kind: 'counting', left: 2, success: false };
    expect(decideAfterChecks(counting, { passed: false }, { rebootOnFailure: true })).toEqual({ action: 'reboot', left: 2 });
    expect(decideAfterChecks({ kind: 'counting', left: 0, success: false }, { passed: false }, { rebootOnFailure: true })).toEqual({ action: 'reboot', left: 0 });
    expect(decideAfterChecks(counting, { passed: false }, { rebootOnFailure: false })).toEqual({ action: 'report', why: 'no-reboot' });
    expect(decideAfterChecks({ kind: 'idle' }, { passed: false }, { rebootOnFailure: true })).toEqual({ action: 'report', why: 'not-counting' });
    expect(decideAfterChecks({ kind: 'fallen-back' }, { passed: false }, { rebootOnFailure: true })).toEqual({ action: 'report', why: 'fallen-back' });
  });

  it('knows a fallback boot from the block and the booted deployment', () => {
    const env = bootFailing(armCounter(empty(), 1), 2).env;
    expect(isFallbackBoot(countingState(env), { bootedIsDefault: false })).toBe(true);
    // After the rollback the booted deployment is the default again: handled already.
    expect(isFallbackBoot(countingState(env), { bootedIsDefault: true })).toBe(false);
    expect(countingState(clearFallback(env))).toEqual({ kind: 'idle' });
    expect(isFallbackBoot({ kind: 'counting', left: 1, success: false }, { bootedIsDefault: false })).toBe(false);
  });

  it('treats a counter it cannot count as used up, as the GRUB script does', () => {
    const env: GrubEnv = new Map([['boot_counter', 'x'], ['boot_success', '0']]);
    expect(countingState(env)).toEqual({ kind: 'invalid', value: 'x' });
    expect(loaderBoot(env).entry).toBe(1);
    expect(loaderBoot(new Map([['boot_counter', '99'], ['boot_success', '0']])).entry).toBe(1);
  });
});

describe('the GRUB script', () => {
  const script = grubBootCountingScript();

  it('counts down from every value loaderBoot counts, with no decrement command', () => {
    expect(script).not.toMatch(/\b(increment|decrement)\b/);
    for (let n = 1; n <= MAX_BOOT_TRIES; n++) {
      expect(script).toContain(`elif [ "\${boot_counter}" = "${n}" ]; then\n    set boot_counter=${n - 1}\n`);
      expect(loaderBoot(new Map([['boot_counter', String(n)], ['boot_success', '0']])).env.get('boot_counter')).toBe(String(n - 1));
    }
    expect(script).toMatch(/= "0" -o "\$\{boot_counter\}" = "-1" \]; then\n {4}set default=1\n {4}set boot_counter=-1/);
    expect(script).toContain('save_env -f "${prefix}/grubenv" boot_counter');
  });

});
