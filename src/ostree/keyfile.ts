/**
 * GKeyFile ("INI") reading and writing, as ostree uses for origin files and remotes.
 * Order of groups and keys, and comments, are kept, so that an origin we rewrite differs
 * from the original only in what we changed.
 */

type Line = { kind: 'comment'; text: string } | { kind: 'entry'; key: string; value: string };

/** A line GKeyFile would refuse (and with it the whole file); KeyFile.parse skips it. */
export interface KeyFileProblem {
  /** 1-based. */
  line: number;
  text: string;
  reason: string;
}

/** One line of a key file as GKeyFile reads it; `line` is 1-based, `text` without its line end. */
export type KeyFileLine =
  | { kind: 'group'; line: number; text: string; name: string }
  /** `value` is raw (escapes kept), with the spaces after '=' removed. */
  | { kind: 'entry'; line: number; text: string; key: string; value: string }
  /** A blank line or a # comment. */
  | { kind: 'comment'; line: number; text: string }
  /** A line GKeyFile refuses; `key` is set for a key=value line before any group. */
  | { kind: 'bad'; line: number; text: string; reason: string; key?: string };

/** The lines of a key file: the one reading of the format that KeyFile and apt-ostree.conf share. */
export function scanKeyFile(text: string): KeyFileLine[] {
  let inGroup = false;
  return text.split('\n').map((raw, i): KeyFileLine => {
    const line = raw.replace(/\r$/, '');
    const n = i + 1;
    const trimmed = line.trim();
    const group = /^\[([^[\]]+)\]$/.exec(trimmed);
    if (group) {
      inGroup = true;
      return { kind: 'group', line: n, text: line, name: group[1]! };
    }
    if (trimmed === '' || trimmed.startsWith('#')) return { kind: 'comment', line: n, text: line };
    const eq = line.indexOf('=');
    const key = eq < 0 ? '' : line.slice(0, eq).trim();
    if (!key) return { kind: 'bad', line: n, text: line, reason: 'is not a [group] header, a key=value line or a comment' };
    if (!inGroup) return { kind: 'bad', line: n, text: line, reason: 'comes before any [group] header', key };
    return { kind: 'entry', line: n, text: line, key, value: line.slice(eq + 1).trimStart() };
  });
}

export class KeyFile {
  private groups = new Map<string, Line[]>();
  private header: string[] = [];
  /**
   * Lines skipped when reading. Reading stays lenient (remotes, repo config), but a caller that
   * must not act on a damaged file (an origin: see origin.ts) looks here.
   */
  readonly problems: KeyFileProblem[] = [];

  static parse(text: string): KeyFile {
    const kf = new KeyFile();
    let current: Line[] | undefined;
    for (const l of scanKeyFile(text)) {
      if (l.kind === 'group') {
        current = kf.groups.get(l.name) ?? [];
        kf.groups.set(l.name, current);
      } else if (l.kind === 'comment') {
        if (current) current.push({ kind: 'comment', text: l.text });
        else kf.header.push(l.text);
      } else if (l.kind === 'bad') {
        kf.problems.push({ line: l.line, text: l.text, reason: l.reason });
      } else {
        current!.push({ kind: 'entry', key: l.key, value: l.value });
      }
    }
    return kf;
  }

  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  keys(group: string): string[] {
    return (this.groups.get(group) ?? []).flatMap((l) => (l.kind === 'entry' ? [l.key] : []));
  }

  has(group: string, key: string): boolean {
    return this.raw(group, key) !== undefined;
  }

  private raw(group: string, key: string): string | undefined {
    const lines = this.groups.get(group);
    if (!lines) return undefined;
    for (let i = lines.length - 1; i >= 0; i--) {
      const l = lines[i]!;
      if (l.kind === 'entry' && l.key === key) return l.value;
    }
    return undefined;
  }

  get(group: string, key: string): string | undefined {
    const v = this.raw(group, key);
    return v === undefined ? undefined : unescapeValue(v);
  }

  getBool(group: string, key: string): boolean {
    // As GLib's g_key_file_get_boolean: true or 1.
    const v = this.get(group, key)?.trim();
    return v === 'true' || v === '1';
  }

  getList(group: string, key: string): string[] {
    const v = this.raw(group, key);
    if (v === undefined) return [];
    const items: string[] = [];
    let cur = '';
    for (let i = 0; i < v.length; i++) {
      const c = v[i]!;
      if (c === '\\' && i + 1 < v.length) {
        cur += c + v[i + 1];
        i++;
      } else if (c === ';') {
        items.push(unescapeValue(cur));
        cur = '';
      } else cur += c;
    }
    if (cur !== '') items.push(unescapeValue(cur));
    return items;
  }

  set(group: string, key: string, value: string): void {
    this.setRaw(group, key, escapeValue(value));
  }

  setBool(group: string, key: string, value: boolean): void {
    this.setRaw(group, key, value ? 'true' : 'false');
  }

  setList(group: string, key: string, values: readonly string[]): void {
    this.setRaw(group, key, values.map((v) => escapeValue(v).replace(/;/g, '\\;') + ';').join(''));
  }

  private setRaw(group: string, key: string, value: string): void {
    let lines = this.groups.get(group);
    if (!lines) {
      lines = [];
      this.groups.set(group, lines);
    }
    // The last one, which get() reads (and GLib changes), when a key is there twice.
    const existing = [...lines].reverse().find((l) => l.kind === 'entry' && l.key === key);
    if (existing && existing.kind === 'entry') existing.value = value;
    else {
      // After the group's last entry, before the blank lines and comments that end it.
      let at = lines.length;
      while (at > 0 && lines[at - 1]!.kind === 'comment') at--;
      lines.splice(at, 0, { kind: 'entry', key, value });
    }
  }

  remove(group: string, key: string): void {
    const lines = this.groups.get(group);
    if (!lines) return;
    this.groups.set(group, lines.filter((l) => !(l.kind === 'entry' && l.key === key)));
    if (this.keys(group).length === 0) this.groups.delete(group);
  }

  removeGroup(group: string): void {
    this.groups.delete(group);
  }

  toString(): string {
    const out: string[] = [...this.header];
    for (const [name, lines] of this.groups) {
      out.push(`[${name}]`);
      for (const l of lines) out.push(l.kind === 'comment' ? l.text : `${l.key}=${l.value}`);
      if (out.at(-1) !== '') out.push('');
    }
    while (out.length > 1 && out.at(-1) === '' && out.at(-2) === '') out.pop();
    return out.join('\n').replace(/\n*$/, '\n');
  }
}

function unescapeValue(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => ({ s: ' ', n: '\n', t: '\t', r: '\r', '\\': '\\', ';': ';' })[c] ?? c);
}

function escapeValue(v: string): string {
  return v
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t')
    .replace(/\r/g, '\\r')
    .replace(/^ /, '\\s');
}
