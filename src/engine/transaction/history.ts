/**
 * The transaction history (`apt-ostree history`, rpm-ostree's `ex history`): one record per
 * transaction, written by Transaction.run when it ends, whatever the outcome. Kept in
 * SYSROOT/ostree/apt-ostree/history.jsonl, outside every deployment, so that upgrades,
 * rollbacks and fallbacks all see the same list: one JSON object (ENTRY) a line, oldest first.
 *
 * ENTRY: when it started (ISO 8601) and how long it took, the command line, who ran it
 * (`user`: SUDO_USER or the process's user; `trigger`: command, timer or boot), the deployment
 * the next boot would start before and after (`from`, `to`), the packages that changed between
 * their commits (from the commits' package lists; at most MAX_PACKAGE_NAMES names, the rest
 * counted), and the outcome with its error. Bounded: at most MAX_BYTES (appendHistory), which
 * holds some 5,000 transactions of a few changed packages, or ~300 with MAX_PACKAGE_NAMES each.
 *
 * Reads the boot order itself from ostree's files (ostree/), not through engine/deployments
 * (above this part of the stack): only what the record needs.
 */
import { replaceFile } from '../../layout/files.js';
import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { META } from '../../layout/commit-metadata.js';
import { readBootEntries } from '../../ostree/boot-entry.js';
import { metadataString, readCommit } from '../../ostree/commit.js';
import { readGVariant, vardictToObject } from '../../ostree/gvariant.js';
import { historyPath } from '../state-paths.js';

/** The file's size limit: trimmed to half of it once over (appendHistory). */
export const MAX_BYTES = 2_000_000;
export const MAX_PACKAGE_NAMES = 100;

export interface HistoryDeployment {
  osname: string;
  /** checksum.serial */
  deployment: string;
  checksum: string;
  version: string;
  /** Staged on the running system (finalized at shutdown), not yet in the boot order. */
  staged?: boolean;
}

export interface HistoryPackages {
  /** NAME VERSION (arch left out: one package list per architecture is the norm). */
  added: string[];
  removed: string[];
  /** NAME OLD→NEW */
  changed: string[];
  /** Names left out beyond MAX_PACKAGE_NAMES. */
  omitted?: number;
}

export type HistoryOutcome = 'succeeded' | 'failed' | 'cancelled';

export interface HistoryEntry {
  /** ISO 8601, when the transaction started (after the lock was taken). */
  start: string;
  'duration-seconds': number;
  /** The command line as typed. */
  command: string;
  title: string;
  user: string;
  trigger: 'command' | 'timer' | 'boot';
  /** What the next boot started before and after (undefined: no deployment). */
  from?: HistoryDeployment;
  to?: HistoryDeployment;
  /** Undefined when from and to are the same commit or a commit has no package list. */
  packages?: HistoryPackages;
  outcome: HistoryOutcome;
  error?: string;
}

/**
 * The entries, oldest first; none when there is no file. A line that does not parse (a run
 * killed while it appended) is left out and counted in `damaged`: it is history, not state.
 */
export function readHistory(sysrootPath: string): { entries: HistoryEntry[]; damaged?: string } {
  let text: string;
  try {
    text = readFileSync(historyPath(sysrootPath), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [] };
    return { entries: [], damaged: (e as Error).message };
  }
  const entries: HistoryEntry[] = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      e = undefined;
    }
    if (isEntry(e)) entries.push(e);
    else bad++;
  }
  return bad ? { entries, damaged: `${bad} line${bad === 1 ? '' : 's'} that ${bad === 1 ? 'is' : 'are'} not a history entry, left out` } : { entries };
}

function isEntry(e: unknown): e is HistoryEntry {
  const o = e as Partial<HistoryEntry>;
  return typeof o?.start === 'string' && typeof o.command === 'string' && typeof o.outcome === 'string';
}

/**
 * Add an entry: one line appended (a transaction pays for its own entry, not for the whole
 * history). Once the file is over MAX_BYTES, it is replaced atomically by its newest entries up
 * to half of that, so it never holds more than MAX_BYTES and one entry.
 */
export function appendHistory(sysrootPath: string, entry: HistoryEntry): void {
  const path = historyPath(sysrootPath);
  mkdirSync(dirname(path), { recursive: true });
  // After a line cut short by a killed run, start a new line: the cut one stays alone, left out.
  appendFileSync(path, (endsMidLine(path) ? '\n' : '') + JSON.stringify(entry) + '\n', { mode: 0o644 });
  if (statSync(path).size <= MAX_BYTES) return;
  const lines = readHistory(sysrootPath).entries.map((e) => JSON.stringify(e) + '\n');
  let kept = 0;
  let bytes = 0;
  while (kept < lines.length && bytes + Buffer.byteLength(lines[lines.length - 1 - kept]!) <= MAX_BYTES / 2) bytes += Buffer.byteLength(lines[lines.length - 1 - kept++]!);
  replaceFile(path, lines.slice(lines.length - kept).join(''));
}

