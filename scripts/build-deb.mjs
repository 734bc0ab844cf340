#!/usr/bin/env node
/**
 * Builds dist/apt-ostree_<version>_all.deb, a Debian package of apt-ostree itself (`npm run deb`,
 * after `npm run build` has regenerated the man pages and completions from the specs).
 *
 *   /usr/lib/apt-ostree/{bin,lib,data,package.json,node_modules}  the program (lib/ compiled
 *       afresh from src/, so no stale file of an old build is shipped; node_modules from
 *       `npm ci --omit=dev --omit=optional` of the lock file (optional modules are native
 *       addons, which an Architecture: all package cannot carry), pruned of docs, tests,
 *       type declarations and maps)
 *   /usr/bin/apt-ostree                        symlink to the program's bin shim (#!/usr/bin/node)
 *   /usr/share/man/man8, man5                  man pages, gzip -9n
 *   /usr/share/bash-completion, zsh            completions
 *   /usr/lib/systemd/system                    apt-ostree-automatic.service and .timer,
 *                                              apt-ostree-health-check.service
 *   /usr/lib/apt-ostree/health.d               the shipped health checks (data/health/health.d)
 *   /etc/grub.d/08_apt-ostree-boot-counting    grub-mkconfig script of the boot counting (conffile)
 *   /usr/share/dbus-1/system.d, interfaces, polkit-1/actions   when dbus/ and polkit/ hold them
 *   /usr/share/doc/apt-ostree                  copyright (with the licenses of node_modules),
 *                                              changelog.gz, examples/apt-ostree.conf
 *
 * Targets Debian 13 (trixie) and newer: Debian 12's nodejs is 18, apt-ostree needs 20.
 * Options: --out DIR (default dist/), --keep-staging.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants as zlib } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : join(root, 'dist');
const keepStaging = args.includes('--keep-staging');

const PACKAGE = 'apt-ostree';
const DEPENDS = 'nodejs (>= 20), ostree, bubblewrap, attr, apt, mount';
// compose: mmdebstrap builds the trees; --gpg-sign runs gpg (the key check) and ostree signs
// through gpgme, which asks gpg-agent for the secret key. Verifying needs no more: ostree's
// libgpgme11 already depends on gpg, and keeps the public keys in its own scratch home.
// admin image: the partition table, the EFI system partition, GRUB for both firmwares, qcow2;
// rollback with an ostree older than 2024.1 (no `admin set-default`), and layered commits that
// remove paths of the base (ostree-tree-without): libostree through python3-gi.
const RECOMMENDS = 'mmdebstrap, gpg, gpg-agent, fdisk, dosfstools, mtools, grub-common, grub-pc-bin, grub-efi-amd64-bin, qemu-utils, python3-gi, gir1.2-ostree-1.0';
const PREFIX = 'usr/lib/apt-ostree';

/**
 * package.json, and the package.json of each module under node_modules (fields vary).
 * @typedef {{ name: string, version: string, description?: string, type?: string, license?: unknown, licenses?: unknown,
 *   engines?: unknown, dependencies?: Record<string, string>, author?: string | { name?: string }, homepage?: unknown,
 *   main?: unknown, module?: unknown, exports?: unknown, bin?: unknown, browser?: unknown, imports?: unknown }} Manifest
 * @typedef {{ path: string, name: string, version: string, license: string, text: string, copyright: string[] }} Module
 */

/** @type {Manifest & { license: string }} */
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// Who builds the package: DEBFULLNAME/DEBEMAIL as for dch, else package.json's author, else a placeholder.
const MAINTAINER =
  process.env.DEBFULLNAME && process.env.DEBEMAIL
    ? `${process.env.DEBFULLNAME} <${process.env.DEBEMAIL}>`
    : typeof pkg.author === 'string' && /<[^>]+@[^>]+>/.test(pkg.author)
      ? pkg.author
      : 'apt-ostree developers <apt-ostree@example.org>';
const version = pkg.version;
// A native Debian version: upstream version only, as dpkg accepts it.
if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version)) fail(`package.json version '${version}' is not a valid native Debian version`);

const staging = join(outDir, `${PACKAGE}_${version}_all`);
const debFile = join(outDir, `${PACKAGE}_${version}_all.deb`);
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
/** @param {...string} p */
const at = (...p) => join(staging, ...p);
/** @type {string[]} */
const notes = [];

