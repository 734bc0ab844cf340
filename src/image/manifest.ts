/**
 * The compose manifest: YAML (or JSON, which is YAML), validated by a strict zod schema.
 * Every error names the file, the line and the key, and all of them are reported at once,
 * before any work is done.
 *
 *   ref: debian/bookworm/x86_64/minimal     (required) the OSTree ref to commit to
 *   suite: bookworm                          (required) suite or codename
 *   mirror: http://deb.debian.org/debian     or sources: [deb lines]  (not both)
 *   components: [main]                       with mirror only
 *   architecture: amd64                      default: the build host's
 *   variant: minbase                         mmdebstrap's variants
 *   packages: [apt, …]                       as apt takes them (name, name=version, name/suite)
 *   include-recommends: false
 *   kernel: false                            true: a kernel and initramfs must be in the image
 *   kargs: []                                default kernel arguments of deployments
 *   metadata: {key: value}                   extra string metadata of the commit
 *   files: {/etc/PATH: content}              files written before the packages are installed
 *   postprocess: [shell commands]            run inside the tree, in a bwrap sandbox
 *   version: YYYYMMDD.N                      literal, or a template (see expandVersion)
 *   apt-options: []                          extra apt configuration lines for the build
 */
import { readFileSync } from 'node:fs';
import { isMap, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { sha256Hex } from '../hash.js';
import { RELEASE_RE } from '../debian/names.js';
import { architectureSchema, packageRequestSchema } from '../debian/schemas.js';
import { kargProblem, kargProblemText } from '../engine/deployments/kargs.js';
import { checkMetadataKey, METADATA_KEY_RE, refProblem } from './refs.js';

const VARIANTS = ['custom', 'essential', 'apt', 'required', 'minbase', 'buildd', 'important', 'debootstrap', 'standard'] as const;
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
const DEFAULT_VERSION_TEMPLATE = 'YYYYMMDD.N';

const noNewline = (what: string) => z.string().min(1, `${what} is empty`).refine((s) => !/[\n\r\0]/.test(s), `${what} must be one line`);

const urlSchema = z.string().refine((s) => {
  try {
    return ['http:', 'https:', 'file:', 'copy:'].includes(new URL(s).protocol);
  } catch {
    return false;
  }
}, 'not an http(s), file or copy URL');

const sourceLineSchema = noNewline('a source line').refine((s) => /^deb(-src)?\s+(\[[^\]]*\]\s+)?\S+\s+\S+(\s+\S+)*$/.test(s.trim()), {
  message: 'not a one-line apt source ("deb [options] URI SUITE COMPONENT…")',
});

const manifestSchema = z
  .strictObject({
    ref: z.string().refine((s) => refProblem(s) === undefined, { error: (i) => `'${String(i.input)}' is not a valid OSTree ref: ${refProblem(String(i.input))}` }),
    suite: z.string().regex(RELEASE_RE, 'not a suite or codename (letters, digits and . + ~ _ -)'),
    mirror: urlSchema.optional(),
    sources: z.array(sourceLineSchema).min(1, 'give at least one source line').optional(),
    components: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9/._-]*$/, 'not a component name')).min(1).optional(),
    architecture: architectureSchema.optional(),
    variant: z.enum(VARIANTS).default('minbase'),
    packages: z.array(packageRequestSchema.transform((r) => r.text)).default([]),
    'include-recommends': z.boolean().default(false),
    kernel: z.boolean().default(false),
    kargs: z
      .array(z.string().refine((s) => kargProblem(s, { single: true }) === undefined, { error: (i) => kargProblemText(kargProblem(String(i.input), { single: true })!) }))
      .default([]),
    metadata: z
      .record(
        z.string().regex(METADATA_KEY_RE, 'metadata keys are letters, digits and . _ -').refine((k) => {
          try {
            checkMetadataKey(k);
            return true;
          } catch {
            return false;
          }
        }, 'this key is set by apt-ostree itself (version, aptostree.*, ostree.*)'),
        z.string(),
      )
      .default({}),
    files: z.record(z.string().refine((p) => filePathProblem(p) === undefined, { error: (i) => `'${String(i.input)}': ${filePathProblem(String(i.input))}` }), z.string()).optional(),
    postprocess: z.array(z.string().min(1, 'a postprocess command is empty')).default([]),
    version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.+~_:-]*$/, 'versions are letters, digits and . + ~ _ : -').default(DEFAULT_VERSION_TEMPLATE),
    'apt-options': z.array(noNewline('an apt option')).default([]),
  })
  .superRefine((m, ctx) => {
    if (m.mirror !== undefined && m.sources !== undefined) ctx.addIssue({ code: 'custom', path: ['sources'], message: 'give either mirror (with components) or sources, not both' });
    if (m.sources !== undefined && m.components !== undefined) ctx.addIssue({ code: 'custom', path: ['components'], message: 'components go with mirror; with sources, write them in the source lines' });
  });

export type Manifest = z.output<typeof manifestSchema>;

/**
 * Why PATH cannot be a `files` entry, or undefined. Files go into the versioned parts of the
 * image (/etc, /usr), as absolute, normalized paths.
 */
function filePathProblem(p: string): string | undefined {
  if (!/^\/(etc|usr)\/./.test(p)) return 'files are absolute paths under /etc or /usr';
  if (/[\0\n\r]/.test(p)) return 'a path must be one line';
  if (p.endsWith('/') || p.split('/').slice(1).some((c) => c === '' || c === '.' || c === '..')) return 'not a normalized path (no //, ., .. or trailing /)';
  if (p.split('/').some((c) => Buffer.byteLength(c) > 255)) return 'a path component is longer than 255 bytes';
  return undefined;
}

