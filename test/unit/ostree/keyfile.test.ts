// The GKeyFile reader/writer used for origin files and remotes: what it reads and what it writes
// back. Where it agrees with GLib's own GKeyFile (through `ostree config get`) is checked in
// test/integration/agreement/ostree-keyfile.test.ts.
import { describe, expect, it } from 'vitest';
import { KeyFile, scanKeyFile } from '../../../src/ostree/keyfile.js';

const ORIGIN = [
  '# written by hand',
  '',
  '[origin]',
  'refspec=origin:debian/12/x86_64/base',
  '# pinned by deploy',
  'override-commit=0123abcd',
  '',
  '[packages]',
  'requested=htop;vim=2:9.0.1378-2;',
  '',
  '[libostree-transient]',
  'pinned=true',
  '',
].join('\n');

describe('KeyFile.parse and toString', () => {
  it('writes back an unchanged file byte for byte: comments, blank lines, group and key order', () => {
    expect(KeyFile.parse(ORIGIN).toString()).toBe(ORIGIN);
  });

  it('reads groups and keys in file order', () => {
    const kf = KeyFile.parse(ORIGIN);
    expect(kf.groupNames()).toEqual(['origin', 'packages', 'libostree-transient']);
    expect(kf.keys('origin')).toEqual(['refspec', 'override-commit']);
    expect(kf.keys('nosuch')).toEqual([]);
    expect(kf.has('origin', 'refspec')).toBe(true);
    expect(kf.has('origin', 'pinned')).toBe(false);
    expect(kf.has('nosuch', 'refspec')).toBe(false);
    expect(kf.problems).toEqual([]);
  });

  it('trims the key and the spaces after "=", keeps spaces inside, and writes key=value back', () => {
    const kf = KeyFile.parse('[g]\n  a key  =   some value  \r\nb=x=y\n');
    expect(kf.keys('g')).toEqual(['a key', 'b']);
    expect(kf.get('g', 'a key')).toBe('some value  '); // trailing spaces are part of the value, as in GKeyFile
    expect(kf.get('g', 'b')).toBe('x=y'); // only the first '=' separates
    expect(kf.toString()).toBe('[g]\na key=some value  \nb=x=y\n');
  });

  it('ends a group with a blank line and the file with one newline', () => {
    expect(KeyFile.parse('[a]\nx=1\n[b]\ny=2').toString()).toBe('[a]\nx=1\n\n[b]\ny=2\n');
    expect(KeyFile.parse('[a]\nx=1\n\n\n\n').toString()).toBe('[a]\nx=1\n'); // blank lines at the end go
    expect(KeyFile.parse('[a]\nx=1\n\n\n[b]\n').toString()).toBe('[a]\nx=1\n\n\n[b]\n'); // those between groups stay
  });

  it('merges a group that appears twice into its first place, as GKeyFile does', () => {
    const kf = KeyFile.parse('[a]\nx=1\n\n[b]\ny=2\n\n[a]\nz=3\n');
    expect(kf.groupNames()).toEqual(['a', 'b']);
    expect(kf.keys('a')).toEqual(['x', 'z']);
  });

  it('lets the last of duplicate keys win, as GKeyFile does', () => {
    const kf = KeyFile.parse('[g]\nk=1\nk=2\n');
    expect(kf.get('g', 'k')).toBe('2');
  });
});