// ---- the program ------------------------------------------------------------------------
step('compiling src/ into the package');
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', at(PREFIX, 'lib')], { stdio: 'inherit' });
execFileSync(process.execPath, [join(root, 'scripts/bundle.mjs'), at(PREFIX, 'lib')], { stdio: 'inherit' });

writeFile(
  at(PREFIX, 'bin', PACKAGE),
  // Node resolves the /usr/bin symlink, so the relative import finds /usr/lib/apt-ostree/lib.
  `#!/usr/bin/node\n// apt-ostree, installed by the Debian package; the program is in ${'/' + PREFIX}/lib (bundled: lib/bundle).\nimport('../lib/bundle/main.js').then((m) => m.main(process.argv.slice(2)));\n`,
  0o755,
);
mkdirSync(at('usr/bin'), { recursive: true });
symlinkSync(`../lib/apt-ostree/bin/${PACKAGE}`, at('usr/bin', PACKAGE));

// The program reads its version from here (--version); keep what matters at run time.
const runtimePkg = { name: pkg.name, version, description: pkg.description, type: pkg.type, license: pkg.license, engines: pkg.engines, dependencies: pkg.dependencies };
writeFile(at(PREFIX, 'package.json'), JSON.stringify(runtimePkg, null, 2) + '\n');

// Data files the program installs into images (the plain-apt guard).
if (existsSync(join(root, 'data'))) cpSync(join(root, 'data'), at(PREFIX, 'data'), { recursive: true });

step('installing the production dependencies (npm ci --omit=dev --omit=optional)');
const npmDir = join(outDir, '.npm-production');
rmSync(npmDir, { recursive: true, force: true });
mkdirSync(npmDir, { recursive: true });
copyFileSync(join(root, 'package.json'), join(npmDir, 'package.json'));
copyFileSync(join(root, 'package-lock.json'), join(npmDir, 'package-lock.json'));
execFileSync('npm', ['ci', '--omit=dev', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: npmDir, stdio: 'inherit' });
const modules = collectModules(join(npmDir, 'node_modules'));
cpSync(join(npmDir, 'node_modules'), at(PREFIX, 'node_modules'), { recursive: true });
rmSync(npmDir, { recursive: true, force: true });
pruneNodeModules(at(PREFIX, 'node_modules'));

// ---- documentation and integration files -------------------------------------------------
step('adding man pages, completions, units and documentation');
for (const [src, dest] of [
  ['man/apt-ostree.8', 'usr/share/man/man8/apt-ostree.8.gz'],
  ['man/apt-ostree.conf.5', 'usr/share/man/man5/apt-ostree.conf.5.gz'],
]) {
  writeFile(at(dest), gzip(readFileSync(join(root, src))));
}
copyInto('completions/apt-ostree.bash', 'usr/share/bash-completion/completions/apt-ostree');
copyInto('completions/_apt-ostree', 'usr/share/zsh/vendor-completions/_apt-ostree');
copyInto('systemd/apt-ostree-automatic.service', 'usr/lib/systemd/system/apt-ostree-automatic.service');
copyInto('systemd/apt-ostree-automatic.timer', 'usr/lib/systemd/system/apt-ostree-automatic.timer');
// Health-checked updates: the unit that runs the checks, the shipped checks, and the grub-mkconfig
// script that puts the boot counting into grub.cfg (a conffile, like everything in /etc/grub.d).
copyInto('systemd/apt-ostree-health-check.service', 'usr/lib/systemd/system/apt-ostree-health-check.service');
// Enabled by the package itself (it runs only where /run/ostree-booted exists): a deployment that
// cannot say it is healthy must not count as good because nobody enabled the unit.
mkdirSync(at('usr/lib/systemd/system/multi-user.target.wants'), { recursive: true });
symlinkSync('../apt-ostree-health-check.service', at('usr/lib/systemd/system/multi-user.target.wants/apt-ostree-health-check.service'));
for (const name of readdirSync(join(root, 'data/health/health.d')).sort()) copyInto(`data/health/health.d/${name}`, `usr/lib/apt-ostree/health.d/${name}`);
copyInto('data/health/grub.d/08_apt-ostree-boot-counting', 'etc/grub.d/08_apt-ostree-boot-counting');
copyInto('dbus/org.projectatomic.aptostree1.conf', 'usr/share/dbus-1/system.d/org.projectatomic.aptostree1.conf', { optional: true });
copyInto('dbus/org.projectatomic.aptostree1.xml', 'usr/share/dbus-1/interfaces/org.projectatomic.aptostree1.xml', { optional: true });
copyInto('polkit/org.projectatomic.aptostree1.policy', 'usr/share/polkit-1/actions/org.projectatomic.aptostree1.policy', { optional: true });
copyInto('examples/apt-ostree.conf', 'usr/share/doc/apt-ostree/examples/apt-ostree.conf');
writeFile(at('usr/share/doc/apt-ostree/copyright'), copyrightFile(modules));
writeFile(at('usr/share/doc/apt-ostree/changelog.gz'), gzip(Buffer.from(changelog())));

