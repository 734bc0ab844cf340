#!/usr/bin/env node
/**
 * Writes the man pages, the shell completions, the example configuration and GRUB's boot counting
 * script from the compiled command specs, config schema and boot counting module (run by `npm run build` after tsc); the completions' shell code
 * comes from their templates, completions/*.in. The outputs are committed;
 * `--check` only compares and exits 1 when a checked-in file differs from what the code renders.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { COMMANDS, GLOBAL_OPTIONS } = await import(join(root, 'lib/cli/spec.js'));
const docs = await import(join(root, 'lib/cli/docs.js'));
const { renderExampleConfig } = await import(join(root, 'lib/config/config.js'));
const { renderCompatDoc } = await import(join(root, 'lib/cli/compat-doc.js'));
const { grubBootCountingScript } = await import(join(root, 'lib/engine/deployments/boot-counting.js'));
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;

/**
 * The hand-written shell code of the completions, which the renderers fill the specs into.
 * @param {string} name
 */
const template = (name) => readFileSync(join(root, 'completions', name), 'utf8');

const outputs = {
  'man/apt-ostree.8': docs.renderManPage(COMMANDS, GLOBAL_OPTIONS, version),
  'man/apt-ostree.conf.5': docs.renderConfManPage(version),
  'completions/apt-ostree.bash': docs.renderBashCompletion(COMMANDS, GLOBAL_OPTIONS, template('apt-ostree.bash.in')),
  'completions/_apt-ostree': docs.renderZshCompletion(COMMANDS, GLOBAL_OPTIONS, template('apt-ostree.zsh.in')),
  'examples/apt-ostree.conf': renderExampleConfig(),
  'docs/rpm-ostree-compat.md': renderCompatDoc(),
  'data/health/grub-boot-counting.cfg': grubBootCountingScript(),
};

const check = process.argv.includes('--check');
const stale = [];
for (const [file, text] of Object.entries(outputs)) {
  const path = join(root, file);
  let old;
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === text) continue;
  stale.push(file);
  if (!check) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}
if (check && stale.length) {
  console.error(`Out of date (run \`npm run build\`): ${stale.map((f) => relative(process.cwd(), join(root, f))).join(', ')}`);
  process.exit(1);
}
if (!check && stale.length) console.error(`gen-docs: wrote ${stale.join(', ')}`);