describe('values: get, getBool, getList and their escapes', () => {
  it('unescapes \\s \\n \\t \\r \\\\ in a value', () => {
    const kf = KeyFile.parse('[g]\nk=\\s lead\\ttab\\nline\\rcr\\\\back\n');
    expect(kf.get('g', 'k')).toBe('  lead\ttab\nline\rcr\\back');
    expect(kf.get('g', 'missing')).toBeUndefined();
    expect(kf.get('missing', 'k')).toBeUndefined();
  });

  it('does not unescape twice: \\\\s is a backslash and an s', () => {
    expect(KeyFile.parse('[g]\nk=\\\\s\n').get('g', 'k')).toBe('\\s');
  });

  it('reads booleans: only "true" (spaces around allowed) is true', () => {
    const kf = KeyFile.parse('[g]\na=true\nb=false\nc=true  \nd=yes\n');
    expect(kf.getBool('g', 'a')).toBe(true);
    expect(kf.getBool('g', 'b')).toBe(false);
    expect(kf.getBool('g', 'c')).toBe(true);
    expect(kf.getBool('g', 'd')).toBe(false);
    expect(kf.getBool('g', 'missing')).toBe(false);
  });

  it('splits lists on ";", with or without the trailing one, keeping empty items between', () => {
    const kf = KeyFile.parse('[g]\na=x;y;\nb=x;y\nc=\nd=x;;y;\ne=;\n');
    expect(kf.getList('g', 'a')).toEqual(['x', 'y']);
    expect(kf.getList('g', 'b')).toEqual(['x', 'y']);
    expect(kf.getList('g', 'c')).toEqual([]);
    expect(kf.getList('g', 'd')).toEqual(['x', '', 'y']);
    expect(kf.getList('g', 'e')).toEqual(['']);
    expect(kf.getList('g', 'missing')).toEqual([]);
  });

  it('keeps an escaped ";" inside a list item, and splits after an escaped backslash', () => {
    const kf = KeyFile.parse('[g]\na=one;t\\;wo;\\sthree;\nb=x\\\\;y;\n');
    expect(kf.getList('g', 'a')).toEqual(['one', 't;wo', ' three']);
    expect(kf.getList('g', 'b')).toEqual(['x\\', 'y']);
  });

  it('reads \\; in a plain value as ";" (GKeyFile refuses that escape outside lists; we are lenient)', () => {
    expect(KeyFile.parse('[g]\nk=a\\;b\n').get('g', 'k')).toBe('a;b');
  });

  it('reads 1 and 0 as booleans, as g_key_file_get_boolean does (pinned=1 is pinned)', () => {
    const kf = KeyFile.parse('[g]\na=1\nb=0\nc=yes\n');
    expect(kf.getBool('g', 'a')).toBe(true);
    expect(kf.getBool('g', 'b')).toBe(false);
    expect(kf.getBool('g', 'c')).toBe(false);
  });
});

describe('set, setBool, setList, remove, removeGroup', () => {
  it('changes a value in place and escapes what needs it', () => {
    const kf = KeyFile.parse(ORIGIN);
    kf.set('origin', 'refspec', ' lead\ttab\nnl\\back');
    expect(kf.toString()).toContain('\nrefspec=\\slead\\ttab\\nnl\\\\back\n');
    expect(kf.get('origin', 'refspec')).toBe(' lead\ttab\nnl\\back');
    // Only the place of that line changed.
    expect(kf.toString().split('\n').filter((l) => !l.startsWith('refspec='))).toEqual(ORIGIN.split('\n').filter((l) => !l.startsWith('refspec=')));
  });

  it('adds a new key after the last entry of its group, before the comments and blank lines ending it', () => {
    const kf = KeyFile.parse('[a]\nx=1\n# end of a\n\n[b]\ny=2\n');
    kf.set('a', 'new', 'v');
    expect(kf.toString()).toBe('[a]\nx=1\nnew=v\n# end of a\n\n[b]\ny=2\n');
  });

  it('adds a new group at the end', () => {
    const kf = KeyFile.parse('[a]\nx=1\n');
    kf.setBool('z', 'pinned', true);
    kf.setBool('z', 'other', false);
    expect(kf.toString()).toBe('[a]\nx=1\n\n[z]\npinned=true\nother=false\n');
    expect(kf.getBool('z', 'pinned')).toBe(true);
  });

  it('writes lists with a trailing ";" and escapes ";" inside items; getList reads them back', () => {
    const kf = new KeyFile();
    const items = ['htop', 'a;b', ' lead', 'back\\slash', 'tab\there'];
    kf.setList('packages', 'requested', items);
    expect(kf.toString()).toBe('[packages]\nrequested=htop;a\\;b;\\slead;back\\\\slash;tab\\there;\n');
    expect(kf.getList('packages', 'requested')).toEqual(items);
    kf.setList('packages', 'requested', []);
    expect(kf.getList('packages', 'requested')).toEqual([]);
    expect(kf.has('packages', 'requested')).toBe(true);
  });

  it('round-trips values through set/toString/parse/get, leading spaces included', () => {
    const values = ['', ' ', '  two', 'trailing  ', 'a\\nb', '\\', 'x=y', '#not a comment', 'é ünïcode'];
    const kf = new KeyFile();
    values.forEach((v, i) => kf.set('g', `k${i}`, v));
    const back = KeyFile.parse(kf.toString());
    values.forEach((v, i) => expect(back.get('g', `k${i}`), JSON.stringify(v)).toBe(v));
    expect(back.problems).toEqual([]);
  });

  it('removes a key; the group goes when its last key does', () => {
    const kf = KeyFile.parse(ORIGIN);
    kf.remove('origin', 'override-commit');
    expect(kf.keys('origin')).toEqual(['refspec']);
    expect(kf.toString()).not.toContain('override-commit');
    expect(kf.toString()).toContain('# pinned by deploy'); // comments of the group stay while it does
    kf.remove('libostree-transient', 'pinned');
    expect(kf.groupNames()).toEqual(['origin', 'packages']);
    expect(kf.toString()).not.toContain('[libostree-transient]');
    kf.remove('nosuch', 'k'); // no-op
    kf.remove('origin', 'nosuch');
    expect(kf.keys('origin')).toEqual(['refspec']);
  });

  it('removes every line of a duplicated key', () => {
    const kf = KeyFile.parse('[g]\nk=1\nother=x\nk=2\n');
    kf.remove('g', 'k');
    expect(kf.has('g', 'k')).toBe(false);
    expect(kf.toString()).toBe('[g]\nother=x\n');
  });

  it('removes a whole group with its comments', () => {
    const kf = KeyFile.parse(ORIGIN);
    kf.removeGroup('origin');
    expect(kf.groupNames()).toEqual(['packages', 'libostree-transient']);
    expect(kf.toString()).toBe(['# written by hand', '', '[packages]', 'requested=htop;vim=2:9.0.1378-2;', '', '[libostree-transient]', 'pinned=true', ''].join('\n'));
  });

  it('changes the last of a key given twice, the one get() reads (as GLib does)', () => {
    const kf = KeyFile.parse('[g]\nk=1\nk=2\n');
    kf.set('g', 'k', '3');
    expect(kf.get('g', 'k')).toBe('3');
    expect(kf.toString()).toBe('[g]\nk=1\nk=3\n');
  });
});

