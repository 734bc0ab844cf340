/**
 * GRUB's script parser, as `grub-script-check` (package grub-common) runs it: whether GRUB can
 * read a grub.cfg. The menu apt-ostree's generator writes (data/grub/grub-mkconfig-ostree) is
 * checked by the generator itself before it replaces the old one (ostree runs it, not we); this
 * module runs the same check for what the engine wants to know before it writes anything, and
 * turns the generator's refusal into apt-ostree's error.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AptOstreeError, ToolError } from '../errors.js';
import { run } from './run.js';

let available: boolean | undefined;

/** Is grub-script-check installed? (grub-common is only recommended by the package.) Asked once per run. */
export async function hasGrubScriptCheck(): Promise<boolean> {
  if (available === undefined) {
    try {
      await run('grub-script-check', ['--version']);
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

/** What grub-script-check says is wrong with FILE (its last lines), or undefined when GRUB reads it. */
export async function grubScriptProblem(file: string): Promise<string | undefined> {
  try {
    await run('grub-script-check', [file], { what: `grub-script-check ${file}` });
    return undefined;
  } catch (e) {
    if (!(e instanceof ToolError) || e.exitStatus === undefined) throw e;
    return e.stderr.split('\n').map((l) => l.trim()).filter(Boolean).slice(-2).join('; ') || `exit ${e.exitStatus}`;
  }
}

/** grubScriptProblem of a piece of GRUB script given as text (written to a temporary file). */
export async function grubScriptTextProblem(text: string): Promise<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'apt-ostree-grub-'));
  try {
    const file = join(dir, 'check.cfg');
    writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
    return await grubScriptProblem(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The line data/grub/grub-mkconfig-ostree writes when grub-script-check refused the menu it made. */
const GENERATOR_REFUSAL = /^apt-ostree: (grub-script-check refused the new GRUB menu .*)$/m;

/**
 * Where the generator writes why it refused a menu (APT_OSTREE_GRUB_REFUSAL): ostree keeps its
 * child's stderr to itself and says only "Child process exited with code 1".
 */
export const GRUB_REFUSAL_FILE = join(tmpdir(), `apt-ostree-grub-refusal-${process.pid}`);

/** Throw E as refusedGrubMenu says it, or as it is. */
export function rethrowRefusedGrubMenu(e: unknown): never {
  throw refusedGrubMenu(e) ?? e;
}

/**
 * An `ostree admin` failure caused by the generator's refusal of the menu it made, as
 * apt-ostree's error; else undefined.
 */
export function refusedGrubMenu(e: unknown): AptOstreeError | undefined {
  if (!(e instanceof ToolError)) return undefined;
  let text = e.stderr;
  try {
    text += `\n${readFileSync(GRUB_REFUSAL_FILE, 'utf8')}`;
    rmSync(GRUB_REFUSAL_FILE, { force: true });
  } catch {
    /* no refusal written: another failure */
  }
  const m = GENERATOR_REFUSAL.exec(text);
  if (!m) return undefined;
  return new AptOstreeError(`The boot menu was not changed: ${m[1]}.`, {
    hint:
      'Look for characters GRUB reads as syntax in the kernel arguments (`apt-ostree kargs`), in an older deployment\'s entry under /boot/loader/entries (fix its options line, or remove that deployment with `ostree admin undeploy INDEX`), or in the name of the image (PRETTY_NAME in its /usr/lib/os-release).',
    detail: e.detail,
    cause: e,
  });
}
