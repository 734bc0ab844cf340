/**
 * A deployment's apt sources as apt reads them (sources.list(5)): /etc/apt/sources.list, then
 * the *.list and *.sources files of /etc/apt/sources.list.d in name order. One entry per
 * deb822 stanza and per one-line entry, disabled ones included ("Enabled: no", and one-line
 * entries commented out, the way sources.list(5) and software-properties disable them).
 *
 * Each entry is named as apt names it (`apt-get indextargets` Sourcesentry): the file as it is
 * on the deployed system and the stanza's number in the file (deb822, counting from 1) or the
 * line number (one-line format): `/etc/apt/sources.list.d/debian.sources:1`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDeb822 } from '../../debian/deb822.js';

/** Where the sources are on the deployed system (ids and file names use it). */
export const ETC_APT = '/etc/apt';

export interface AptSource {
  /** FILE:N, as apt's Sourcesentry. */
  id: string;
  /** The file on the deployed system (/etc/apt/sources.list.d/debian.sources). */
  file: string;
  format: 'deb822' | 'one-line';
  /** deb, deb-src. */
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  enabled: boolean;
  /** Signed-By: a keyring path (or fingerprints, or an inline key), when given. */
  signedBy?: string;
  /** Architectures the entry is limited to, when given. */
  architectures?: string[];
  /** X-Repolib-Name, when given (the human name some tools give a deb822 source). */
  name?: string;
}

/** apt's source part files: sources.list.d names it reads (apt-pkg's GetListOfFilesInDir with its silent ignores). */
const PART_RE = /^[A-Za-z0-9_.-]+\.(list|sources)$/;

const words = (v: string | undefined) => (v ?? '').split(/\s+/).filter(Boolean);
const yes = (v: string | undefined) => !/^(no|false|without|off|disable)$/i.test((v ?? 'yes').trim());

/** The entries of a deb822 .sources file's text. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  return parseDeb822(text, { comments: true, source: file }).map((s, i) => {
    const signedBy = s.get('Signed-By');
    const arch = words(s.get('Architectures'));
    return {
      id: `${file}:${i + 1}`,
      file,
      format: 'deb822',
      types: words(s.get('Types')),
      uris: words(s.get('URIs')),
      suites: words(s.get('Suites')),
      components: words(s.get('Components')),
      enabled: yes(s.get('Enabled')),
      ...(signedBy ? { signedBy: signedBy.trim() } : {}),
      ...(arch.length ? { architectures: arch } : {}),
      ...(s.get('X-Repolib-Name') ? { name: s.get('X-Repolib-Name')!.trim() } : {}),
    } satisfies AptSource;
  });
}

/** `deb [opt=value …] URI SUITE [COMPONENT…]` (the text after any '#'), or undefined when it is not one. */
function parseOneLine(text: string): Omit<AptSource, 'id' | 'file' | 'format' | 'enabled'> | undefined {
  const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s*)?(\S+)\s+(\S+)((?:\s+\S+)*)\s*$/.exec(text.trim());
  if (!m || !/^[a-z][a-z0-9+.-]*:[^[\]]*$/i.test(m[3]!)) return undefined;
  const options = new Map<string, string>();
  for (const o of words(m[2])) {
    const eq = o.indexOf('=');
    if (eq > 0) options.set(o.slice(0, eq).replace(/[+-]$/, '').toLowerCase(), o.slice(eq + 1));
  }
  const arch = (options.get('arch') ?? '').split(',').filter(Boolean);
  return {
    types: [m[1]!],
    uris: [m[3]!],
    suites: [m[4]!],
    components: words(m[5]),
    ...(options.get('signed-by') ? { signedBy: options.get('signed-by')!.split(',').join(' ') } : {}),
    ...(arch.length ? { architectures: arch } : {}),
  };
}

/** A line up to its first '#' outside [options], as apt cuts it. */
function withoutComment(line: string): string {
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '[') depth++;
    else if (c === ']') depth = Math.max(depth - 1, 0);
    else if (c === '#' && depth === 0) return line.slice(0, i);
  }
  return line;
}

/** The entries of a one-line sources.list file's text; `# deb …` lines are disabled entries. */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (!line) return;
    const commented = /^#+\s*/.exec(line);
    const body = withoutComment(commented ? line.slice(commented[0].length) : line);
    const entry = parseOneLine(body);
    if (entry) out.push({ id: `${file}:${i + 1}`, file, format: 'one-line', enabled: !commented, ...entry });
  });
  return out;
}

/**
 * The sources of the apt configuration directory `etcApt` (a deployment's etc/apt), in the
 * order apt reads them. Files are named as on the deployed system (ETC_APT).
 */
export function readAptSources(etcApt: string): AptSource[] {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
      throw e;
    }
  };
  const out: AptSource[] = [];
  const main = read(join(etcApt, 'sources.list'));
  if (main !== undefined) out.push(...parseOneLineSources(main, `${ETC_APT}/sources.list`));
  let parts: string[] = [];
  try {
    parts = readdirSync(join(etcApt, 'sources.list.d')).filter((n) => PART_RE.test(n)).sort();
  } catch {
    /* no sources.list.d */
  }
  for (const name of parts) {
    const text = read(join(etcApt, 'sources.list.d', name));
    if (text === undefined) continue;
    const file = `${ETC_APT}/sources.list.d/${name}`;
    out.push(...(name.endsWith('.sources') ? parseDeb822Sources(text, file) : parseOneLineSources(text, file)));
  }
  return out;
}

/** The entry as a sources.list line would show it: `deb http://deb.debian.org/debian trixie main`. */
export function sourceLine(s: AptSource): string {
  return [s.types.join(' '), s.uris.join(' '), s.suites.join(' '), ...s.components].filter(Boolean).join(' ');
}