function endsMidLine(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Who started the transaction: the user behind sudo or pkexec, else the process's own. */
export function invokingUser(): string {
  if (process.env.SUDO_USER) return process.env.SUDO_USER;
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/** The timer's unit runs `upgrade --trigger-automatic-update-policy`; the boot's `health-check --boot`. */
export function triggerOf(command: string): HistoryEntry['trigger'] {
  if (/(^|\s)--trigger-automatic-update-policy(\s|$)/.test(command)) return 'timer';
  if (/(^|\s)health-check(\s.*)?\s--boot(\s|$)/.test(command)) return 'boot';
  return 'command';
}

/**
 * The deployment the next boot starts: the staged one on the running system (ostree's record
 * in /run), else the first of the boot order. Undefined when there is none or it cannot be read.
 */
export function nextBootDeployment(sysrootPath: string): HistoryDeployment | undefined {
  const root = resolve(sysrootPath);
  try {
    const staged = root === '/' ? stagedDeploymentName() : undefined;
    if (staged) return describe(root, staged.osname, staged.name, true);
    const first = readBootEntries(root)[0];
    const arg = first?.options.split(/\s+/).find((o) => o.startsWith('ostree='));
    if (!arg) return undefined;
    const link = join(root, arg.slice('ostree='.length));
    const dir = resolve(dirname(link), readlinkSync(link));
    return describe(root, basename(resolve(dir, '..', '..')), basename(dir), false);
  } catch {
    return undefined;
  }
}

function stagedDeploymentName(): { osname: string; name: string } | undefined {
  if (!existsSync('/run/ostree/staged-deployment')) return undefined;
  const staged = vardictToObject(readGVariant('a{sv}', readFileSync('/run/ostree/staged-deployment')));
  const t = vardictToObject(staged.target ?? null);
  return typeof t.name === 'string' && typeof t.osname === 'string' ? { osname: t.osname, name: t.name } : undefined;
}

function describe(root: string, osname: string, name: string, staged: boolean): HistoryDeployment | undefined {
  const m = /^([0-9a-f]{64})\.\d+$/.exec(name);
  if (!m) return undefined;
  let version = '';
  try {
    version = metadataString(readCommit(join(root, 'ostree', 'repo'), m[1]!), 'version') ?? '';
  } catch {
    /* the commit is gone (pruned): the checksum says enough */
  }
  return { osname, deployment: name, checksum: m[1]!, version, ...(staged ? { staged } : {}) };
}

/** The package changes between two commits, from their package lists; undefined when either has none. */
export function packageChanges(sysrootPath: string, from: string, to: string): HistoryPackages | undefined {
  if (from === to) return undefined;
  const repo = join(resolve(sysrootPath), 'ostree', 'repo');
  const a = pkglist(repo, from);
  const b = pkglist(repo, to);
  if (!a || !b) return undefined;
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [name, version] of b) {
    const old = a.get(name);
    if (old === undefined) added.push(`${name} ${version}`);
    else if (old !== version) changed.push(`${name} ${old}→${version}`);
  }
  for (const [name, version] of a) if (!b.has(name)) removed.push(`${name} ${version}`);
  // Bounded: an upgrade of a whole release changes every package.
  let budget = MAX_PACKAGE_NAMES;
  const take = (list: string[]) => {
    const kept = list.slice(0, Math.max(0, budget));
    budget -= kept.length;
    return kept;
  };
  const total = added.length + removed.length + changed.length;
  const out: HistoryPackages = { changed: take(changed), added: take(added), removed: take(removed) };
  if (total > MAX_PACKAGE_NAMES) out.omitted = total - MAX_PACKAGE_NAMES;
  return out;
}

/** NAME (NAME:ARCH for a foreign architecture, the native one being the most common) → version. */
function pkglist(repo: string, checksum: string): Map<string, string> | undefined {
  let value;
  try {
    value = readCommit(repo, checksum).metadata[META.pkglist];
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  const out = new Map<string, string>();
  const arches = new Map<string, number>();
  for (const t of value) if (Array.isArray(t)) arches.set(String(t[2]), (arches.get(String(t[2])) ?? 0) + 1);
  const native = [...arches].filter(([a]) => a !== 'all').sort((x, y) => y[1] - x[1])[0]?.[0];
  for (const t of value) {
    if (!Array.isArray(t) || t.length !== 3) return undefined;
    const [name, version, arch] = t.map(String) as [string, string, string];
    out.set(arch === native || arch === 'all' ? name : `${name}:${arch}`, version);
  }
  return out;
}
