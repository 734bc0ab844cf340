/**
 * What the health checks found, kept where every deployment sees it: SYSROOT/ostree/apt-ostree/
 * health.json (on the running system /sysroot/ostree/…, outside any deployment, so that the
 * previous deployment reads what the failed one wrote before GRUB fell back).
 *
 *   last-check   the checks of the latest boot that ran them: which deployment, when, each
 *                check's status and output
 *   fallbacks    each fallback (newest last, the last MAX_FALLBACKS kept): the deployment that
 *                failed, its base commit, the check that failed and its output (or that it never
 *                got as far as its checks), what became the default
 *
 * `status` shows it (`health` in --json); the automatic update refuses the base commits of the
 * fallbacks (refusedBases) until a newer one is published. Validated with zod on read: a damaged
 * file is reported, never trusted.
 */
import { replaceFile } from '../../layout/files.js';
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { AptOstreeError } from '../../errors.js';
import { healthRecordPath } from '../state-paths.js';
import type { CheckResult } from './checks.js';

export const MAX_FALLBACKS = 10;

interface DeploymentRef {
  osname: string;
  /** checksum.serial */
  deployment: string;
  checksum: string;
  'base-checksum': string;
  version: string;
}

export interface LastCheck extends DeploymentRef {
  /** ISO 8601. */
  time: string;
  'boot-id'?: string;
  passed: boolean;
  checks: CheckResult[];
}

export interface FallbackRecord extends DeploymentRef {
  time: string;
  /** failed-check: its checks failed (the check below); no-check-result: it never ran them (a panic, a hang). */
  reason: 'failed-check' | 'no-check-result';
  'failed-check'?: string;
  output?: string;
  /** The deployment that is the default again (checksum.serial). */
  'rolled-back-to': string;
  'rolled-back-to-version': string;
}

export interface HealthRecord {
  'last-check'?: LastCheck;
  fallbacks: FallbackRecord[];
}

let schema: Zod.ZodType<HealthRecord> | undefined;

/** The file's zod schema, built on first use (status reads the file on every run; most systems have none). */
function recordSchema(): Zod.ZodType<HealthRecord> {
  if (schema) return schema;
  const { z } = createRequire(import.meta.url)('zod') as typeof Zod;
  const sha = z.string().regex(/^[0-9a-f]{64}$/);
  const ref = { osname: z.string(), deployment: z.string().regex(/^[0-9a-f]{64}\.\d+$/), checksum: sha, 'base-checksum': sha, version: z.string() };
  const check = z.object({
    name: z.string(), path: z.string(), kind: z.enum(['program', 'units']), status: z.enum(['passed', 'failed', 'timed-out']),
    'exit-code': z.number().int().optional(), signal: z.string().optional(), output: z.string(), truncated: z.boolean().optional(), seconds: z.number(),
  });
  schema = z.object({
    'last-check': z.object({ ...ref, time: z.string(), 'boot-id': z.string().optional(), passed: z.boolean(), checks: z.array(check) }).optional(),
    fallbacks: z.array(z.object({
      ...ref, time: z.string(), reason: z.enum(['failed-check', 'no-check-result']), 'failed-check': z.string().optional(), output: z.string().optional(),
      'rolled-back-to': z.string().regex(/^[0-9a-f]{64}\.\d+$/), 'rolled-back-to-version': z.string(),
    })).default([]),
  }) as unknown as Zod.ZodType<HealthRecord>;
  return schema;
}

/** The record of a sysroot, or what is wrong with its file. */
function parseHealthRecord(path: string): { record: HealthRecord } | { damage: string; cause?: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { record: { fallbacks: [] } };
    return { damage: `Cannot read the health record ${path}: ${(e as Error).message}.`, cause: e };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = recordSchema().safeParse(json);
  if (parsed.success) return { record: parsed.data };
  const issue = parsed.error.issues[0];
  return { damage: `The health record ${path} is damaged${json === undefined ? ' (not JSON)' : issue ? ` (${issue.path.join('.') || 'top level'}: ${issue.message})` : ''}.` };
}

/** The record of a sysroot; empty when there is none. A file that does not validate is an error naming it. */
export function readHealthRecord(sysrootPath: string): HealthRecord {
  const r = parseHealthRecord(healthRecordPath(sysrootPath));
  if ('record' in r) return r.record;
  throw new AptOstreeError(r.damage, {
    cause: r.cause,
    hint: 'Remove it (`apt-ostree health-check` writes a new one at the next boot); the fallbacks it recorded are then forgotten.',
  });
}

/**
 * The record as the boot's assessment reads it: a damaged file must not keep a healthy boot from
 * being marked good (GRUB would fall back from it), so it is set aside as health.json.damaged
 * (replacing an older one), `warn` is told, and the record starts afresh. With setAside false
 * (outside the lock) a damaged record reads as empty and the file stays.
 */
export function readHealthRecordForBoot(sysrootPath: string, opts: { setAside: boolean; warn?: (message: string) => void }): HealthRecord {
  const path = healthRecordPath(sysrootPath);
  const r = parseHealthRecord(path);
  if ('record' in r) return r.record;
  if (!opts.setAside) return { fallbacks: [] };
  const aside = `${path}.damaged`;
  rmSync(aside, { recursive: true, force: true });
  renameSync(path, aside);
  opts.warn?.(`${r.damage.replace(/\.$/, '')}; set it aside as ${aside} and started a new record (the fallbacks it held are no longer refused by the automatic update)`);
  return { fallbacks: [] };
}

/** Replace the record atomically. */
export function writeHealthRecord(sysrootPath: string, record: HealthRecord): void {
  replaceFile(healthRecordPath(sysrootPath), JSON.stringify(recordSchema().parse(record), null, 2) + '\n');
}

export function addFallback(record: HealthRecord, f: FallbackRecord): HealthRecord {
  return { ...record, fallbacks: [...record.fallbacks, f].slice(-MAX_FALLBACKS) };
}

/**
 * Base commits the automatic update must not stage again: those a deployment fell back from.
 * A newer commit on the ref is a new candidate (the refusal is by checksum).
 */
export function refusedBases(record: HealthRecord): Map<string, FallbackRecord> {
  return new Map(record.fallbacks.map((f) => [f['base-checksum'], f]));
}

/** One line about a fallback, for status and the refusal message. */
export function describeFallback(f: FallbackRecord): string {
  const what = `${f.version || 'no version'} (${f.deployment.slice(0, 12)}.${f.deployment.split('.')[1]})`;
  const why = f.reason === 'failed-check' ? `failed its health check ${f['failed-check'] ?? '(unknown)'}` : 'never reached its health checks';
  return `${what} ${why}; back on ${f['rolled-back-to-version'] || f['rolled-back-to'].slice(0, 12)} since ${f.time}`;
}
