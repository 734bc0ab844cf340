/** Typed wrappers around the `ostree` command line (2022.7 and newer): the only module that runs it. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AptOstreeError, ToolError } from '../errors.js';
import { resolveRefFile } from '../ostree/refs.js';
import { listCommitDir, readCommitFile } from '../ostree/tree.js';
import { GRUB_REFUSAL_FILE, rethrowRefusedGrubMenu } from './grub-script.js';
import { run, type RunOptions } from './run.js';
import { watchForStall, type StallWatch } from './stall-watch.js';

export type MetaValue = string | boolean | number | string[] | Array<string[]>;

/** Serialize a metadata value in GVariant text format for `ostree commit --add-metadata`. */
function gvariantText(v: MetaValue): string {
  const str = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'string') return str(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return `uint64 ${Math.trunc(v)}`;
  if (v.length === 0) return '@as []';
  if (Array.isArray(v[0])) {
    const tuples = v as string[][];
    return `[${tuples.map((t) => `(${t.map(str).join(', ')})`).join(', ')}]`;
  }
  return `[${(v as string[]).map(str).join(', ')}]`;
}

export interface CommitOptions {
  repo: string;
  branch?: string;
  /**
   * A commit whose tree `tree` is laid over (`--tree=ref=`): its directories are reused by
   * checksum, only what `tree` holds is read. Nothing of it can be removed this way.
   */
  baseTree?: string;
  tree: string;
  subject?: string;
  body?: string;
  parent?: string | 'none';
  metadata?: Record<string, MetaValue>;
  /** The tree is a hardlinked checkout: reuse the repository objects instead of re-hashing. */
  linkCheckoutSpeedup?: boolean;
  /**
   * Stronger: trust that hardlinked files are unmodified objects (ostree -I). Only for trees
   * where nothing wrote through a hardlink (our overlay guarantees it).
   */
  devinoCanonical?: boolean;
  /** Delete the tree's files as they are committed (saves copying on the same filesystem). */
  consume?: boolean;
  timestamp?: Date;
  /** Set every file's ownership/permissions (not used for OS trees). */
  extraArgs?: string[];
  /** Sign the commit as it is written (ostree signs before it moves the ref). */
  sign?: SignOptions;
  /**
   * Bind the commit to `branch` (ostree.ref-binding, and ostree.collection-binding where the
   * repository has a collection id): for commits that clients pull, which then refuse it under
   * another ref (engine/deployments/ref-binding.ts). Otherwise --no-bindings: layered commits
   * made on the client (aptostree/* refs) are never pulled, and their refs come and go.
   */
  bindToBranch?: boolean;
}

/** How a commit or a summary is signed: GPG key ids in a home directory, or an ed25519 secret key file. */
export interface SignOptions {
  gpgKeyIds?: string[];
  gpgHomedir?: string;
  /** A file holding base64 ed25519 secret keys, one a line (ostree's --keys-file). */
  ed25519KeyFile?: string;
}

/** ostree's signing options for commit and summary. */
export function signArgs(sign: SignOptions | undefined): string[] {
  if (!sign) return [];
  const args = (sign.gpgKeyIds ?? []).map((k) => `--gpg-sign=${k}`);
  if (args.length && sign.gpgHomedir) args.push(`--gpg-homedir=${sign.gpgHomedir}`);
  if (sign.ed25519KeyFile) args.push('--sign-type=ed25519', `--sign-from-file=${sign.ed25519KeyFile}`);
  return args;
}