// ---- control ------------------------------------------------------------------------------
normalizeModes(staging);
const installedSize = installedSizeKiB(staging);
mkdirSync(at('DEBIAN'), { mode: 0o755 });
writeFile(
  at('DEBIAN/control'),
  [
    `Package: ${PACKAGE}`,
    `Version: ${version}`,
    'Architecture: all',
    `Maintainer: ${MAINTAINER}`,
    `Installed-Size: ${installedSize}`,
    `Depends: ${DEPENDS}`,
    `Recommends: ${RECOMMENDS}`,
    'Section: admin',
    'Priority: optional',
    ...(typeof pkg.homepage === 'string' ? [`Homepage: ${pkg.homepage}`] : []),
    'Description: image-based Debian with OSTree: atomic upgrades and package layering',
    ' apt-ostree brings the model of rpm-ostree to Debian: the operating system is',
    ' an OSTree commit deployed read-only and updated atomically as a whole, with',
    ' rollback to the previous deployment. Extra packages are layered on top with',
    ' the real apt and dpkg; every change becomes a new deployment for the next',
    ' boot while the running system stays untouched.',
    ' .',
    ' It also composes Debian images from a manifest (with mmdebstrap), provisions',
    ' sysroots, and checks for or stages updates from a systemd timer. It is a',
    ' single command-line program without a daemon, written in TypeScript for',
    ' Node.js 20.',
    '',
  ].join('\n'),
);
writeFile(at('DEBIAN/md5sums'), md5sums(staging));
writeFile(at('DEBIAN/conffiles'), '/etc/grub.d/08_apt-ostree-boot-counting\n');

step(`building ${relative(process.cwd(), debFile) || debFile}`);
rmSync(debFile, { force: true });
execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', staging, debFile], { stdio: ['ignore', 'ignore', 'inherit'] });
if (!keepStaging) rmSync(staging, { recursive: true, force: true });
for (const n of notes) process.stderr.write(`note: ${n}\n`);
process.stdout.write(`${debFile}\n`);

// ---- helpers ------------------------------------------------------------------------------

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  process.stderr.write(`build-deb: ${message}\n`);
  process.exit(1);
}

/** @param {string} text */
function step(text) {
  process.stderr.write(`build-deb: ${text}\n`);
}

/**
 * @param {string} path
 * @param {string | Buffer} content
 * @param {number} [mode]
 */
function writeFile(path, content, mode = 0o644) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

/**
 * @param {string} src
 * @param {string} dest
 * @param {{ optional?: boolean }} [opts]
 */
function copyInto(src, dest, opts = {}) {
  const from = join(root, src);
  if (!existsSync(from)) {
    if (opts.optional) {
      notes.push(`${src} does not exist yet: /${dest} is not in the package`);
      return;
    }
    fail(`${src} is missing (run \`npm run build\` first)`);
  }
  writeFile(at(dest), readFileSync(from));
}

/**
 * gzip -9n: best compression, no name or timestamp in the header (reproducible).
 * @param {Buffer} buf
 */
function gzip(buf) {
  return gzipSync(buf, { level: zlib.Z_BEST_COMPRESSION });
}

/**
 * What is not needed at run time: documentation, tests, TypeScript sources and declarations, maps.
 * @param {string} dir
 */
