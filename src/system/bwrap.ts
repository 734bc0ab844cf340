/**
 * Run a program inside a bubblewrap sandbox rooted at a tree (maintainer scripts, dpkg,
 * compose postprocess commands). No network, a minimal /dev, a fresh /proc, private /tmp
 * and /run. bwrap creates the directories it mounts on in the tree when they are missing;
 * a caller removes those the tree must not keep (engine/layering/build.ts: the /etc of its bind).
 */
import { run, type RunOptions, type RunResult } from './run.js';

export interface Bind {
  /** Path on the host. */
  src: string;
  /** Path inside the sandbox. */
  dest: string;
  readOnly?: boolean;
}

export interface SandboxOptions {
  root: string;
  binds?: Bind[];
  /** Directories to create inside the sandbox's tmpfs mounts (e.g. under /run). */
  dirs?: string[];
  /** Share the host network (needed by nothing we run; off by default). */
  network?: boolean;
  env?: Record<string, string>;
  cwd?: string;
}

/** The environment every sandboxed program starts with: nothing from the caller leaks in. */
const SANDBOX_ENV: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
  LANG: 'C.UTF-8',
  DEBIAN_FRONTEND: 'noninteractive',
  DEBCONF_NONINTERACTIVE_SEEN: 'true',
};

export function bwrapArgs(opts: SandboxOptions, argv: readonly string[]): string[] {
  const args = ['--bind', opts.root, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/run', '--die-with-parent', '--new-session'];
  if (!opts.network) args.push('--unshare-net');
  args.push('--unshare-ipc', '--unshare-uts', '--unshare-pid');
  for (const d of opts.dirs ?? []) args.push('--dir', d);
  for (const b of opts.binds ?? []) args.push(b.readOnly ? '--ro-bind' : '--bind', b.src, b.dest);
  args.push('--clearenv');
  for (const [k, v] of Object.entries({ ...SANDBOX_ENV, ...opts.env })) if (v !== '') args.push('--setenv', k, v);
  args.push('--chdir', opts.cwd ?? '/');
  args.push('--', ...argv);
  return args;
}

export async function runInSandbox(opts: SandboxOptions, argv: readonly string[], runOpts: RunOptions = {}): Promise<RunResult> {
  return run('bwrap', bwrapArgs(opts, argv), { what: `${argv[0]} in the sandbox`, ...runOpts, withoutLock: true });
}

/**
 * `/bin/sh -c SCRIPT` in the sandbox: a manifest's postprocess command, shell text its author
 * wrote on purpose (it runs in the new tree, never on the host).
 */
export async function runShellInSandbox(opts: SandboxOptions, script: string, runOpts: RunOptions = {}): Promise<RunResult> {
  return runInSandbox(opts, ['/bin/sh', '-c', script], runOpts);
}