export async function commit(opts: CommitOptions, runOpts: RunOptions = {}): Promise<string> {
  if (opts.bindToBranch && !opts.branch) throw new Error('ostree.commit: bindToBranch needs a branch');
  const args = [`--repo=${opts.repo}`, 'commit', ...(opts.bindToBranch ? [] : ['--no-bindings'])];
  if (opts.baseTree) {
    // ostree reuses the base's trees only when no commit modifier is set (options that filter
    // or rewrite files, --devino-canonical and --consume among them).
    if (opts.devinoCanonical || opts.linkCheckoutSpeedup || opts.consume || opts.extraArgs?.length) {
      throw new Error('ostree.commit: baseTree cannot be combined with options that make a commit modifier');
    }
    args.push(`--tree=ref=${opts.baseTree}`);
  }
  args.push(`--tree=dir=${opts.tree}`);
  if (opts.branch) args.push(`--branch=${opts.branch}`);
  else args.push('--orphan');
  args.push(`--subject=${opts.subject ?? ''}`);
  if (opts.body) args.push(`--body=${opts.body}`);
  if (opts.parent) args.push(`--parent=${opts.parent}`);
  if (opts.devinoCanonical) args.push('--devino-canonical');
  else if (opts.linkCheckoutSpeedup) args.push('--link-checkout-speedup');
  if (opts.consume) args.push('--consume');
  if (opts.timestamp) args.push(`--timestamp=${opts.timestamp.toISOString()}`);
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    args.push(typeof v === 'string' ? `--add-metadata-string=${k}=${v}` : `--add-metadata=${k}=${gvariantText(v)}`);
  }
  args.push(...(opts.extraArgs ?? []), ...signArgs(opts.sign));
  const { stdout } = await run('ostree', args, { what: 'ostree commit', ...runOpts });
  return stdout.trim();
}

export async function checkout(repo: string, rev: string, dest: string, opts: { hardlink?: boolean; subpath?: string } = {}, runOpts: RunOptions = {}): Promise<void> {
  const args = [`--repo=${repo}`, 'checkout'];
  if (opts.hardlink) args.push('--require-hardlinks');
  else args.push('--force-copy');
  if (opts.subpath) args.push(`--subpath=${opts.subpath}`);
  args.push(rev, dest);
  await run('ostree', args, { what: `ostree checkout of ${rev.slice(0, 12)}`, ...runOpts });
}

