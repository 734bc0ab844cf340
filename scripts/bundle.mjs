// Bundles the compiled program (lib/, from tsc) into lib/bundle/, which bin/apt-ostree runs:
// one module for what every command loads, and a chunk for each command and what only it needs
// (the dynamic imports of cli/spec.ts stay dynamic), so that a command still loads only its own
// code. Why: Node's start-up pays for every module file it resolves, reads and compiles, and
// `status` loaded ~50 of them; bundled, it loads ~20 and starts ~20 ms sooner (bench/status.mjs,
// measured side by side: 197 against 220 ms, node -e 0 126 ms). Packages of node_modules stay
// imports of their own. lib/bundle/ is two levels below the root, as lib/*/ is, so paths that
// modules resolve from import.meta.url (data/, package.json) stay the same.
//
//   node scripts/bundle.mjs [LIB_DIR]     (default: lib of this checkout)
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const lib = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'lib');
const outdir = join(lib, 'bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(lib, 'cli', 'main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
