import { describe, expect, it } from 'vitest';
import { AptOstreeError } from '../../../../src/errors.js';
import { KeyFile } from '../../../../src/ostree/keyfile.js';
import {
  checkOriginAgainstCommit,
  hasClientLayer,
  newOrigin,
  originFileText,
  parseOrigin,
  sameOrigin,
  serializeOrigin,
  validateOrigin,
  type Origin,
} from '../../../../src/engine/deployments/origin.js';

const GOOD = '[origin]\nbaserefspec=origin:debian/12/x86_64/base\n\n[packages]\nrequested=hello-ao;htop;\n';
const SHA = 'a'.repeat(64);

function problemOf(data: string | Buffer): string | undefined {
  return validateOrigin(data).damage?.problem;
}

describe('validateOrigin', () => {
  it('accepts what ostree and apt-ostree write', () => {
    expect(validateOrigin(GOOD).damage).toBeUndefined();
    expect(validateOrigin(Buffer.from(GOOD)).origin.requestedPackages).toEqual(['hello-ao', 'htop']);
    expect(problemOf('[origin]\nrefspec=origin:debian/12/x86_64/base\n')).toBeUndefined();
    expect(problemOf('[origin]\nrefspec=localref\n')).toBeUndefined();
    expect(problemOf(`# a comment\n[origin]\nrefspec=o:a/b\noverride-commit=${SHA}\n\n[libostree-transient]\npinned=true\n`)).toBeUndefined();
    expect(problemOf('[origin]\r\nrefspec=o:a.b/c_d-e\r\n')).toBeUndefined();
  });

  it('refuses an empty file', () => {
    expect(problemOf('')).toBe('the file is empty');
    expect(problemOf(Buffer.alloc(0))).toBe('the file is empty');
    expect(problemOf('\n\n  \n')).toBe('the file is empty');
    expect(validateOrigin('').damage?.unloadable).toBe(false);
  });

  it('refuses a file cut off in a group header or a key, as ostree does (unloadable)', () => {
    const header = validateOrigin('[origin]\nbaserefspec=origin:debian/12/x86_64/base\n[packa');
    expect(header.damage?.problem).toMatch(/^line 3 "\[packa" is not a \[group\] header/);
    expect(header.damage?.unloadable).toBe(true);
    const key = validateOrigin('[origin]\nbaserefspec=origin:debian/12/x86_64/base\n\n[packages]\nrequest\n');
    expect(key.damage?.problem).toMatch(/^line 5 "request" is not/);
    expect(key.damage?.unloadable).toBe(true);
    expect(problemOf('refspec=o:a\n')).toMatch(/comes before any \[group\] header/);
    expect(problemOf('[origin]\n=x\n')).toMatch(/line 2/);
  });

  it('refuses a file cut off in a value (no newline at the end)', () => {
    const d = validateOrigin('[origin]\nrefspec=origin:debian/12/x86');
    expect(d.damage?.problem).toMatch(/last line "refspec=origin:debian\/12\/x86" is cut off/);
    expect(d.damage?.unloadable).toBe(false);
    expect(problemOf('[origin]\nbaserefspec=origin:debian/12/x86_64/base\n\n[packages]\nrequested=hello-ao;ht')).toMatch(/cut off/);
  });

  it('refuses an origin without a usable refspec', () => {
    expect(problemOf('[packages]\nrequested=a;\n')).toBe('it has no [origin] group');
    expect(problemOf('[origin]\nunlocked=hotfix\n')).toBe('it has no refspec');
    expect(problemOf('[origin]\nrefspec=\n')).toBe('its refspec is empty');
    expect(problemOf('[origin]\nbaserefspec=\n[packages]\nrequested=a;\n')).toBe('its baserefspec is empty');
    expect(problemOf('[origin]\nrefspec=bad ref!\n')).toMatch(/^its refspec "bad ref!" is not an OSTree refspec/);
    expect(problemOf('[origin]\nrefspec=origin:\n')).toMatch(/not an OSTree refspec/);
    expect(problemOf('[origin]\nrefspec=origin:a//b\n')).toMatch(/not an OSTree refspec/);
    expect(problemOf('[origin]\nrefspec=o:a\nbaserefspec=o:a\n')).toBe('it has both refspec and baserefspec');
  });

  it('refuses an override-commit that is not a checksum', () => {
    expect(problemOf('[origin]\nrefspec=o:a\noverride-commit=abc123\n')).toBe('its override-commit "abc123" is not a commit checksum');
    expect(problemOf('[origin]\nrefspec=o:a\noverride-commit=\n')).toMatch(/override-commit "" is not/);
  });

  it('refuses a baserefspec left alone (the [packages] group lost at a line end)', () => {
    expect(problemOf('[origin]\nbaserefspec=origin:debian/12/x86_64/base\n')).toMatch(/baserefspec .* but no \[packages\]/);
    // Something else layered keeps it meaningful.
    expect(problemOf('[origin]\nbaserefspec=o:a\n\n[aptostree]\nregenerate-initramfs=true\n')).toBeUndefined();
  });

  it('refuses bytes that are not text, as ostree does (unloadable)', () => {
    const nul = validateOrigin(Buffer.from('[origin]\nrefspec=o:a\n\0\0\0\n'));
    expect(nul.damage).toEqual({ problem: 'it contains NUL bytes, it is not a text file', unloadable: true });
    const latin1 = validateOrigin(Buffer.from([...Buffer.from('[origin]\nrefspec=o:a\n'), 0xff, 0xfe, 0x0a]));
    expect(latin1.damage).toEqual({ problem: 'it is not UTF-8 text', unloadable: true });
    // Problems are quoted without the control characters.
    expect(problemOf('[origin]\nrefspec=o:a\n[pa\x1b\n')).toMatch(/"\[pa\?"/);
  });

  it('still reads pinned leniently from a damaged file', () => {
    const d = validateOrigin('[origin]\nrefspec=\n\n[libostree-transient]\npinned=true\n');
    expect(d.damage).toBeDefined();
    expect(d.origin.pinned).toBe(true);
  });
});