export async function revParse(repo: string, rev: string, runOpts: RunOptions = {}): Promise<string | undefined> {
  // A plain ref is a file under refs/ holding the checksum: read it instead of starting ostree.
  // Anything else (checksum prefixes, `ref^`, a ref found only on some remote) asks ostree.
  const checksum = resolveRefFile(repo, rev);
  if (checksum) return checksum;
  try {
    const { stdout } = await run('ostree', [`--repo=${repo}`, 'rev-parse', rev], runOpts);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** One line of `ostree diff`: a path added (A), modified (M: content or metadata) or deleted (D). */
export interface TreeDiffEntry {
  kind: 'A' | 'M' | 'D';
  /** Absolute path in the tree ('/usr/bin/x'). A deleted directory is one entry; an added one lists its content too. */
  path: string;
}

/** `ostree diff FROM TO`: what changed between two commits, in ostree's order. */
export async function diff(repo: string, from: string, to: string, runOpts: RunOptions = {}): Promise<TreeDiffEntry[]> {
  const { stdout } = await run('ostree', [`--repo=${repo}`, 'diff', from, to], { what: `ostree diff ${from.slice(0, 12)} ${to.slice(0, 12)}`, ...runOpts });
  return parseDiff(stdout);
}

export function parseDiff(text: string): TreeDiffEntry[] {
  const out: TreeDiffEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([AMD])\s+(\/.*)$/.exec(line);
    if (m) out.push({ kind: m[1] as TreeDiffEntry['kind'], path: m[2]! });
  }
  return out;
}

export async function initRepo(repo: string, mode: 'bare' | 'archive' | 'bare-user' = 'archive'): Promise<void> {
  await run('ostree', [`--repo=${repo}`, 'init', `--mode=${mode}`], { what: `ostree init of ${repo}` });
}

export async function setRef(repo: string, ref: string, checksum: string | null, runOpts: RunOptions = {}): Promise<void> {
  const args = [`--repo=${repo}`, 'refs'];
  if (checksum) args.push('--force', `--create=${ref}`, checksum);
  else args.push('--delete', ref);
  await run('ostree', args, { what: `ostree refs ${ref}`, ...runOpts });
}

export async function listRefs(repo: string, prefix?: string): Promise<string[]> {
  const { stdout } = await run('ostree', [`--repo=${repo}`, 'refs', ...(prefix ? [prefix] : [])]);
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

export interface PullOptions {
  repo: string;
  remote: string;
  refs: string[];
  depth?: number;
  localRepo?: string;
  onLine?: RunOptions['onLine'];
  signal?: AbortSignal;
  commitOnly?: boolean;
  /** DownloadTimeout: a transfer that gets (almost) no data for this long fails. Needs ostree 2023.7; ignored before. */
  timeoutSeconds?: number;
}

export async function pull(opts: PullOptions): Promise<void> {
  const args = await pullArgs(opts);
  const what = `ostree pull from ${opts.localRepo ?? opts.remote}`;
  // Where ostree has no stall timeout of its own (before 2023.7), apt-ostree's (stall-watch.ts).
  const timeout = opts.timeoutSeconds;
  if (opts.localRepo || timeout === undefined || (await hasPullLowSpeedOptions())) {
    await run('ostree', args, { what, onLine: opts.onLine, signal: opts.signal });
    return;
  }
  const stop = new AbortController();
  let stalled = false;
  let watch: StallWatch | undefined;
  try {
    await run('ostree', args, {
      what,
      signal: opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal,
      onSpawn: (pid) => {
        watch = watchForStall(pid, timeout, () => {
          stalled = true;
          stop.abort();
        });
      },
      onLine: (line, stream) => {
        watch?.activity();
        opts.onLine?.(line, stream);
      },
    });
  } catch (e) {
    if (!stalled || opts.signal?.aborted) throw e;
    const url = await remoteUrl(opts.repo, opts.remote);
    throw new AptOstreeError(`The pull from the remote ${opts.remote}${url ? ` (${url})` : ''} received no data for ${timeout} seconds and was stopped ([Daemon] DownloadTimeout).`, {
      hint: 'Check that the server answers (and the network in between), then try again; the objects already fetched are kept.',
      cause: e,
    });
  } finally {
    watch?.stop();
  }
}

/** What the installed ostree can do that changes a pull's command line; asked of it when not given. */
export interface PullSupport {
  lowSpeedOptions?: boolean;
  staticDeltas?: boolean;
}

/** The command line of `pull`. */
export async function pullArgs(opts: PullOptions, support: PullSupport = {}): Promise<string[]> {
  const args = [`--repo=${opts.repo}`];
  const depth = opts.depth !== undefined ? [`--depth=${opts.depth}`] : [];
  if (opts.localRepo) return [...args, 'pull-local', ...depth, opts.localRepo, ...opts.refs];
  args.push('pull', ...depth, ...(opts.commitOnly ? ['--commit-metadata-only'] : []));
  if (!(support.staticDeltas ?? staticDeltasPayOff(await ostreeVersion()))) args.push('--disable-static-deltas');
  if (opts.timeoutSeconds !== undefined && (support.lowSpeedOptions ?? (await hasPullLowSpeedOptions()))) {
    // libcurl's low-speed abort: under 1 byte/s on average over the time, i.e. nothing arrives.
    args.push('--low-speed-limit-bytes=1', `--low-speed-time-seconds=${Math.trunc(opts.timeoutSeconds)}`);
  }
  return [...args, opts.remote, ...opts.refs];
}

/**
 * Does a pull through a static delta move fewer bytes than an object pull with this ostree?
 * Before 2023.7 ostree fetches the delta and most of the changed objects loose as well (its bug
 * #2053, fixed by commit fc5aef6f): ~1.5 x the bytes of an object pull in bench/deltas.mjs, where
 * 2023.7 and later move ~0.54 x. An unknown version is taken as a current one.
 */
export function staticDeltasPayOff(version: string | undefined): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return true;
  const [year, release] = [Number(m[1]), Number(m[2])];
  return year > 2023 || (year === 2023 && release >= 7);
}

let lowSpeedSupport: boolean | undefined;

/** Does this `ostree pull` take --low-speed-time-seconds (2023.7 and newer)? Checked once per run. */
export async function hasPullLowSpeedOptions(): Promise<boolean> {
  if (lowSpeedSupport === undefined) {
    try {
      const r = await run('ostree', ['pull', '--help'], { okCodes: [1] });
      lowSpeedSupport = (r.stdout + r.stderr).includes('--low-speed-time-seconds');
    } catch {
      lowSpeedSupport = false;
    }
  }
  return lowSpeedSupport;
}

export async function remoteAdd(repo: string, name: string, url: string, opts: { gpgVerify?: boolean; force?: boolean; gpgImport?: string; set?: Record<string, string> } = {}): Promise<void> {
  const args = [`--repo=${repo}`, 'remote', 'add'];
  if (opts.force) args.push('--force');
  if (!opts.gpgVerify) args.push('--no-gpg-verify');
  if (opts.gpgImport) args.push(`--gpg-import=${opts.gpgImport}`);
  for (const [k, v] of Object.entries(opts.set ?? {})) args.push(`--set=${k}=${v}`);
  args.push(name, url);
  await run('ostree', args, { what: `ostree remote add ${name}` });
}

export async function remoteUrl(repo: string, name: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('ostree', [`--repo=${repo}`, 'remote', 'show-url', name]);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

export async function remoteDelete(repo: string, name: string): Promise<void> {
  await run('ostree', [`--repo=${repo}`, 'remote', 'delete', '--if-exists', name], { what: `ostree remote delete ${name}` });
}

/** Whether `ostree remote summary NAME` succeeds: the summary is there (and, where the remote asks, its signature checks out). */
export async function remoteSummaryOk(repo: string, name: string): Promise<boolean> {
  const r = await run('ostree', [`--repo=${repo}`, 'remote', 'summary', name], { okCodes: [1], what: `ostree remote summary ${name}` }).catch(() => undefined);
  return r?.exitCode === 0;
}

/** Import the GPG keys of a file for a remote; how many were new to it. */
export async function remoteGpgImport(repo: string, name: string, keyFile: string): Promise<number> {
  const { stdout } = await run('ostree', [`--repo=${repo}`, 'remote', 'gpg-import', name, '-k', keyFile], {
    what: `importing the GPG keys of ${keyFile}`,
    hint: 'Give a file of exported GPG public keys (gpg --export --armor KEYID > FILE).',
  });
  return Number(/Imported (\d+)/.exec(stdout)?.[1] ?? 0);
}

export async function configSet(repo: string, key: string, value: string): Promise<void> {
  await run('ostree', [`--repo=${repo}`, 'config', 'set', key, value], { what: `ostree config set ${key}` });
}

export async function configUnset(repo: string, key: string): Promise<void> {
  await run('ostree', [`--repo=${repo}`, 'config', 'unset', key], { what: `ostree config unset ${key}` });
}

let versionText: Promise<string | undefined> | undefined;

/** What `ostree --version` prints (its version and features), asked once per run; undefined if it fails. */
function ostreeVersionText(): Promise<string | undefined> {
  versionText ??= run('ostree', ['--version'], { what: 'ostree --version' }).then((r) => r.stdout, () => undefined);
  return versionText;
}

/** The installed ostree's version, as `ostree --version` says it (`2022.7`). */
export async function ostreeVersion(): Promise<string | undefined> {
  return /^\s*Version:\s*'?([^'\s]+)'?\s*$/m.exec((await ostreeVersionText()) ?? '')?.[1];
}

