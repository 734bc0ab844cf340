import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { variantRequests } from '../../../src/image/compose.js';
import { canonicalJson, expandVersion, inputHash, parseManifest, resolveManifest, sourcesOf } from '../../../src/image/manifest.js';
import { CACHE_IN_HOOK, mmdebstrapArgs } from '../../../src/system/mmdebstrap.js';

const BASE = 'ref: debian/bookworm/x86_64/minimal\nsuite: bookworm\npackages: [apt]\n';

function problems(text: string): string {
  try {
    parseManifest(text, 'm.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    const err = e as InputError;
    return `${err.message}\n${err.detail ?? ''}`;
  }
  throw new Error('expected the manifest to be refused');
}

describe('parseManifest', () => {
  it('fills in the defaults', () => {
    const m = parseManifest(BASE);
    expect(m).toMatchObject({ variant: 'minbase', kernel: false, 'include-recommends': false, kargs: [], metadata: {}, postprocess: [], version: 'YYYYMMDD.N', 'apt-options': [] });
    expect(sourcesOf(m)).toEqual(['deb http://deb.debian.org/debian bookworm main']);
    expect(resolveManifest(m, 'arm64')).toMatchObject({ architecture: 'arm64', sources: ['deb http://deb.debian.org/debian bookworm main'] });
  });

  it('reads the example manifest the demo uses', () => {
    const m = parseManifest(readFileSync(new URL('../../../examples/minimal-bookworm.yaml', import.meta.url), 'utf8'));
    expect(m.ref).toBe('debian/bookworm/x86_64/minimal');
    expect(m.packages).toContain('apt');
  });

  it('names the line of an unknown key', () => {
    expect(problems(`${BASE}\nkernal: true\n`)).toMatch(/^m\.yaml:5: 'kernal' is not a manifest key \(known keys: ref, suite/);
    expect(problems(`${BASE}metadata:\n  ok.key: x\n  version: y\n`)).toMatch(/m\.yaml:6: metadata\.version: this key is set by apt-ostree itself/);
  });

  it('names key and line of a wrong type, and lists every problem', () => {
    const text = problems(`${BASE}kernel: yes please\nkargs: quiet\nvariant: tiny\n`);
    expect(text).toMatch(/m\.yaml:4: kernel: expected boolean, received string \(and 2 more problems\)/);
    expect(text).toMatch(/m\.yaml:5: kargs: expected array/);
    expect(text).toMatch(/m\.yaml:6: variant: expected one of/);
  });

  it('reports a missing required key', () => {
    expect(problems('suite: bookworm\n')).toMatch(/m\.yaml:1: ref: missing \(required\)/);
  });

  it('checks refs, package names, source lines, URLs and kernel arguments', () => {
    expect(problems(BASE.replace('debian/bookworm/x86_64/minimal', '/abs/ref'))).toMatch(/m\.yaml:1: ref: '\/abs\/ref' is not a valid OSTree ref/);
    expect(problems(BASE.replace('[apt]', '[apt, "apt; rm -rf /"]'))).toMatch(/m\.yaml:3: packages\.1: 'apt; rm -rf \/' is not a valid package/);
    expect(problems(`${BASE}sources: ["http://example.org bookworm main"]\n`)).toMatch(/sources\.0: not a one-line apt source/);
    expect(problems(`${BASE}mirror: ftp://example.org/debian\n`)).toMatch(/mirror: not an http\(s\), file or copy URL/);
    expect(problems(`${BASE}kargs: ["console=ttyS0 quiet"]\n`)).toMatch(/kargs\.0: one kernel argument/);
    expect(problems(`${BASE}kargs: ["quiet", "ostree=/x"]\n`)).toMatch(/kargs\.1: 'ostree=' is written by ostree itself/);
    expect(parseManifest(`${BASE}kargs: ['foo="a b"']\n`, 'm.yaml').kargs).toEqual(['foo="a b"']);
    expect(problems(`${BASE}mirror: http://a/debian\nsources: ["deb http://b/debian bookworm main"]\n`)).toMatch(/not both/);
  });

  it('accepts JSON, and package requests with versions and suites', () => {
    const m = parseManifest(JSON.stringify({ ref: 'a/b', suite: 'bookworm', packages: ['hello=2.10-3', 'vim/bookworm-backports', 'libc6:i386'] }));
    expect(m.packages).toEqual(['hello=2.10-3', 'vim/bookworm-backports', 'libc6:i386']);
  });

  it('refuses what is not a mapping, and YAML errors with their line', () => {
    expect(problems('- a\n- b\n')).toMatch(/must be a mapping/);
    expect(problems('ref: a\nref: b\nsuite: bookworm\n')).toMatch(/not valid YAML or JSON\. m\.yaml:2:/);
  });
});

describe('expandVersion', () => {
  const day = new Date('2026-11-25T10:00:00Z');
  it('keeps a literal version', () => {
    expect(expandVersion('12.4', '12.3', day)).toBe('12.4');
  });
  it('counts up within a day and starts again the next day', () => {
    expect(expandVersion('YYYYMMDD.N', undefined, day)).toBe('20261125.0');
    expect(expandVersion('YYYYMMDD.N', '20261125.0', day)).toBe('20261125.1');
    expect(expandVersion('YYYYMMDD.N', '20261125.9', day)).toBe('20261125.10');
    expect(expandVersion('YYYYMMDD.N', '20261124.3', day)).toBe('20261125.0');
    expect(expandVersion('YYYYMMDD.N', 'something else', day)).toBe('20261125.0');
  });
  it('supports prefixes and a counter without a date', () => {
    expect(expandVersion('12.YYYYMMDD.N', '12.20261125.1', day)).toBe('12.20261125.2');
    expect(expandVersion('bookworm.N', 'bookworm.41', day)).toBe('bookworm.42');
    expect(expandVersion('v-YYYYMMDD', undefined, day)).toBe('v-20261125');
  });
});

describe('inputHash and canonicalJson', () => {
  const m = resolveManifest(parseManifest(BASE), 'amd64');
  const pkgs = [{ name: 'apt', version: '2.6.1', architecture: 'amd64' }, { name: 'adduser', version: '3.134', architecture: 'all' }];
  it('does not depend on key or package order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
    expect(inputHash(m, pkgs, 1)).toBe(inputHash({ ...m }, [...pkgs].reverse(), 1));
  });
  it('changes with the manifest, the package set and the layout version', () => {
    const h = inputHash(m, pkgs, 1);
    expect(inputHash({ ...m, kargs: ['quiet'] }, pkgs, 1)).not.toBe(h);
    expect(inputHash(m, [{ ...pkgs[0]!, version: '2.6.2' }, pkgs[1]!], 1)).not.toBe(h);
    expect(inputHash(m, pkgs, 2)).not.toBe(h);
    expect(inputHash({ ...m, version: '1.0' }, pkgs, 1)).not.toBe(h);
  });
});

describe('mmdebstrap invocation', () => {
  it('selects what mmdebstrap selects for each variant', () => {
    expect(variantRequests('minbase', 'bookworm', 'amd64')).toEqual([
      '?narrow(?or(?archive(^bookworm$),?codename(^bookworm$)),?architecture(amd64),?essential)',
      '?narrow(?or(?archive(^bookworm$),?codename(^bookworm$)),?architecture(amd64),?and(?priority(required),?not(?essential)))',
      'apt',
    ]);
    expect(variantRequests('custom', 'bookworm', 'amd64')).toEqual([]);
    expect(variantRequests('apt', 'bookworm', 'amd64').at(-1)).toBe('apt');
    expect(variantRequests('buildd', 'bookworm', 'amd64')).toContain('build-essential');
  });

  it('passes everything as separate arguments, sources last after --', () => {
    const args = mmdebstrapArgs({
      suite: 'bookworm', target: '/w/rootfs', sources: ['deb http://deb.debian.org/debian bookworm main'], variant: 'minbase', architecture: 'amd64',
      include: ['apt', 'hello'], aptOptions: ['Acquire::Retries "3"'], includeRecommends: true, skip: ['update', 'output/dev'], setupHooks: [CACHE_IN_HOOK],
    });
    expect(args).toEqual([
      '--mode=root', '--format=directory', '--variant=minbase', '--architectures=amd64', '--include=apt,hello',
      '--aptopt=Acquire::Retries "3"', '--aptopt=APT::Install-Recommends "true"', '--skip=update', '--skip=output/dev', `--setup-hook=${CACHE_IN_HOOK}`,
      '--', 'bookworm', '/w/rootfs', 'deb http://deb.debian.org/debian bookworm main',
    ]);
  });

  it('keeps paths out of the hook scripts (they come from the environment)', () => {
    expect(CACHE_IN_HOOK).toContain('"$APT_OSTREE_DEBS"');
    expect(CACHE_IN_HOOK).not.toMatch(/\/var\/tmp|\/tmp\//);
  });
});

describe('refs and metadata arguments', () => {
  it('accepts OSTree refs and refuses what ostree refuses', async () => {
    const { refProblem, parseMetadataArgs } = await import('../../../src/image/refs.js');
    for (const ok of ['debian/bookworm/x86_64/minimal', 'a', 'fedora/39/x86_64/silverblue', 'a_b-c.d/e']) expect(refProblem(ok), ok).toBeUndefined();
    for (const bad of ['', '/abs', 'trailing/', 'a//b', '../etc', '-dash', 'sp ace', 'a:b']) expect(refProblem(bad), bad).toBeDefined();
    expect(parseMetadataArgs(['org.example.a=1', 'b=x=y', 'empty='])).toEqual({ 'org.example.a': '1', b: 'x=y', empty: '' });
    expect(() => parseMetadataArgs(['version=1'])).toThrow(/set by apt-ostree itself/);
    expect(() => parseMetadataArgs(['ostree.linux=1'])).toThrow(/set by apt-ostree itself/);
    expect(() => parseMetadataArgs(['no-equals'])).toThrow(/KEY=VALUE/);
    expect(() => parseMetadataArgs(['bad key=1'])).toThrow(/KEY=VALUE/);
  });
});

describe('files written before the packages are installed', () => {
  it('accepts absolute paths under /etc and /usr, and leaves the key out of the inputhash when absent', async () => {
    const { earlyFiles, DRACUT_CONF_PATH } = await import('../../../src/image/compose.js');
    const m = parseManifest(`${BASE}files:\n  /etc/dracut.conf.d/20-small.conf: |\n    hostonly="no"\n`);
    expect(m.files).toEqual({ '/etc/dracut.conf.d/20-small.conf': 'hostonly="no"\n' });
    expect(parseManifest(BASE).files).toBeUndefined();
    expect(canonicalJson(resolveManifest(parseManifest(BASE), 'amd64'))).not.toMatch(/files/);
    // kernel: true adds dracut's generic configuration; the manifest's own files come on top.
    expect(Object.keys(earlyFiles({ kernel: false, files: undefined }))).toEqual([]);
    expect(earlyFiles({ kernel: true, files: undefined })[DRACUT_CONF_PATH]).toMatch(/^hostonly="no"$/m);
    expect(earlyFiles({ kernel: true, files: { [DRACUT_CONF_PATH]: 'mine\n' } })[DRACUT_CONF_PATH]).toBe('mine\n');
  });

  it('refuses paths outside /etc and /usr, relative and unnormalized ones', () => {
    for (const bad of ['etc/x', '/var/lib/x', '/etc/', '/etc/../root/x', '/etc//x', '/usr/./x', '/etc']) {
      expect(problems(`${BASE}files:\n  "${bad}": x\n`), bad).toMatch(/m\.yaml:5: files/);
    }
    expect(problems(`${BASE}files:\n  /etc/x: [1]\n`)).toMatch(/files\.\/etc\/x/);
  });

  it('reads the bootable example: a kernel, the ostree dracut module, a trimmed initramfs', () => {
    const m = parseManifest(readFileSync(new URL('../../../examples/bootable-bookworm.yaml', import.meta.url), 'utf8'));
    expect(m.kernel).toBe(true);
    expect(m.packages).toEqual(expect.arrayContaining(['linux-image-amd64', 'dracut', 'ostree-boot', 'systemd-sysv']));
    expect(Object.values(m.files ?? {}).join('')).toMatch(/drivers\+=" virtio_blk/);
  });

  it('reads the bootable trixie example, which has nodejs for apt-ostree\'s own .deb', () => {
    const m = parseManifest(readFileSync(new URL('../../../examples/bootable-trixie.yaml', import.meta.url), 'utf8'));
    expect(m).toMatchObject({ suite: 'trixie', kernel: true });
    expect(m.packages).toEqual(expect.arrayContaining(['linux-image-amd64', 'dracut', 'ostree-boot', 'nodejs']));
  });
});

describe('mmdebstrap files hook', () => {
  it('takes the staged files from the environment and keeps existing directories', async () => {
    const { FILES_HOOK } = await import('../../../src/system/mmdebstrap.js');
    expect(FILES_HOOK).toContain('"$APT_OSTREE_FILES"');
    expect(FILES_HOOK).toContain('--no-overwrite-dir');
  });
});
