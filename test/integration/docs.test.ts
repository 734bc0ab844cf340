/**
 * The man pages and completions generated from the command specs: they agree with what the real
 * binary's --help shows, render without groff warnings, load and complete in real bash and zsh
 * (package names from a real sysroot's origin and a real apt cache), and are up to date.
 */
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flattenCommands } from '../../src/cli/spec.js';
import { Sysroot } from '../../src/engine/deployments/sysroot.js';
import { makeAptRepo } from '../fixtures/apt-repo.js';
import { cli, PROJECT_ROOT, sh } from '../fixtures/env.js';
import { makeSyntheticSysroot, type TestSysroot } from '../fixtures/sysroot.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const MAN8 = join(PROJECT_ROOT, 'man', 'apt-ostree.8');
const MAN5 = join(PROJECT_ROOT, 'man', 'apt-ostree.conf.5');
const BASH = join(PROJECT_ROOT, 'completions', 'apt-ostree.bash');
const ZSH_DIR = join(PROJECT_ROOT, 'completions');
const GLOBAL = 'GLOBAL OPTIONS';
/** The man page's OPTIONS section: options of apt-ostree without a command. */
const TOP = 'OPTIONS';

/** Option names (long and short) in the option column of yargs' help. */
function helpOptions(help: string): Set<string> {
  const out = new Set<string>();
  for (const l of help.split('\n')) {
    // Option lines start with a dash after a small indent; wrapped descriptions are indented far more.
    const m = /^ {2,6}(-.*?)(?: {2,}|$)/.exec(l);
    if (m) for (const f of m[1]!.matchAll(/(?<![\w-])--?[\w][\w-]*/g)) out.add(f[0]);
  }
  return out;
}

function unroff(s: string): string {
  return s.replace(/\\f[BIRP]/g, '').replace(/\\:/g, '').replace(/\\-/g, '-').replace(/\\&/g, '').replace(/^"|"$/g, '');
}

/** The options documented in each command's section of apt-ostree(8), and in GLOBAL OPTIONS. */
function manOptions(roff: string): Map<string, Set<string>> {
  const sections = new Map<string, Set<string>>();
  const lines = roff.split('\n');
  let current: string | undefined;
  lines.forEach((l, i) => {
    if (l.startsWith('.SS ')) {
      current = unroff(l.slice(4)).replace(/^apt-ostree /, '');
      sections.set(current, new Set());
    } else if (l.startsWith('.SH ')) {
      const title = unroff(l.slice(4));
      current = title === GLOBAL || title === TOP ? title : undefined;
      if (current) sections.set(current, new Set());
    } else if (l === '.TP' && current && lines[i + 1]!.startsWith('\\fB\\-')) {
      for (const f of unroff(lines[i + 1]!).matchAll(/(?<![\w-])--?[\w][\w-]*/g)) sections.get(current)!.add(f[0]);
    }
  });
  return sections;
}

describe('apt-ostree(8) agrees with --help', () => {
  const commands = flattenCommands();
  const man = manOptions(readFileSync(MAN8, 'utf8'));

  it('has a section for every command and subcommand, and none for anything else', () => {
    expect(commands.length).toBeGreaterThan(1);
    expect([...man.keys()].filter((k) => k !== GLOBAL && k !== TOP).sort()).toEqual(commands.map((c) => c.path).sort());
    expect(man.get(GLOBAL)).toEqual(new Set(['--sysroot', '--os', '--stateroot', '-q', '--quiet', '-v', '--verbose', '--dbus-compat', '-h', '--help']));
    expect(man.get(TOP)).toEqual(new Set(['--version']));
  });

  it('documents exactly the options that `apt-ostree COMMAND --help` shows, for every command', async () => {
    const globals = man.get(GLOBAL)!;
    const results = await Promise.all(commands.map(async (c) => ({ c, r: await cli([...c.path.split(' '), '--help'], { uid: 65534 }) })));
    for (const { c, r } of results) {
      expect(r.code, `${c.path} --help: ${r.stderr}`).toBe(0);
      const help = helpOptions(r.stdout);
      const documented = man.get(c.path)!;
      expect(help.size, c.path).toBeGreaterThanOrEqual(globals.size);
      for (const g of globals) expect(documented.has(g), `${c.path} repeats global ${g}`).toBe(false);
      expect([...help].sort(), `options of '${c.path}'`).toEqual([...documented, ...globals].sort());
    }
    const top = await cli(['--help'], { uid: 65534 });
    expect([...helpOptions(top.stdout)].sort(), 'options of apt-ostree without a command').toEqual([...man.get(TOP)!, ...globals].sort());
  });
});