/** Is this ostree built with ed25519 signing (`sign-ed25519` among the features of `ostree --version`)? */
export async function hasSignEd25519(): Promise<boolean> {
  return /^\s*-\s*sign-ed25519\s*$/m.test((await ostreeVersionText()) ?? '');
}

let commitSignFromFile: boolean | undefined;

/**
 * Does `ostree commit` read signing keys from a file (`--sign-from-file`, ostree 2023.6)? Older
 * versions take ed25519 secret keys only on the command line. (`ostree summary` has no such
 * option in any version.)
 */
export async function hasCommitSignFromFile(): Promise<boolean> {
  if (commitSignFromFile === undefined) {
    const r = await run('ostree', ['commit', '--help'], { what: 'ostree commit --help' }).catch(() => undefined);
    commitSignFromFile = r !== undefined && /--sign-from-file\b/.test(r.stdout);
  }
  return commitSignFromFile;
}

/** The static deltas of a repository, as `ostree static-delta list` names them (FROM-TO, or TO for a from-scratch one). */
export async function staticDeltaList(repo: string): Promise<string[]> {
  const { stdout } = await run('ostree', [`--repo=${repo}`, 'static-delta', 'list'], { what: 'ostree static-delta list' });
  return stdout.split('\n').map((l) => l.trim()).filter((l) => l && !/^\(No static deltas\)$/.test(l));
}

