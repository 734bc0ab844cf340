/** File-system helpers shared by the engine and compose. */
import { readdirSync } from 'node:fs';

/** The names directly in `dir`; none when it does not exist or cannot be read. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
