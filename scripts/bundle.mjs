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
//
// Node's built-in modules are taken through require (cjsBuiltins below), not import: the ESM
// facade of a built-in reads every export, getters included, and those of node:fs and
// node:crypto load whole subsystems (streams, webcrypto) that a command never uses. Measured
// in one process each, side by side: `await import('node:fs')` 8 to 60 ms on a loaded machine,
// `createRequire(import.meta.url)('node:fs')` 1 ms; `import('node:crypto')` 14 to 44 ms.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
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
  plugins: [cjsBuiltins(['fs', 'crypto', 'buffer'])],
});

/**
 * Imports of these built-ins (`node:fs` or `fs`) become a module of the bundle that requires
 * the built-in and exports its properties: the values, and, for a property that is a getter
 * (node:fs's promises, opendir …), a function calling it where it is one; a getter of another
 * kind (ReadStream, webcrypto) is not exported, and a bundle importing it fails to build.
 * @param {string[]} names
 * @returns {import('esbuild').Plugin}
 */
function cjsBuiltins(names) {
  const require = createRequire(import.meta.url);
  const filter = new RegExp(`^(node:)?(${names.join('|')})$`);
  return {
    name: 'cjs-builtins',
    setup(b) {
      b.onResolve({ filter }, (args) => ({ path: args.path.replace(/^node:/, ''), namespace: 'cjs-builtin' }));
      b.onLoad({ filter: /.*/, namespace: 'cjs-builtin' }, (args) => {
        const mod = require(`node:${args.path}`);
        const lines = ['import { createRequire } from "node:module";', `const m = createRequire(import.meta.url)("node:${args.path}");`, 'export default m;'];
        for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(mod))) {
          if (!/^[A-Za-z_$][\w$]*$/.test(key) || key === 'default') continue;
          if (!d.get) lines.push(`export const ${key} = m.${key};`);
          else if (typeof mod[key] === 'function' && !/^[A-Z]/.test(key)) lines.push(`export function ${key}(...a) { return m.${key}(...a); }`);
        }
        return { contents: lines.join('\n'), loader: 'js' };
      });
    },
  };
}