/** `ostree static-delta generate`: from `from` (a commit, or null for a from-scratch delta) to `to`. */
export async function staticDeltaGenerate(repo: string, from: string | null, to: string, runOpts: RunOptions = {}): Promise<void> {
  const fromArgs = from ? [`--from=${from}`] : ['--empty'];
  await run('ostree', [`--repo=${repo}`, 'static-delta', 'generate', ...fromArgs, `--to=${to}`], { what: `ostree static-delta generate to ${to.slice(0, 12)}`, ...runOpts });
}

export async function staticDeltaDelete(repo: string, name: string): Promise<void> {
  await run('ostree', [`--repo=${repo}`, 'static-delta', 'delete', name], { what: `ostree static-delta delete ${name}` });
}

/** `ostree gpg-sign`: add GPG signatures to a commit that is already written (its detached metadata). */
export async function gpgSignCommit(repo: string, checksum: string, keyIds: string[], homedir?: string): Promise<void> {
  await run('ostree', [`--repo=${repo}`, 'gpg-sign', ...(homedir ? [`--gpg-homedir=${homedir}`] : []), checksum, ...keyIds], { what: `ostree gpg-sign ${checksum.slice(0, 12)}` });
}

/** `ostree summary --update`, signed when asked. */
export async function summaryUpdate(repo: string, sign?: SignOptions, runOpts: RunOptions = {}): Promise<void> {
  await run('ostree', [`--repo=${repo}`, 'summary', '--update', ...signArgs(sign)], { what: 'ostree summary --update', ...runOpts });
}

/**
 * `ostree show --gpg-verify-remote=REMOTE`: ostree's own check of a commit's signatures with the
 * keys the remote trusts. Returns ostree's report and whether a good signature was found.
 */
export async function verifyCommitWithRemote(repo: string, remote: string, checksum: string): Promise<{ ok: boolean; report: string }> {
  const r = await run('ostree', [`--repo=${repo}`, 'show', `--gpg-verify-remote=${remote}`, checksum], { okCodes: [1], what: `ostree show --gpg-verify-remote=${remote}` });
  return { ok: r.exitCode === 0, report: `${r.stdout}\n${r.stderr}`.trim() };
}

export async function fsck(repo: string): Promise<void> {
  await run('ostree', [`--repo=${repo}`, 'fsck', '--quiet'], { what: 'ostree fsck' });
}

export async function prune(repo: string, opts: { refsOnly?: boolean; depth?: number } = {}): Promise<string> {
  const args = [`--repo=${repo}`, 'prune'];
  if (opts.refsOnly !== false) args.push('--refs-only');
  if (opts.depth !== undefined) args.push(`--depth=${opts.depth}`);
  const { stdout } = await run('ostree', args, { what: 'ostree prune' });
  return stdout.trim();
}

// ---- ostree admin ----

function sysrootArgs(sysroot: string): string[] {
  return sysroot === '/' ? [] : [`--sysroot=${sysroot}`];
}

/**
 * apt-ostree's grub.cfg generator (data/grub/, shipped with the program: lib/system/ → ../../data),
 * which ostree's grub2 backend runs instead of the system's grub-mkconfig when OSTREE_GRUB2_EXEC
 * names it (ostree's src/libostree/ostree-bootloader-grub2.c).
 */