/** The manifest with every default filled in: what is hashed and stored in the commit. */
export interface ResolvedManifest extends Omit<Manifest, 'architecture' | 'components' | 'mirror' | 'sources'> {
  architecture: string;
  sources: string[];
}

/** The apt source lines of a manifest (mirror + suite + components, or its own lines). */
export function sourcesOf(m: Manifest): string[] {
  if (m.sources) return m.sources.map((s) => s.trim().replace(/\s+/g, ' '));
  return [`deb ${m.mirror ?? DEFAULT_MIRROR} ${m.suite} ${(m.components ?? ['main']).join(' ')}`];
}

export function resolveManifest(m: Manifest, hostArchitecture: string): ResolvedManifest {
  const { mirror: _mirror, components: _components, sources: _sources, ...rest } = m;
  return { ...rest, architecture: m.architecture ?? hostArchitecture, sources: sourcesOf(m) };
}

/** JSON with object keys sorted at every level: equal data, equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Parse and validate manifest text. Throws one InputError that lists every problem as
 * `FILE:LINE: key: problem`.
 */
export function parseManifest(text: string, file = 'manifest'): Manifest {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const problems = doc.errors.map((e) => `${file}:${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
    throw manifestError(file, problems, 'The manifest is not valid YAML or JSON.');
  }
  const data: unknown = doc.toJS();
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw manifestError(file, [`${file}:1: the manifest must be a mapping of keys (ref, suite, packages, …)`]);
  }
  const result = manifestSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `${file}:${keyLine(doc, lineCounter, issue.path as PathKey[], k)}: '${[...issue.path, k].join('.')}' is not a manifest key (known keys: ${Object.keys(manifestSchema.shape).join(', ')})`);
    }
    const path = issue.path as PathKey[];
    const node = doc.getIn(path, true) as Node | undefined;
    const missing = node === undefined && issue.code === 'invalid_type' && /received undefined/.test(issue.message);
    // A record key that fails its own check: zod wraps the reason in an invalid_key issue.
    const message = issue.code === 'invalid_key' && issue.issues[0] ? issue.issues[0].message : issue.message;
    const line = issue.code === 'invalid_key' || !node?.range ? keyLine(doc, lineCounter, path.slice(0, -1), path.at(-1)) : lineCounter.linePos(node.range[0]).line;
    const where = path.length ? path.join('.') : '(top level)';
    return [`${file}:${line}: ${where}: ${missing ? 'missing (required)' : tidyMessage(message)}`];
  });
  throw manifestError(file, sortByLine(problems));
}

type PathKey = string | number;

/** The line of `key` in the mapping at `path` (or of the mapping itself when the key is absent). */
function keyLine(doc: Document, lc: LineCounter, path: PathKey[], key: PathKey | undefined): number {
  const map = path.length ? doc.getIn(path, true) : doc.contents;
  if (isMap(map)) {
    const pair = map.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
    const range = (pair?.key as Node | undefined)?.range ?? map.range;
    if (range) return lc.linePos(range[0]).line;
  }
  return 1;
}

/** `FILE:LINE: …` problems in line order (zod reports them in schema order). */
function sortByLine(problems: string[]): string[] {
  const line = (p: string) => Number(/:(\d+): /.exec(p)?.[1] ?? 0);
  return [...problems].sort((a, b) => line(a) - line(b));
}

function tidyMessage(m: string): string {
  return m.replace(/^Invalid input: /, '').replace(/^Invalid option: /, '');
}

function manifestError(file: string, problems: string[], head?: string): InputError {
  const first = problems[0] ?? `${file}: invalid`;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  const err = new InputError(`${head ? `${head} ` : ''}${first}${more}`, 'Fix the manifest; see examples/minimal-bookworm.yaml and docs/layout.md for the keys.');
  // Every problem, one per line, shown under the message.
  if (problems.length > 1) Object.defineProperty(err, 'detail', { value: problems.join('\n') });
  return err;
}

export function readManifest(path: string): Manifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`Cannot read the manifest ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}.`, 'Give the path of a manifest file, e.g. examples/minimal-bookworm.yaml.');
  }
  return parseManifest(text, path);
}

// ---------------------------------------------------------------------------------------------
// version templates and the inputhash

/**
 * The version of the next commit. A template without YYYYMMDD and without a trailing .N is
 * used as it is. YYYYMMDD is today's date (UTC). A trailing .N is a counter: 0 for the first
 * commit with this prefix, then one more than the previous commit's (20261125.0, 20261125.1,
 * and 20261126.0 the next day).
 */
export function expandVersion(template: string, previous: string | undefined, now: Date = new Date()): string {
  const date = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}${String(now.getUTCDate()).padStart(2, '0')}`;
  const expanded = template.replace(/YYYYMMDD/g, date);
  if (!expanded.endsWith('.N')) return expanded;
  const prefix = expanded.slice(0, -2);
  const m = previous !== undefined && previous.startsWith(`${prefix}.`) ? /^(\d+)$/.exec(previous.slice(prefix.length + 1)) : null;
  return `${prefix}.${m ? Number(m[1]) + 1 : 0}`;
}

export interface ResolvedPackage {
  name: string;
  version: string;
  architecture: string;
}

/**
 * What decides whether a compose makes a new commit: the manifest (defaults filled in; the
 * version as written, a template is not expanded), the package set apt resolved from it
 * (name=version:arch, sorted), and the layout version.
 */
export function inputHash(m: ResolvedManifest, packages: ResolvedPackage[], layoutVersion: number): string {
  const hashed = m;
  const pkgs = packages.map((p) => `${p.name}=${p.version}:${p.architecture}`).sort();
  return sha256Hex(`apt-ostree-inputhash-v1\nlayout ${layoutVersion}\n${canonicalJson(hashed)}\n${pkgs.join('\n')}\n`);
}

