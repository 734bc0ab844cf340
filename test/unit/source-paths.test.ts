// Every source path named in the comments of src/ and in README.md, src/README.md and docs/*.md
// exists, so that a comment or a document never sends the reader to a file that moved.
//
// What counts as a path: a word of letters, digits, '.', '_' and '-' parts joined by '/' that
// ends in .ts, .js, .mjs or .md (`engine/deployments/sysroot.ts`, `src/cli/main.ts`, `layout.md`),
// not preceded by '/', ':' or '~' (absolute paths on the target system such as
// /usr/lib/apt-ostree/lib/cli/main.js, URLs and ~/ paths are not ours). A `*` in it is a glob
// (`completions/*.in`, `docs/*.md`), skipped. Where the path is looked for:
// - lib/X.js is the build of src/X.ts, so src/X.ts must exist (lib/bundle/ is the bundle of
//   scripts/bundle.mjs, whose file names it chooses: not checked);
// - it starts with a top-level entry of the project (src/, test/, docs/, scripts/ …): from the
//   project root, or else (dbus/ is also a folder of src/) as below;
// - otherwise it is relative to the file that names it, or to src/, or, with at least one '/',
//   the end of a path of the project (`health/fallback.ts` from engine/); a bare file name
//   (`layout.ts`, `install.mjs`) must be the name of a file of the project. A .js name stands
//   for its .ts source too. The project: every file but node_modules/, lib/ and .git/.
// Not paths: NOT_OURS below, each a product name or a path in another project's tree.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SKIP_DIRS = new Set(['node_modules', 'lib', '.git']);

function filesUnder(dir: string, keep: (p: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (SKIP_DIRS.has(n)) return [];
    return statSync(p).isDirectory() ? filesUnder(p, keep) : keep(p) ? [p] : [];
  });
}

/** The text of every comment of a TypeScript file (a comment before several nodes counted once). */
export function commentsOf(text: string): string[] {
  const sf = ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, false);
  const seen = new Map<number, string>();
  const collect = (pos: number) => {
    for (const r of [...(ts.getLeadingCommentRanges(text, pos) ?? []), ...(ts.getTrailingCommentRanges(text, pos) ?? [])]) seen.set(r.pos, text.slice(r.pos, r.end));
  };
  const visit = (node: ts.Node) => {
    collect(node.getFullStart());
    collect(node.getEnd());
    node.forEachChild(visit);
  };
  visit(sf);
  return [...seen.values()];
}

const PATH = /(?<![\w./:~-])((?:[\w.-]+\/)*[\w.*-]+\.(?:ts|js|mjs|md))(?![\w/-])/g;

/** The paths a text names (see the header). */
export function pathsIn(text: string): string[] {
  return [...text.matchAll(PATH)].map((m) => m[1]!).filter((p) => !p.includes('*') && !NOT_OURS.has(p));
}

/** Words the pattern takes for paths that are not ours: a product name, another project's file. */
const NOT_OURS = new Set([
  'Node.js',
  'doc/json-hooks-protocol.md', // in apt's source tree (system/apt.ts says so)
]);

const TOP_LEVEL = new Set(readdirSync(ROOT));
const PROJECT_FILES = filesUnder(ROOT, () => true).map((p) => relative(ROOT, p));
const NAMES = new Set(PROJECT_FILES.map((p) => basename(p)));

/** The names a path may stand for: itself, and for a .js name its .ts source. */
const variants = (p: string) => (p.endsWith('.js') ? [p, p.replace(/\.js$/, '.ts')] : [p]);

/** Whether `path`, named in the file `from` (relative to the project root), exists (see the header). */
export function pathExists(path: string, from: string): boolean {
  const first = path.split('/')[0]!;
  if (path.includes('/') && first === 'lib') return path.startsWith('lib/bundle/') || existsSync(join(ROOT, 'src', path.slice(4).replace(/\.js$/, '.ts')));
  if (path.includes('/') && TOP_LEVEL.has(first) && variants(path).some((p) => existsSync(join(ROOT, p)))) return true;
  for (const p of variants(path)) {
    if (existsSync(resolve(ROOT, dirname(from), p)) || existsSync(join(ROOT, 'src', p))) return true;
    if (!p.includes('/') ? NAMES.has(p) : PROJECT_FILES.some((f) => f.endsWith(`/${p.replace(/^(\.\.?\/)+/, '')}`))) return true;
  }
  return false;
}

/** Every path named by the sources' comments and the documents, as "FILE: PATH". */
function namedPaths(): Array<{ from: string; path: string }> {
  const out: Array<{ from: string; path: string }> = [];
  for (const file of filesUnder(join(ROOT, 'src'), (p) => p.endsWith('.ts'))) {
    const from = relative(ROOT, file);
    for (const c of commentsOf(readFileSync(file, 'utf8'))) for (const path of pathsIn(c)) out.push({ from, path });
  }
  const docs = ['README.md', 'src/README.md', ...readdirSync(join(ROOT, 'docs')).filter((n) => n.endsWith('.md')).map((n) => `docs/${n}`)];
  for (const from of docs) for (const path of pathsIn(readFileSync(join(ROOT, from), 'utf8'))) out.push({ from, path });
  return out;
}

describe('source paths named in comments and documents', () => {
  it('finds paths in comments, and tells a missing one', () => {
    const comments = commentsOf("// see engine/deployments/sysroot.ts\nconst url = 'https://x/y/z.ts'; /* and `src/nowhere/gone.ts` */\n");
    expect(comments.flatMap(pathsIn)).toEqual(['engine/deployments/sysroot.ts', 'src/nowhere/gone.ts']);
    expect(pathExists('engine/deployments/sysroot.ts', 'src/cli/main.ts')).toBe(true);
    expect(pathExists('src/nowhere/gone.ts', 'src/cli/main.ts')).toBe(false);
    expect(pathExists('health/fallback.ts', 'src/engine/deployments/boot-counting.ts')).toBe(false);
    expect(pathExists('lib/cli/main.js', 'README.md')).toBe(true);
    expect(pathExists('lib/cli/gone.js', 'README.md')).toBe(false);
  });

  it('names only files that exist', () => {
    const missing = namedPaths().filter(({ from, path }) => !pathExists(path, from)).map(({ from, path }) => `${from}: ${path}`);
    expect(missing).toEqual([]);
  });
});