export const GRUB_GENERATOR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'grub', 'grub-mkconfig-ostree');

/**
 * The environment of an `ostree admin` command that may write deployments. On a sysroot that is
 * not the booted system (a directory prepared for a disk image), the grub2 backend must not run
 * the host's grub-mkconfig, which reads the host's /etc/grub.d and lists the host's kernels: it
 * runs apt-ostree's generator instead, which writes the menu of the sysroot's own entries. On the
 * booted system ostree runs the system's grub-mkconfig with ostree-boot's 15_ostree, as
 * ostree-finalize-staged does at shutdown.
 */
function adminEnv(sysroot: string): Record<string, string> | undefined {
  return sysroot === '/' ? undefined : { OSTREE_GRUB2_EXEC: GRUB_GENERATOR, APT_OSTREE_GRUB_REFUSAL: GRUB_REFUSAL_FILE };
}

export async function adminInitFs(sysroot: string): Promise<void> {
  await run('ostree', ['admin', 'init-fs', sysroot], { what: 'ostree admin init-fs' });
}

export async function adminOsInit(sysroot: string, os: string): Promise<void> {
  await run('ostree', ['admin', ...sysrootArgs(sysroot), 'os-init', os], { what: `ostree admin os-init ${os}` });
}

export interface DeployOptions {
  sysroot: string;
  os: string;
  revision: string;
  originFile?: string;
  kargs?: string[];
  /** Do not import kernel arguments from the merge deployment (we pass the full set). */
  kargsNone?: boolean;
  stage?: boolean;
  /** With stage: not finalized at shutdown until unlocked (ostree's own --lock-finalization). */
  lockFinalization?: boolean;
  retain?: boolean;
  notAsDefault?: boolean;
  noPrune?: boolean;
  signal?: AbortSignal;
}

export async function adminDeploy(o: DeployOptions): Promise<void> {
  const args = ['admin', ...sysrootArgs(o.sysroot), 'deploy', `--os=${o.os}`];
  if (o.originFile) args.push(`--origin-file=${o.originFile}`);
  if (o.kargsNone) args.push('--karg-none');
  for (const k of o.kargs ?? []) args.push(`--karg-append=${k}`);
  if (o.stage) args.push('--stage');
  if (o.stage && o.lockFinalization) args.push('--lock-finalization');
  if (o.retain) args.push('--retain');
  if (o.notAsDefault) args.push('--not-as-default');
  if (o.noPrune) args.push('--no-prune');
  args.push(o.revision);
  await run('ostree', args, {
    what: 'ostree admin deploy',
    env: adminEnv(o.sysroot),
    signal: o.signal,
    // Deploying swaps the boot configuration atomically; a Ctrl-C must not stop it halfway.
    detached: !o.signal,
  }).catch(rethrowRefusedGrubMenu);
}

export async function adminUndeploy(sysroot: string, index: number): Promise<void> {
  await run('ostree', ['admin', ...sysrootArgs(sysroot), 'undeploy', String(index)], { what: `ostree admin undeploy ${index}`, env: adminEnv(sysroot) }).catch(rethrowRefusedGrubMenu);
}

/** `ostree admin pin INDEX` (or `--unpin`): a pinned deployment is never removed by ostree's or apt-ostree's cleanup. */
export async function adminPin(sysroot: string, index: number, pinned: boolean): Promise<void> {
  await run('ostree', ['admin', ...sysrootArgs(sysroot), 'pin', ...(pinned ? [] : ['--unpin']), String(index)], { what: `ostree admin pin${pinned ? '' : ' --unpin'} ${index}` });
}

export async function adminCleanup(sysroot: string): Promise<void> {
  await run('ostree', ['admin', ...sysrootArgs(sysroot), 'cleanup'], { what: 'ostree admin cleanup', env: adminEnv(sysroot) }).catch(rethrowRefusedGrubMenu);
}

