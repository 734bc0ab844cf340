/**
 * The one place that starts external programs. Arguments are always an array handed to
 * execve (execa with shell: false): no user string is ever parsed by a shell.
 */
import { execa, type Options } from 'execa';
import { CancelledError, ToolError } from '../errors.js';

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Replace the environment instead of extending process.env. */
  cleanEnv?: boolean;
  input?: string;
  signal?: AbortSignal;
  /** What the step was, for the error message ("ostree commit of the new tree"). */
  what?: string;
  hint?: string;
  /** Called with each line of output while the program runs (progress parsing). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Inherit stdio (for interactive programs such as $EDITOR). */
  interactive?: boolean;
  /** Run in its own process group, so a terminal's Ctrl-C does not reach it (commit steps). */
  detached?: boolean;
  /** Exit codes that are not failures. */
  okCodes?: number[];
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export async function run(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (opts.signal?.aborted) throw new CancelledError();
  const execaOpts: Options = {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: !opts.cleanEnv,
    input: opts.input,
    cancelSignal: opts.signal,
    reject: false,
    stripFinalNewline: false,
    stdin: opts.input !== undefined ? undefined : opts.interactive ? 'inherit' : 'ignore',
    stdout: opts.interactive ? 'inherit' : 'pipe',
    stderr: opts.interactive ? 'inherit' : 'pipe',
    // Children get SIGTERM with us; give them a moment before SIGKILL.
    forceKillAfterDelay: 5000,
    detached: opts.detached,
    maxBuffer: 256 * 1024 * 1024,
  };
  const child = execa(tool, [...args], execaOpts);
  if (opts.onLine && !opts.interactive) {
    attachLineReader(child.stdout, (l) => opts.onLine!(l, 'stdout'));
    attachLineReader(child.stderr, (l) => opts.onLine!(l, 'stderr'));
  }
  const result = await child;
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (result.isCanceled || opts.signal?.aborted) throw new CancelledError();
  const code = result.exitCode;
  if (code === undefined || (code !== 0 && !(opts.okCodes ?? []).includes(code))) {
    const notFound = (result as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String(result.message ?? ''));
    throw new ToolError(tool, args, {
      exitStatus: code,
      stderr: notFound ? `${tool} is not installed` : stderr || String(result.signal ? `killed by ${result.signal}` : ''),
      stdout,
      what: opts.what,
      hint: notFound ? `Install it with: apt-get install ${packageFor(tool)}` : opts.hint,
    });
  }
  return { stdout, stderr, exitCode: code };
}

function attachLineReader(stream: NodeJS.ReadableStream | null | undefined, cb: (line: string) => void): void {
  if (!stream) return;
  let buf = '';
  stream.on('data', (chunk: Buffer | string) => {
    buf += chunk.toString();
    let i: number;
    // ostree and apt redraw progress lines with \r; treat it as a line end too.
    while ((i = buf.search(/[\r\n]/)) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) cb(line);
    }
  });
  stream.on('end', () => {
    if (buf.trim()) cb(buf);
  });
}

const PACKAGE_OF_TOOL: Record<string, string> = {
  ostree: 'ostree',
  bwrap: 'bubblewrap',
  mmdebstrap: 'mmdebstrap',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  dpkg: 'dpkg',
  'dpkg-deb': 'dpkg',
  'dpkg-query': 'dpkg',
  'mkfs.ext4': 'e2fsprogs',
};

function packageFor(tool: string): string {
  return PACKAGE_OF_TOOL[tool.split('/').pop() ?? tool] ?? tool;
}
