/**
 * Errors the user sees. Every failure that reaches the top level is an AptOstreeError (or is
 * wrapped into one): one sentence saying what went wrong, and a hint saying what to do next.
 */

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNCHANGED = 77;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

export class AptOstreeError extends Error {
  readonly hint?: string;
  readonly exitCode: number;
  /** Extra detail (a tool's stderr, a script's output) shown after the message. */
  readonly detail?: string;

  constructor(message: string, opts: { hint?: string; exitCode?: number; detail?: string; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'AptOstreeError';
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? EXIT_ERROR;
    this.detail = opts.detail;
  }
}

/** Bad arguments, manifests or config: found before any work is done. */
export class InputError extends AptOstreeError {
  constructor(message: string, hint?: string) {
    super(message, { hint });
    this.name = 'InputError';
  }
}

/** An external tool (ostree, apt-get, dpkg, bwrap, mmdebstrap) failed. */
export class ToolError extends AptOstreeError {
  readonly tool: string;
  readonly args: readonly string[];
  readonly exitStatus?: number;
  readonly stderr: string;
  readonly stdout: string;

  constructor(tool: string, args: readonly string[], opts: { exitStatus?: number; stderr: string; stdout?: string; hint?: string; what?: string }) {
    const lastLine = lastMeaningfulLine(opts.stderr) ?? lastMeaningfulLine(opts.stdout ?? '');
    const what = opts.what ?? `${tool} ${args.slice(0, 2).join(' ')}`.trim();
    const status = opts.exitStatus === undefined ? 'could not run' : `failed (exit ${opts.exitStatus})`;
    super(`${what} ${status}${lastLine ? `: ${lastLine}` : ''}`, {
      hint: opts.hint,
      detail: opts.stderr.trim() || opts.stdout?.trim() || undefined,
    });
    this.name = 'ToolError';
    this.tool = tool;
    this.args = args;
    this.exitStatus = opts.exitStatus;
    this.stderr = opts.stderr;
    this.stdout = opts.stdout ?? '';
  }
}

/** The transaction was stopped by SIGINT/SIGTERM or a DBus Cancel; everything was undone. */
export class CancelledError extends AptOstreeError {
  constructor(reason = 'cancelled', exitCode = EXIT_SIGINT) {
    super(`Transaction ${reason}; the system was left as it was.`, { exitCode });
    this.name = 'CancelledError';
  }
}

/** "Nothing changed": exits 0, or 77 when the command was given --unchanged-exit-77. */
export class UnchangedError extends AptOstreeError {
  constructor(message: string, unchangedExit77: boolean) {
    super(message, { exitCode: unchangedExit77 ? EXIT_UNCHANGED : EXIT_OK });
    this.name = 'UnchangedError';
  }
}

function lastMeaningfulLine(text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.at(-1);
}
