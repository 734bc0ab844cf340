/**
 * Boot counting with GRUB's environment block, in the scheme of Fedora's greenboot
 * (greenboot's grub2/08_greenboot.cfg and greenboot-grub2-set-{counter,success}), so that the
 * boot loader itself counts and falls back, whatever happens to the system it starts:
 *
 *   boot_counter   unset: nothing is counted (the default deployment is known good)
 *                  N >= 0: tries left for the default deployment
 *                  -1: the tries ran out; GRUB booted entry 1, the previous deployment
 *   boot_success   0 while the current boot has not passed its checks, 1 once it has
 *
 *   new default deployed   arm: boot_counter=TRIES, boot_success=0
 *   GRUB, every boot       counting (boot_counter set, boot_success=0): 0 or -1 → default=1,
 *                          boot_counter=-1; N → N-1 (save_env); booting N-1 uses a try
 *   checks pass            markGood: boot_success=1, boot_counter unset
 *   checks fail            nothing is written: the next boot uses another try (at once when
 *                          [Health] RebootOnFailure is true and tries are left)
 *   fallen back            boot_counter=-1 and the booted deployment is not the default: the
 *                          system rolls back (boot.ts), then boot_counter is unset
 *
 * Debian's GRUB has no `increment`/`decrement` commands (Fedora patches), so the GRUB side
 * (grubBootCountingScript) counts down with a plain chain of `elif`s, one for each value up to
 * MAX_BOOT_TRIES. This module is pure: the files are read and written by the callers.
 */
import type { GrubEnv } from './grubenv.js';

export const BOOT_COUNTER = 'boot_counter';
export const BOOT_SUCCESS = 'boot_success';
/** The most tries a deployment can be given ([Health] BootTries): the GRUB script counts down from it. */
export const MAX_BOOT_TRIES = 10;

export type CountingState =
  /** Nothing counted: no new deployment waits for its checks. */
  | { kind: 'idle' }
  /** A new default deployment is on trial; `left` more boots of it will be tried after this one's. */
  | { kind: 'counting'; left: number; success: boolean }
  /** GRUB ran out of tries and booted the previous deployment. */
  | { kind: 'fallen-back' }
  /** boot_counter holds something GRUB's script does not count (it falls back on it). */
  | { kind: 'invalid'; value: string };

export function countingState(env: GrubEnv): CountingState {
  const counter = env.get(BOOT_COUNTER);
  if (counter === undefined) return { kind: 'idle' };
  if (counter === '-1') return { kind: 'fallen-back' };
  if (/^(0|[1-9][0-9]*)$/.test(counter) && Number(counter) <= MAX_BOOT_TRIES) {
    return { kind: 'counting', left: Number(counter), success: env.get(BOOT_SUCCESS) === '1' };
  }
  return { kind: 'invalid', value: counter };
}

function withVars(env: GrubEnv, set: Record<string, string | undefined>): GrubEnv {
  const next = new Map(env);
  for (const [k, v] of Object.entries(set)) {
    if (v === undefined) next.delete(k);
    else next.set(k, v);
  }
  return next;
}

/** A new default deployment gets `tries` boots to pass its checks. */
export function armCounter(env: GrubEnv, tries: number): GrubEnv {
  if (!Number.isInteger(tries) || tries < 1 || tries > MAX_BOOT_TRIES) throw new RangeError(`tries must be 1 to ${MAX_BOOT_TRIES}, not ${tries}`);
  return withVars(env, { [BOOT_COUNTER]: String(tries), [BOOT_SUCCESS]: '0' });
}

/** The checks of this boot passed: the default deployment is good, nothing is counted any more. */
export function markGood(env: GrubEnv): GrubEnv {
  return withVars(env, { [BOOT_COUNTER]: undefined, [BOOT_SUCCESS]: '1' });
}

/** After the fallback was handled (rolled back, recorded): stop counting; the previous deployment is the default again. */
export function clearFallback(env: GrubEnv): GrubEnv {
  return withVars(env, { [BOOT_COUNTER]: undefined });
}

/**
 * What GRUB does at the start of every boot (grubBootCountingScript, as a model for the tests):
 * the entry it boots (0 the default, 1 the previous deployment) and the block it saves.
 */