/** `ostree admin unlock` of the booted deployment: an overlay on /usr (see usroverlay). */
export async function adminUnlock(sysroot: string, mode: 'development' | 'hotfix' | 'transient'): Promise<void> {
  const flag = mode === 'hotfix' ? ['--hotfix'] : mode === 'transient' ? ['--transient'] : [];
  await run('ostree', ['admin', ...sysrootArgs(sysroot), 'unlock', ...flag], { what: 'ostree admin unlock', env: adminEnv(sysroot) });
}

export async function adminStatus(sysroot: string): Promise<string> {
  const { stdout } = await run('ostree', ['admin', ...sysrootArgs(sysroot), 'status'], { what: 'ostree admin status' });
  return stdout;
}

let setDefaultSupport: boolean | undefined;

/** Does this ostree have `admin set-default`? Checked once per run. */
export async function hasAdminSetDefault(): Promise<boolean> {
  if (setDefaultSupport === undefined) {
    try {
      // 2022.7 answers `set-default --help` with the general admin help (exit 0), so look
      // for the command's own usage line.
      const r = await run('ostree', ['admin', 'set-default', '--help'], { okCodes: [1] });
      setDefaultSupport = /ostree admin set-default/.test(r.stdout + r.stderr);
    } catch {
      setDefaultSupport = false;
    }
  }
  return setDefaultSupport;
}

let lockFinalizationSupport: boolean | undefined;

/**
 * Does this ostree's `admin deploy` take --lock-finalization? (A hidden option in 2022.7, which
 * --help does not list: asked with the option itself, which an older ostree calls unknown.)
 */
export async function hasDeployLockFinalization(): Promise<boolean> {
  if (lockFinalizationSupport === undefined) {
    const r = await run('ostree', ['admin', 'deploy', '--lock-finalization', '--help'], { okCodes: [1] }).catch(() => undefined);
    lockFinalizationSupport = r?.exitCode === 0;
  }
  return lockFinalizationSupport;
}

/** Does this ostree have `admin lock-finalization` (2023.8 and later)? */
export async function hasAdminLockFinalization(): Promise<boolean> {
  const r = await run('ostree', ['admin', 'lock-finalization', '--help'], { okCodes: [1] }).catch(() => undefined);
  return r !== undefined && /ostree admin lock-finalization/.test(r.stdout + r.stderr);
}

/** `ostree admin lock-finalization --unlock`: the staged deployment is finalized at the next shutdown. */
export async function adminUnlockFinalization(sysroot: string): Promise<void> {
  await run('ostree', ['admin', ...sysrootArgs(sysroot), 'lock-finalization', '--unlock'], { what: 'ostree admin lock-finalization --unlock', env: adminEnv(sysroot) });
}

/** `ostree admin set-default INDEX`; detached: the switch of the boot configuration must not stop halfway. */
export async function adminSetDefault(sysroot: string, index: number): Promise<void> {
  await run('ostree', ['admin', ...sysrootArgs(sysroot), 'set-default', String(index)], { what: 'ostree admin set-default', detached: true, env: adminEnv(sysroot) });
}

/** data/ostree/ostree-set-default: `admin set-default` through libostree's introspection bindings. */
const SET_DEFAULT_HELPER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'ostree', 'ostree-set-default');

/**
 * Make deployment INDEX the default with libostree (ostree_sysroot_write_deployments, as
 * `admin set-default` does), for an ostree without that command (2022.7). Detached like it.
 */
export async function setDefaultThroughLibostree(sysroot: string, index: number): Promise<void> {
  // Run by its #!/usr/bin/python3: Debian's python, the one python3-gi is for (not a python3 earlier in PATH).
  await run(SET_DEFAULT_HELPER, [sysroot, String(index)], {
    what: 'writing the new boot order with libostree',
    hint: 'The message above is libostree\'s; nothing was changed. Without python3-gi and gir1.2-ostree-1.0, install them (apt-get install python3-gi gir1.2-ostree-1.0).',
    detached: true,
    env: adminEnv(sysroot),
  });
}

/** data/ostree/ostree-tree-without: a commit of a base's tree without some paths, through libostree. */
const TREE_WITHOUT_HELPER = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'ostree', 'ostree-tree-without');