describe('malformed lines', () => {
  it('skips them, records each with its 1-based line number, and leaves them out when writing', () => {
    const kf = KeyFile.parse('before=group\n[g]\nk=v\ngarbage\n=novalue\n[a[b]\n[]\n');
    expect(kf.problems).toEqual([
      { line: 1, text: 'before=group', reason: 'comes before any [group] header' },
      { line: 4, text: 'garbage', reason: 'is not a [group] header, a key=value line or a comment' },
      { line: 5, text: '=novalue', reason: 'is not a [group] header, a key=value line or a comment' },
      { line: 6, text: '[a[b]', reason: 'is not a [group] header, a key=value line or a comment' },
      { line: 7, text: '[]', reason: 'is not a [group] header, a key=value line or a comment' },
    ]);
    expect(kf.get('g', 'k')).toBe('v');
    expect(kf.toString()).toBe('[g]\nk=v\n');
  });
});

describe('scanKeyFile', () => {
  it('classifies each line, 1-based, with the raw value and without the line end', () => {
    expect(scanKeyFile('# c\r\nk0=v\n  [grp]  \n key = \\s v \n\nbad\n')).toEqual([
      { kind: 'comment', line: 1, text: '# c' },
      { kind: 'bad', line: 2, text: 'k0=v', reason: 'comes before any [group] header', key: 'k0' },
      { kind: 'group', line: 3, text: '  [grp]  ', name: 'grp' },
      { kind: 'entry', line: 4, text: ' key = \\s v ', key: 'key', value: '\\s v ' },
      { kind: 'comment', line: 5, text: '' },
      { kind: 'bad', line: 6, text: 'bad', reason: 'is not a [group] header, a key=value line or a comment' },
      { kind: 'comment', line: 7, text: '' },
    ]);
  });

  it('treats "#" as a comment only at the start of a line', () => {
    const lines = scanKeyFile('[g]\n   # indented comment\nk=v # not a comment\n');
    expect(lines[1]).toMatchObject({ kind: 'comment' });
    expect(lines[2]).toMatchObject({ kind: 'entry', key: 'k', value: 'v # not a comment' });
  });
});