function pruneNodeModules(dir) {
  // Only directories that are never code: a module's doc/ or test/ may well be (yaml/dist/doc is).
  const dropDirs = new Set(['.bin', '.github', '.vscode', '__tests__']);
  /** @param {string} name */
  const dropFile = (name) =>
    /\.(md|markdown|map|d\.ts|d\.mts|d\.cts|tsbuildinfo|html|gif|png|jpe?g|svg)$/i.test(name) ||
    // Licenses are collected into /usr/share/doc/apt-ostree/copyright.
    /^(license|licence|copying|notice|authors|contributors|changelog|history)([.-][\w.-]+)?$/i.test(name) ||
    /^\.(npmignore|gitignore|gitattributes|eslintrc.*|prettierrc.*|editorconfig|travis\.yml|jshintrc|airtap\.yml|nycrc)$/i.test(name) ||
    /\.(ts|mts|cts)$/.test(name);
  // test/ at the top of a module, when its entry points (main, exports, bin…) do not lead into it.
  /**
   * @param {string} d
   * @param {string} name
   */
  const isModuleTestDir = (d, name) => {
    if (name !== 'test' && name !== 'tests') return false;
    const manifest = join(d, 'package.json');
    if (!existsSync(manifest)) return false;
    /** @type {Manifest} */
    const m = JSON.parse(readFileSync(manifest, 'utf8'));
    const entries = JSON.stringify([m.main, m.module, m.exports, m.bin, m.browser, m.imports]);
    return !entries.includes(`${name}/`);
  };
  /** @param {string} d */
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (dropDirs.has(e.name) || isModuleTestDir(d, e.name)) rmSync(p, { recursive: true, force: true });
        else walk(p);
      } else if (dropFile(e.name)) rmSync(p, { force: true });
    }
  };
  walk(dir);
  // Directories that held only what was dropped.
  /** @param {string} d */
  const dropEmpty = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) dropEmpty(join(d, e.name));
    if (d !== dir && readdirSync(d).length === 0) rmSync(d, { recursive: true });
  };
  dropEmpty(dir);
  // The lock file npm ci leaves behind describes the staging directory, not the package.
  rmSync(join(dir, '.package-lock.json'), { force: true });
}

/**
 * Every package under node_modules with its license (read from its license file) and copyright lines.
 * @param {string} dir
 * @returns {Module[]}
 */
function collectModules(dir) {
  /** @type {Module[]} */
  const out = [];
  /** @param {string} d */
  const visit = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name === '.bin') continue;
      const p = join(d, e.name);
      if (e.name.startsWith('@')) {
        visit(p);
        continue;
      }
      const manifest = join(p, 'package.json');
      if (!existsSync(manifest)) continue;
      /** @type {Manifest} */
      const m = JSON.parse(readFileSync(manifest, 'utf8'));
      const licenseFile = readdirSync(p).find((f) => /^(licen[cs]e|copying)/i.test(f));
      const text = licenseFile ? readFileSync(join(p, licenseFile), 'utf8') : '';
      out.push({ path: relative(dir, p), name: m.name, version: m.version, license: classifyLicense(m, text), text, copyright: copyrightLines(text, m) });
      if (existsSync(join(p, 'node_modules'))) visit(join(p, 'node_modules'));
    }
  };
  visit(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/**
 * The SPDX name of a module's license, from the text of its license file first (package.json fields vary).
 * @param {Manifest} manifest
 * @param {string} text
 * @returns {string}
 */
function classifyLicense(manifest, text) {
  const declared = JSON.stringify(manifest.license ?? manifest.licenses ?? '');
  if (/Dual Licensed MIT and Apache/i.test(text)) return 'Expat or Apache-2.0';
  if (/Permission is hereby granted, free of charge/i.test(text)) return 'Expat';
  if (/Permission to use, copy, modify, and\/or distribute this software/i.test(text)) return 'ISC';
  if (/Apache License\s+Version 2\.0/i.test(text)) return 'Apache-2.0';
  if (/Blue Oak Model License/i.test(text)) return 'BlueOak-1.0.0';
  if (/^"(MIT)"$/.test(declared)) return 'Expat';
  if (/^"(ISC|Apache-2\.0|BlueOak-1\.0\.0)"$/.test(declared)) return JSON.parse(declared);
  fail(`cannot tell the license of ${manifest.name}@${manifest.version} (package.json says ${declared || 'nothing'}); add a rule to classifyLicense`);
}

/**
 * @param {string} text
 * @param {Manifest} manifest
 * @returns {string[]}
 */
function copyrightLines(text, manifest) {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => /^(copyright|\(c\))\s/i.test(l) && !/notice|holder|owner/i.test(l));
  const cleaned = [...new Set(lines.map((l) => l.replace(/^copyright\s*(\(c\)|©)?\s*/i, '').trim()).filter(Boolean))];
  if (cleaned.length) return cleaned;
  const author = typeof manifest.author === 'string' ? manifest.author : manifest.author?.name;
  return [author ? `the authors of ${manifest.name} (${author})` : `the authors of ${manifest.name}`];
}

/**
 * Common license texts (a function: the build steps above run before this point is reached).
 * @returns {Record<string, string>}
 */