/**
 * An orphan commit (no ref, no metadata) whose tree is `base`'s without `paths` (absolute; those
 * the tree lacks are skipped): only the directories on the way to them are written again. For
 * `commit({ baseTree })` of a change that removes something, which the command line cannot
 * express. Undefined when libostree's introspection bindings are missing (python3-gi,
 * gir1.2-ostree-1.0: recommended, not required).
 */
export async function commitTreeWithout(repo: string, base: string, paths: string[], runOpts: RunOptions = {}): Promise<string | undefined> {
  const r = await run(TREE_WITHOUT_HELPER, [repo, base], {
    what: `writing the tree of ${base.slice(0, 12)} without the removed paths (libostree)`,
    input: paths.map((p) => `${p}\0`).join(''),
    okCodes: [3],
    ...runOpts,
  });
  return r.exitCode === 3 ? undefined : r.stdout.trim();
}

/**
 * The content of the file at `path` in commit `rev`, or undefined when the commit has no such
 * file; any other failure of `ostree cat` is an error.
 */
export async function catFileIfExists(repo: string, rev: string, path: string, runOpts: RunOptions = {}): Promise<string | undefined> {
  const direct = readCommitFile(repo, rev, path);
  if (direct) return direct.toString('utf8');
  const what = runOpts.what ?? `ostree cat ${path} of ${rev.slice(0, 12)}`;
  const r = await run('ostree', [`--repo=${repo}`, 'cat', rev, path], { ...runOpts, what, okCodes: [1] });
  if (r.exitCode === 0) return r.stdout;
  if (/No such file/i.test(r.stderr)) return undefined;
  throw new ToolError('ostree', ['cat', rev, path], { exitStatus: r.exitCode, stderr: r.stderr, what });
}

export interface LsEntry {
  type: 'file' | 'dir' | 'symlink';
  /** Absolute, as ostree prints it. */
  path: string;
  /** A symlink's target. */
  target?: string;
}

/**
 * `ostree ls` of a path in commit `rev`: the path itself, then a directory's entries (not
 * recursive); undefined when there is no such path.
 */
export async function ls(repo: string, rev: string, path: string): Promise<LsEntry[] | undefined> {
  // A directory of a bare repository is read without starting ostree, as catFile does.
  const direct = listCommitDir(repo, rev, path);
  if (direct === null) return undefined;
  if (direct) {
    const base = path.replace(/\/+$/, '');
    return [{ type: 'dir', path: base || '/' }, ...direct.map((e) => ({ type: e.type, path: `${base}/${e.name}`, ...(e.target !== undefined ? { target: e.target } : {}) }))];
  }
  const r = await run('ostree', [`--repo=${repo}`, 'ls', rev, path], { okCodes: [1], what: `ostree ls ${path}` });
  if (r.exitCode !== 0) return undefined;
  const out: LsEntry[] = [];
  for (const line of r.stdout.split('\n')) {
    // -00644 0 0     54 /usr/lib/tmpfiles.d/x.conf   or   l00777 0 0      0 /usr/etc/tmpfiles.d/x.conf -> /dev/null
    const m = /^([-dl])\S*\s+\d+\s+\d+\s+\d+\s+(\/.*?)(?: -> (.*))?$/.exec(line);
    if (!m) continue;
    out.push({ type: m[1] === 'd' ? 'dir' : m[1] === 'l' ? 'symlink' : 'file', path: m[2]!, ...(m[1] === 'l' ? { target: m[3] } : {}) });
  }
  return out;
}

/** The content of the file at `path` in commit `rev` (`ostree cat`), without checking it out. */
export async function catFile(repo: string, rev: string, path: string, runOpts: RunOptions = {}): Promise<string> {
  const direct = readCommitFile(repo, rev, path);
  if (direct) return direct.toString('utf8');
  const { stdout } = await run('ostree', [`--repo=${repo}`, 'cat', rev, path], { what: `ostree cat ${path} of ${rev.slice(0, 12)}`, ...runOpts });
  return stdout;
}
