/** An admin's health check program (engine/health/checks.ts), run to its end or to its deadline. */
import { runWithDeadline, type DeadlineResult } from './run.js';

/** PATH with no arguments, in its own process group, stopped at the deadline; never throws for its failure. */
export async function runCheckProgram(path: string, opts: { timeoutMs: number; env: Record<string, string> }): Promise<DeadlineResult> {
  return runWithDeadline(path, [], opts);
}