export function loaderBoot(env: GrubEnv): { entry: 0 | 1; env: GrubEnv } {
  const counter = env.get(BOOT_COUNTER);
  if (counter === undefined || counter === '' || env.get(BOOT_SUCCESS) !== '0') return { entry: 0, env };
  const n = /^[0-9]+$/.test(counter) ? Number(counter) : NaN;
  if (Number.isInteger(n) && n >= 1 && n <= MAX_BOOT_TRIES) return { entry: 0, env: withVars(env, { [BOOT_COUNTER]: String(n - 1) }) };
  return { entry: 1, env: withVars(env, { [BOOT_COUNTER]: '-1' }) };
}

export type CheckOutcome = { passed: true } | { passed: false };

/** What the health-check unit does after this boot's checks, given the block and who booted. */
export type BootDecision =
  /** Passed: write markGood. */
  | { action: 'mark-good' }
  /** Failed on a deployment on trial with tries left: reboot now (RebootOnFailure) to use the next one. */
  | { action: 'reboot'; left: number }
  /** Failed, and the boot stays up: nothing is counted (a known-good system whose check failed), the admin asked for no reboot, or this is the fallback boot already. */
  | { action: 'report'; why: 'not-counting' | 'no-reboot' | 'fallen-back' };

export function decideAfterChecks(state: CountingState, outcome: CheckOutcome, opts: { rebootOnFailure: boolean }): BootDecision {
  if (outcome.passed) return { action: 'mark-good' };
  if (state.kind === 'idle' || state.kind === 'invalid') return { action: 'report', why: 'not-counting' };
  if (state.kind === 'fallen-back') return { action: 'report', why: 'fallen-back' };
  if (!opts.rebootOnFailure) return { action: 'report', why: 'no-reboot' };
  // left is what GRUB has not used yet: 0 means the next boot falls back, which a reboot reaches too.
  return { action: 'reboot', left: state.left };
}

/**
 * Did GRUB fall back on this boot? The block says the tries ran out and the booted deployment
 * is not the default one (after a rollback it is, and then the fallback was handled already).
 */
export function isFallbackBoot(state: CountingState, opts: { bootedIsDefault: boolean }): boolean {
  return state.kind === 'fallen-back' && !opts.bootedIsDefault;
}

/**
 * The GRUB script that counts: after the header that sets `default`, before the menu entries.
 * Uses load_env/save_env (module loadenv) and `[` (module test), which Debian's GRUB has on
 * both i386-pc and x86_64-efi; counts down without Fedora's `decrement`.
 */
export function grubBootCountingScript(maxTries = MAX_BOOT_TRIES): string {
  const chain: string[] = [];
  for (let n = maxTries; n >= 1; n--) chain.push(`  elif [ "\${${BOOT_COUNTER}}" = "${n}" ]; then\n    set ${BOOT_COUNTER}=${n - 1}`);
  return [
    `# apt-ostree boot counting (apt-ostree.conf(5), [Health]): while a new default deployment is on`,
    `# trial, every boot uses one of its tries; when none is left, boot entry 1, the previous`,
    `# deployment. ${BOOT_COUNTER} and ${BOOT_SUCCESS} live in \${prefix}/grubenv; \`apt-ostree health-check\``,
    `# sets them from the running system. Generated by apt-ostree (do not edit).`,
    `insmod loadenv`,
    `insmod test`,
    `if [ -s "\${prefix}/grubenv" ]; then`,
    `  load_env -f "\${prefix}/grubenv" ${BOOT_COUNTER} ${BOOT_SUCCESS}`,
    `fi`,
    `if [ -n "\${${BOOT_COUNTER}}" -a "\${${BOOT_SUCCESS}}" = "0" ]; then`,
    `  if [ "\${${BOOT_COUNTER}}" = "0" -o "\${${BOOT_COUNTER}}" = "-1" ]; then`,
    `    set default=1`,
    `    set ${BOOT_COUNTER}=-1`,
    ...chain,
    `  else`,
    `    # A value this script does not count: do not try the new deployment forever.`,
    `    set default=1`,
    `    set ${BOOT_COUNTER}=-1`,
    `  fi`,
    `  save_env -f "\${prefix}/grubenv" ${BOOT_COUNTER}`,
    `fi`,
    '',
  ].join('\n');
}
