/** Counting a repository's objects without starting ostree (objects/XX/REST.TYPE). */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The number of commit objects in the repository (one readdir per object directory). */
export function countCommitObjects(repo: string): number {
  let n = 0;
  let dirs: string[];
  try {
    dirs = readdirSync(join(repo, 'objects'));
  } catch {
    return 0;
  }
  for (const d of dirs) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    try {
      for (const f of readdirSync(join(repo, 'objects', d))) if (f.endsWith('.commit')) n++;
    } catch {
      // not a directory
    }
  }
  return n;
}
