// Every benchmark, one after the other (each in its own process, so one's caches and memory
// do not colour the next): `npm run bench`, as root. `npm run bench -- status install` runs
// only those. Exits non-zero when a benchmark fails to run; ratios over their goals are
// printed as OVER GOAL, not turned into failures (timings belong to people, not to CI).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ALL = ['status', 'install', 'upgrade', 'compose', 'deltas'];
const chosen = process.argv.slice(2);
const unknown = chosen.filter((n) => !ALL.includes(n));
if (unknown.length) {
  console.error(`unknown benchmark '${unknown[0]}': choose from ${ALL.join(', ')}`);
  process.exit(1);
}

let failed = 0;
for (const name of chosen.length ? chosen : ALL) {
  console.log(`\n=== bench/${name}.mjs`);
  const r = spawnSync(process.execPath, [join(here, `${name}.mjs`)], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench/${name}.mjs failed (${r.signal ?? `exit ${r.status}`})`);
    failed++;
  }
}
process.exitCode = failed ? 1 : 0;
