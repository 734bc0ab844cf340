/**
 * Errors the user sees. Every failure that reaches the top level is an AptOstreeError (or is
 * wrapped into one): one sentence saying what went wrong, and a hint saying what to do next.
 * A failure of the machine rather than of apt-ostree (a full disk, a read-only file system, a
 * path that is not a sysroot) is turned into such a sentence at the top level
 * (cli/explain-error.ts). Nothing here touches the file system.
 */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
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
  /** What was being done, e.g. "ostree admin deploy" (the start of the message). */
  readonly what: string;

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
    this.what = what;
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

/** The longest run of non-space characters shown as it is; longer ones are cut (user input, file contents). */
export const MAX_WORD = 200;
/** The longest message or hint shown. */
export const MAX_TEXT = 1000;

/**
 * Text safe and readable on a terminal, for messages that may echo user input or the bytes of a
 * file: control characters (ESC, BEL, NUL, bidi overrides …) are shown escaped as \xNN or \u{…},
 * unpaired surrogates (what invalid UTF-8 leaves) as U+FFFD; then a quoted '…' span or a word
 * longer than MAX_WORD characters, and the whole text beyond MAX_TEXT, are cut with an ellipsis.
 * Newlines and tabs stay when `multiline`.
 */
export function printable(text: string, opts: { multiline?: boolean; maxWord?: number; maxText?: number } = {}): string {
  const maxWord = opts.maxWord ?? MAX_WORD;
  const maxText = opts.maxText ?? MAX_TEXT;
  const escaped = text
    // A lone surrogate (what invalid UTF-8 can leave) is no character: the replacement character.
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[\u0000-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu, (c) => {
      if (opts.multiline && (c === '\n' || c === '\t')) return c;
      const n = c.codePointAt(0)!;
      return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
    });
  // User input is quoted in messages ('…'): a long one is cut inside its quotes; any other long word as it is.
  const words = escaped.replace(/'([^'\n]*)'|\S+/gu, (w, quoted: string | undefined) => (quoted !== undefined ? `'${cutChars(quoted, maxWord)}'` : cutChars(w, maxWord)));
  return cutChars(words, maxText);
}

function cutChars(s: string, max: number): string {
  const chars = [...s];
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : s;
}

/**
 * A tool's output as it can be shown on a terminal: escape sequences (colours, cursor
 * movement) and other control characters removed, carriage returns of progress lines turned into
 * line ends; everything else as the tool wrote it.
 */
export function withoutControls(text: string): string {
  return text
    // CSI … final byte; OSC … BEL or ST; other two-byte escapes.
    .replace(/\u001B\[[0-?]*[ -/]*[@-~]|\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)?|\u001B[@-Z\\-_]|\u009B[0-?]*[ -/]*[@-~]/gu, '')
    .replace(/\r\n/g, '\n')
    .replace(/\r/g, '\n')
    .replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/gu, '');
}