describe('KeyFile.parse', () => {
  it('stays lenient and records the lines it skipped', () => {
    const kf = KeyFile.parse('orphan=1\n[g]\nkey=v\nnot a line\n[broken\nName[de]=x\n');
    expect(kf.get('g', 'key')).toBe('v');
    expect(kf.get('g', 'Name[de]')).toBe('x');
    expect(kf.problems.map((p) => p.line)).toEqual([1, 4, 5]);
    expect(KeyFile.parse('[a]\nb=c\n').problems).toEqual([]);
  });
});

describe('checkOriginAgainstCommit', () => {
  const layered = {
    'aptostree.clientlayer': true,
    'aptostree.base-checksum': SHA,
    'aptostree.requested-packages': ['hello-ao'],
    'aptostree.packages': ['hello-ao', 'local-ao'],
    'aptostree.removed-base-packages': ['nano'],
  };
  const full = parseOrigin(
    `[origin]\nbaserefspec=o:a\n\n[packages]\nrequested=hello-ao;\nrequested-local=${SHA}:local-ao_1.0_all;\n\n[overrides]\nremove=nano;\n`,
  );

  it('accepts an origin asking for at least what the commit was built with', () => {
    expect(checkOriginAgainstCommit(full, layered)).toBeUndefined();
    expect(checkOriginAgainstCommit({ ...full, requestedPackages: ['hello-ao', 'more'] }, layered)).toBeUndefined();
    // A commit that is not layered records nothing to compare with.
    expect(checkOriginAgainstCommit(newOrigin('o:a'), { version: '1.0' })).toBeUndefined();
  });

  it('names what the origin lost', () => {
    const lost = checkOriginAgainstCommit(parseOrigin('[origin]\nbaserefspec=o:a\n'), layered);
    expect(lost).toMatch(/the layered package hello-ao, the removal of nano, the local package local-ao, which the deployment's commit was built with/);
    expect(checkOriginAgainstCommit({ ...full, requestedPackages: [] }, layered)).toMatch(/^it does not ask for the layered package hello-ao,/);
    expect(checkOriginAgainstCommit(full, { ...layered, 'aptostree.initramfs-args': [] })).toMatch(/the initramfs regeneration/);
  });
});

describe('serializeOrigin round trip', () => {
  const origins: Origin[] = [
    newOrigin('origin:debian/12/x86_64/base'),
    parseOrigin(GOOD),
    {
      ...newOrigin('origin:debian/12/x86_64/base'),
      overrideCommit: SHA,
      requestedPackages: ['zz', 'hello-ao=1.0', 'odd;name', ' space'],
      requestedLocalPackages: [`${SHA}:local-ao_1.0_all`],
      removedBasePackages: ['nano'],
      replacedPackages: ['tzdata=2024a-1'],
      replacedLocalPackages: [`${SHA}:bash_5.2_amd64`],
      regenerateInitramfs: true,
      initramfsArgs: ['-I', '/etc/foo', '--add=lvm'],
    },
    // Comments and unknown groups are kept; pinned and unlocked are not carried over.
    parseOrigin(`# kept\n[origin]\nrefspec=o:a\nunlocked=hotfix\n\n[custom]\nx=1\n\n[libostree-transient]\npinned=true\n`),
  ];

  it('parses back to the same origin, validly', () => {
    for (const o of origins) {
      const text = serializeOrigin(o);
      const back = validateOrigin(text);
      expect(back.damage, text).toBeUndefined();
      expect(sameOrigin(back.origin, o), text).toBe(true);
      expect(hasClientLayer(back.origin)).toBe(hasClientLayer(o));
      expect(back.origin.pinned).toBe(false);
      expect(back.origin.unlocked).toBeUndefined();
      expect(serializeOrigin(back.origin)).toBe(text);
      expect(originFileText(o)).toBe(text);
    }
  });

  it('keeps the order of initramfs arguments', () => {
    const o = { ...newOrigin('o:a'), regenerateInitramfs: true, initramfsArgs: ['-I', '/etc/foo'] };
    expect(validateOrigin(serializeOrigin(o)).origin.initramfsArgs).toEqual(['-I', '/etc/foo']);
  });

  it('refuses to write an origin it could not read back', () => {
    for (const bad of [newOrigin(''), { ...newOrigin('o:a'), refspec: 'not a ref' }, { ...newOrigin('o:a'), overrideCommit: 'abc' }]) {
      expect(() => originFileText(bad)).toThrow(AptOstreeError);
    }
    expect(() => originFileText({ ...newOrigin('o:a'), refspec: '' })).toThrow(/could not read back: its refspec is empty/);
  });
});