function licenseTexts() {
  return {
  Expat: `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`,
  ISC: `Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.`,
  'Apache-2.0': `Licensed under the Apache License, Version 2.0 (the "License"); you may not
use this file except in compliance with the License. Unless required by
applicable law or agreed to in writing, software distributed under the License
is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
KIND, either express or implied. See the License for the specific language
governing permissions and limitations under the License.

On Debian systems, the full text of the Apache License, Version 2.0 can be
found in the file /usr/share/common-licenses/Apache-2.0.`,
};
}

/**
 * debian/copyright in the machine-readable format: apt-ostree, then each bundled module.
 * @param {Module[]} mods
 */
function copyrightFile(mods) {
  const programLicense = pkg.license === 'MIT' ? 'Expat' : pkg.license;
  /** @param {string[]} fields */
  const para = (fields) => fields.filter(Boolean).join('\n');
  /** @param {string} text */
  const cont = (text) => text.split('\n').map((l) => (l.trim() ? ` ${l}` : ' .')).join('\n');
  const out = [
    para([
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      `Upstream-Name: ${PACKAGE}`,
      'Comment: apt-ostree bundles the Node.js modules it uses at run time under',
      ` /${PREFIX}/node_modules; their licenses follow.`,
    ]),
    para(['Files: *', 'Copyright: the apt-ostree developers', `License: ${programLicense}`]),
  ];
  for (const m of mods) {
    out.push(para([`Files: ${PREFIX}/node_modules/${m.path}/*`, `Copyright: ${m.copyright.join('\n ')}`, `License: ${m.license}`, `Comment: ${m.name} ${m.version}`]));
  }
  const used = new Set([programLicense, ...mods.flatMap((m) => m.license.split(' or '))]);
  for (const name of [...used].sort()) {
    let text = licenseTexts()[name];
    if (!text) {
      // A license without a common text here (BlueOak-1.0.0): the text a module ships.
      const m = mods.find((x) => x.license === name && x.text);
      if (!m) fail(`no text for the license ${name}`);
      text = m.text.trim();
    }
    out.push(`License: ${name}\n${cont(text)}`);
  }
  return out.join('\n\n') + '\n';
}

/** The Debian changelog of the package: one entry per released version. */
function changelog() {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH) || gitCommitTime() || Math.floor(Date.now() / 1000);
  const date = new Date(epoch * 1000).toUTCString().replace(/GMT$/, '+0000').replace(/^(\w{3}), 0?(\d+) /, '$1, $2 ');
  return [
    `${PACKAGE} (${version}) unstable; urgency=medium`,
    '',
    `  * Release ${version}. Targets Debian 13 (trixie) and newer, which have`,
    '    Node.js 20; see /usr/share/doc/apt-ostree for the upstream documentation.',
    '',
    ` -- ${MAINTAINER}  ${date}`,
    '',
  ].join('\n');
}

function gitCommitTime() {
  try {
    return Number(execFileSync('git', ['-C', root, 'log', '-1', '--format=%ct'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * 0755 for directories and scripts (files starting with #!: the bin shim, the guard, modules' own CLIs), 0644 for the rest.
 * @param {string} dir
 */
function normalizeModes(dir) {
  /** @param {string} d */
  const walk = (d) => {
    chmodSync(d, 0o755);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isSymbolicLink()) continue;
      if (e.isDirectory()) walk(p);
      else {
        const exec = readFileSync(p).subarray(0, 2).toString() === '#!';
        chmodSync(p, exec ? 0o755 : 0o644);
      }
    }
  };
  walk(dir);
}

/**
 * Installed-Size as dpkg-gencontrol computes it: KiB per file rounded up, 1 per directory or link.
 * @param {string} dir
 */
function installedSizeKiB(dir) {
  let total = 0;
  /** @param {string} d */
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        total += 1;
        walk(p);
      } else if (e.isSymbolicLink()) total += 1;
      else total += Math.ceil(statSync(p).size / 1024) || 1;
    }
  };
  walk(dir);
  return total;
}

/** @param {string} dir */
function md5sums(dir) {
  /** @type {string[]} */
  const lines = [];
  /** @param {string} d */
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (rel === 'DEBIAN') continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !lstatSync(p).isSymbolicLink()) lines.push(`${createHash('md5').update(readFileSync(p)).digest('hex')}  ${rel}`);
    }
  };
  walk(dir);
  return lines.join('\n') + '\n';
}
