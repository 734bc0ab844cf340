/** What a command's run() receives: parsed options plus the shared services. */
import type { Reporter } from '../output/reporter.js';

export interface CommandContext {
  /** The command's full name, e.g. "install" or "compose tree". */
  command: string;
  /** Parsed options and positionals, keyed by their long names. */
  argv: Record<string, unknown>;
  sysroot: string;
  os?: string;
  quiet: boolean;
  verbose: boolean;
  reporter: Reporter;
}

export function str(argv: Record<string, unknown>, key: string): string | undefined {
  const v = argv[key];
  return typeof v === 'string' ? v : v === undefined || v === null ? undefined : String(v);
}

export function strs(argv: Record<string, unknown>, key: string): string[] {
  const v = argv[key];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export function bool(argv: Record<string, unknown>, key: string): boolean {
  return argv[key] === true;
}