describe('man pages render', () => {
  for (const page of [MAN8, MAN5]) {
    it(`${page.split('/').pop()} renders with man -l, and groff -ww prints no warnings`, async () => {
      const groff = await execa('groff', ['-ww', '-man', '-Tutf8', page], { reject: false });
      expect(groff.exitCode).toBe(0);
      expect(groff.stderr).toBe('');
      const man = await execa('man', ['-l', page], { reject: false, env: { MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80', MAN_KEEP_FORMATTING: '' } });
      expect(man.exitCode, man.stderr).toBe(0);
      expect(man.stderr).toBe('');
      expect(man.stdout).toMatch(/^NAME$/m);
      expect(man.stdout).toMatch(/^SEE ALSO$/m);
    });
  }

  it('apt-ostree(8) has the exit codes, files and environment, and every command', async () => {
    const text = (await execa('man', ['-l', MAN8], { env: { MANPAGER: 'cat', MANWIDTH: '200' } })).stdout;
    for (const code of ['77', '130, 143']) expect(text).toMatch(new RegExp(`^ {7}${code}\\b`, 'm'));
    for (const f of ['/etc/apt-ostree/apt-ostree.conf', '/ostree/apt-ostree.flock', '/ostree/deploy/OS/var/cache/apt-ostree', '.origin']) expect(text).toContain(f);
    for (const v of ['DBUS_SYSTEM_BUS_ADDRESS', 'NO_COLOR']) expect(text).toContain(v);
    for (const c of flattenCommands()) expect(text).toContain(`apt-ostree ${c.path}`);
  });

  it('apt-ostree.conf(5) documents every key with its default', async () => {
    const text = (await execa('man', ['-l', MAN5], { env: { MANPAGER: 'cat', MANWIDTH: '200' } })).stdout;
    for (const k of ['AutomaticUpdatePolicy=none|check|stage', 'LockLayering=true|false', 'DisableRecommends=true|false', 'MaxConcurrentDownloads=number', 'DownloadTimeout=seconds', 'PackageListsMaxAge=seconds', 'Enabled=true|false', 'LiveFs=true|false']) {
      expect(text).toContain(k);
    }
    expect(text).toContain('Default: 300.');
    expect(text).toContain('Default: 86400.');
    expect(text).toContain('[Experimental]');
  });
});

describe('generated files are up to date', () => {
  const GENERATED = ['man/apt-ostree.8', 'man/apt-ostree.conf.5', 'completions/apt-ostree.bash', 'completions/_apt-ostree', 'examples/apt-ostree.conf', 'docs/rpm-ostree-compat.md'];

  it('the man pages, completions and example config on disk equal what the built code renders', async () => {
    const r = await execa('node', [join(PROJECT_ROOT, 'scripts', 'gen-docs.mjs'), '--check'], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('the committed ones equal what the committed code renders (checked when src/ has no uncommitted changes)', async (ctx) => {
    // `npm test` builds first, and the build rewrites the files: a stale commit shows up as a change.
    const git = (args: string[]) => execa('git', ['-C', PROJECT_ROOT, ...args], { reject: false });
    if ((await git(['rev-parse', '--is-inside-work-tree'])).exitCode !== 0) ctx.skip();
    const sources = (await git(['status', '--porcelain', '--', 'src', 'scripts/gen-docs.mjs', 'package.json'])).stdout.trim();
    if (sources) ctx.skip();
    const changed = (await git(['status', '--porcelain', '--', ...GENERATED])).stdout.trim();
    expect(changed, 'generated files differ from the commit: run `npm run build` and commit them').toBe('');
  });
});

// ---------------------------------------------------------------------------------------------
// Shell completions, run in the real shells.

const BASH_HARNESS = `
source /usr/share/bash-completion/bash_completion
source "$1"
fn=$(complete -p apt-ostree | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')
[[ -n $fn ]] || { echo 'apt-ostree has no completion function' >&2; exit 3; }
line=$2
COMP_LINE=$line COMP_POINT=\${#line}
# bash splits words at = (COMP_WORDBREAKS); bash-completion joins them again.
read -ra COMP_WORDS <<<"\${line//=/ = }"
[[ $line == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
COMPREPLY=()
"$fn" apt-ostree "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "\${COMPREPLY[@]}"
`;

/**
 * Completes lines in one interactive zsh on a pseudo-terminal, with compadd wrapped to print
 * every match, and the completion loaded from $fpath as zsh users install it. Prints each
 * line's matches followed by a line "--END--". LISTMAX: a command with more options than the
 * pseudo-terminal has lines would otherwise make zsh ask "do you wish to see all N
 * possibilities?", and the next line's keys would answer it.
 */
const ZSH_HARNESS = `
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z 'PROMPT=
LISTMAX=100000
bindkey -e
fpath=('"$1"' $fpath)
autoload -Uz compinit
compinit -u -D
compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "$@"; return $?; fi
  local -a __hits
  builtin compadd -A __hits "$@"
  local h
  for h in $__hits; do print -r -- "MATCH:$h" >/dev/tty; done
  builtin compadd "$@"
}
_capture_done() { print -r -- CAPTURE-DONE >/dev/tty }
_capture_complete() { comppostfuncs=(_capture_done); _main_complete }
zle -C capture-complete complete-word _capture_complete
bindkey "^I" capture-complete
print -r -- SETUP-DONE'
zpty -r z out '*SETUP-DONE*SETUP-DONE*' || { print 'zsh setup failed' >&2; exit 2 }
shift
for line in "$@"; do
  zpty -w -n z "$line"$'\\t'
  zpty -r z out '*CAPTURE-DONE*' || exit 3
  print -r -- "$out" | tr -d '\\r' | sed -n 's/^.*MATCH://p'
  print -r -- --END--
  zpty -w -n z $'\\x15'
done
zpty -d z
`;

describe('shell completions', () => {
  let tmp: string;
  let s: TestSysroot;
  let bashHarness: string;
  let zshHarness: string;

  beforeAll(async () => {
    tmp = makeTemp('completion-');
    bashHarness = join(tmp, 'harness.bash');
    zshHarness = join(tmp, 'harness.zsh');
    writeFileSync(bashHarness, BASH_HARNESS);
    writeFileSync(zshHarness, ZSH_HARNESS);
    mkdirSync(join(tmp, 'sr'));
    s = await makeSyntheticSysroot(join(tmp, 'sr'), { versions: ['1.0', '2.0'] });
    // Layered packages as install writes them: the default deployment's and the rollback's differ.
    const [def, rollback] = Sysroot.load(s.sysroot).deployments;
    const origin = (d: typeof def, packages: string) =>
      writeFileSync(d!.originPath, `${readFileSync(d!.originPath, 'utf8').replace('refspec=', 'baserefspec=')}\n[packages]\n${packages}\n`);
    // Words a shell must not expand: completion must never run what a sysroot's files say.
    origin(def, `requested=htop;vim-tiny;libc6:amd64;$(touch ${join(tmp, 'pwned')});\nrequested-local=0123abcd:vendor-tool;`);
    origin(rollback, 'requested=emacs;');
  });
  afterAll(async () => removeTemp(tmp));

  async function bash(line: string, opts: { env?: Record<string, string>; uid?: number; cwd?: string } = {}): Promise<string[]> {
    const r = await execa('bash', [bashHarness, BASH, line], { reject: false, env: opts.env, uid: opts.uid, gid: opts.uid, cwd: opts.cwd });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    return String(r.stdout).split('\n').filter(Boolean).sort();
  }

  /** The matches zsh offers for each line (one zsh session for all of them: compinit is slow). */
  async function zshMany(lines: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<string[][]> {
    const r = await execa('zsh', ['-f', zshHarness, ZSH_DIR, ...lines], { reject: false, env: opts.env, cwd: opts.cwd, timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const blocks = String(r.stdout).split(/^--END--$/m).slice(0, lines.length);
    expect(blocks).toHaveLength(lines.length);
    // zsh reports matches as they would be inserted: quoted for the shell.
    return blocks.map((b) => [...new Set(b.split('\n').filter(Boolean).map((m) => m.replace(/\\(.)/g, '$1')))].sort());
  }

  async function zsh(line: string, opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<string[]> {
    return (await zshMany([line], opts))[0]!;
  }

  it('bash: the script passes bash -n and loads after bash-completion', async () => {
    await sh('bash', ['-n', BASH]);
    const r = await execa('bash', ['-c', 'source /usr/share/bash-completion/bash_completion && source "$0" && complete -p apt-ostree', BASH], { reject: false });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/complete -F \S+ apt-ostree/);
  });

  it('zsh: the script loads when sourced after compinit and from $fpath, without output', async () => {
    const sourced = await execa('zsh', ['-c', 'autoload -Uz compinit; compinit -u; source "$0"', join(ZSH_DIR, '_apt-ostree')], { reject: false });
    expect(sourced.stderr).toBe('');
    expect(sourced.stdout).toBe('');
    expect(sourced.exitCode).toBe(0);
    const fpath = await execa('zsh', ['-c', `fpath=("$0" $fpath); autoload -Uz compinit; compinit -u; print -r -- $_comps[apt-ostree]`, ZSH_DIR], { reject: false });
    expect(fpath.stderr).toBe('');
    expect(fpath.stdout.trim()).toBe('_apt-ostree');
  });

  it('complete commands: apt-ostree sta<TAB> gives status, in bash and zsh', async () => {
    expect(await bash('apt-ostree sta')).toEqual(['status']);
    expect(await zsh('apt-ostree sta')).toEqual(['status']);
    const all = flattenCommands().filter((c) => !c.path.includes(' ')).map((c) => c.spec.name);
    for (const name of all) expect(await bash('apt-ostree ')).toContain(name);
    expect(await bash('apt-ostree --sysroot /tmp -q st')).toEqual(['status']);
  });

  it('complete, for every command, exactly the options its --help shows (bash and zsh)', async () => {
    const commands = flattenCommands();
    const zshResults = await zshMany(commands.map((c) => `apt-ostree ${c.path} -`));
    const results = await Promise.all(
      commands.map(async (c, i) => ({
        c,
        help: helpOptions((await cli([...c.path.split(' '), '--help'])).stdout),
        bash: await bash(`apt-ostree ${c.path} -`),
        zsh: zshResults[i]!,
      })),
    );
    for (const r of results) {
      expect(r.bash, `bash: apt-ostree ${r.c.path} -`).toEqual([...r.help].sort());
      expect(r.zsh, `zsh: apt-ostree ${r.c.path} -`).toEqual([...r.help].sort());
    }
    const top = [...helpOptions((await cli(['--help'])).stdout)].sort();
    expect(await bash('apt-ostree -')).toEqual(top);
    expect(await zsh('apt-ostree -')).toEqual(top);
  });

  it('complete the layered packages of the default deployment for uninstall (and its alias), also for a non-root user', async () => {
    const want = [`$(touch ${join(tmp, 'pwned')})`, 'htop', 'libc6:amd64', 'vendor-tool', 'vim-tiny'].sort();
    expect(await bash(`apt-ostree --sysroot ${s.sysroot} uninstall `)).toEqual(want);
    expect(await bash(`apt-ostree --sysroot ${s.sysroot} remove v`)).toEqual(['vendor-tool', 'vim-tiny']);
    expect(await bash(`apt-ostree --sysroot=${s.sysroot} remove vi`)).toEqual(['vim-tiny']);
    expect(await bash(`apt-ostree uninstall --sysroot ${s.sysroot} htop `, { uid: 65534 })).toEqual(want);
    expect(await bash(`apt-ostree --sysroot ${s.sysroot} --os nope uninstall `)).toEqual([]);
    expect(await bash(`apt-ostree --sysroot ${s.sysroot} --os ${s.os} install --uninstall h`)).toEqual(['htop']);
    expect(await zsh(`apt-ostree --sysroot ${s.sysroot} uninstall `)).toEqual(want);
    expect(await zsh(`apt-ostree --sysroot=${s.sysroot} remove vi`)).toEqual(['vim-tiny']);
    expect(await bash(`apt-ostree --sysroot ${s.sysroot} remove libc`)).toEqual(['libc6:amd64']);
    expect(existsSync(join(tmp, 'pwned'))).toBe(false);
  });

  it('complete stateroots for --os and directories for --sysroot', async () => {
    expect(await bash(`apt-ostree --sysroot ${s.sysroot} --os `)).toEqual([s.os]);
    expect(await bash(`apt-ostree --sysroot ${s.sysroot} --os=`)).toEqual([s.os]);
    expect(await zsh(`apt-ostree --sysroot ${s.sysroot} --os `)).toEqual([s.os]);
    const dirs = join(tmp, 'dirs');
    mkdirSync(join(dirs, 'sysroot-a'), { recursive: true });
    writeFileSync(join(dirs, 'sysroot-file'), '');
    expect(await bash(`apt-ostree --sysroot ${dirs}/sys`)).toEqual([join(dirs, 'sysroot-a')]);
    expect(await zsh(`apt-ostree --sysroot ${dirs}/sys`)).toEqual(['sysroot-a']);
  });

  it('complete package names from the apt cache for install, and .deb files for paths', async () => {
    // A real apt cache of a real repository, in its own directory (APT_CONFIG), as apt-get update makes it.
    const repo = await makeAptRepo(join(tmp, 'repo'), ['aotest-alpha', 'aotest-beta', 'other-pkg'].map((name) => ({ name })));
    const aptDir = join(tmp, 'apt');
    for (const d of ['state/lists/partial', 'cache/archives/partial', 'etc/sources.list.d', 'etc/preferences.d', 'etc/apt.conf.d']) mkdirSync(join(aptDir, d), { recursive: true });
    writeFileSync(join(aptDir, 'status'), '');
    writeFileSync(join(aptDir, 'etc', 'sources.list'), `deb [trusted=yes] file:${repo.dir} ./\n`);
    const conf = (pkgcache: string) =>
      [
        `Dir::State "${aptDir}/state/";`,
        `Dir::State::status "${aptDir}/status";`,
        `Dir::Cache "${aptDir}/cache/";`,
        `Dir::Cache::pkgcache "${pkgcache}";`,
        `Dir::Cache::srcpkgcache "";`,
        `Dir::Etc "${aptDir}/etc/";`,
        `Dir::Etc::Parts "${aptDir}/etc/apt.conf.d/";`,
        `APT::Sandbox::User "root";`,
      ].join('\n') + '\n';
    writeFileSync(join(aptDir, 'with-cache.conf'), conf('pkgcache.bin'));
    writeFileSync(join(aptDir, 'no-cache.conf'), conf(''));
    chmodSync(tmp, 0o755);
    const withCache = { APT_CONFIG: join(aptDir, 'with-cache.conf') };
    await sh('apt-get', ['update', '-q'], { env: withCache });
    const noCache = { APT_CONFIG: join(aptDir, 'no-cache.conf') };
    // The cheap path (the cache file) and the fallback (apt configured to keep no cache file).
    for (const env of [withCache, noCache]) {
      expect(await bash('apt-ostree install aotest-', { env })).toEqual(['aotest-alpha', 'aotest-beta']);
      expect(await bash('apt-ostree uninstall --install aotest-a', { env })).toEqual(['aotest-alpha']);
      expect(await zsh('apt-ostree install aotest-', { env })).toEqual(['aotest-alpha', 'aotest-beta']);
    }
    // A path: local .deb files (and directories to walk into), not other files.
    const files = join(tmp, 'files');
    mkdirSync(join(files, 'sub'), { recursive: true });
    writeFileSync(join(files, 'tool_1.0_all.deb'), '');
    writeFileSync(join(files, 'notes.txt'), '');
    const b = await bash('apt-ostree install ./', { cwd: files });
    expect(b).toContain('./tool_1.0_all.deb');
    expect(b).not.toContain('./notes.txt');
    const z = await zsh('apt-ostree install ./', { cwd: files });
    expect(z).toContain('tool_1.0_all.deb');
    expect(z).not.toContain('notes.txt');
  });
});
