/**
 * `apt-ostree compose tree`: real mmdebstrap builds of bookworm minbase images from manifests,
 * committed to a fresh archive repository. The .deb cache is kept under CACHE_DIR between test
 * runs; the "downloads only the new packages" check uses a private copy of it without the
 * package the second manifest adds.
 */
import { existsSync, linkSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCommit } from '../../src/ostree/commit.js';
import { resolveRefFile } from '../../src/ostree/refs.js';
import { CACHE_DIR, cli, ensureDir, fsckClean, sh } from '../fixtures/env.js';
import { DEBIAN_MIRROR } from '../fixtures/minbase.js';
import { makeGpgKey, showSignatures, stopGpgAgent } from '../fixtures/signing.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

const LONG = 900_000;
const REF = 'test/bookworm/minimal';

function manifest(extra = ''): string {
  return `# a test image
ref: ${REF}
suite: bookworm
mirror: ${DEBIAN_MIRROR}
variant: minbase
packages: [apt]
${extra}`;
}

/** `name version arch` lines of a dry run's package list. */
function dryRunPackages(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());
}

describe('compose tree', () => {
  let tmp: string;
  let repo: string;
  let sharedCache: string;
  let v1: string;
  let first: string;
  let dryList: string[];

  beforeAll(async () => {
    tmp = makeTemp('compose-tree-');
    repo = join(tmp, 'repo');
    sharedCache = ensureDir(join(CACHE_DIR, 'compose-cache'));
    v1 = join(tmp, 'v1.yaml');
    writeFileSync(v1, manifest());
  }, LONG);
  afterAll(async () => removeTemp(tmp));

  it('--dry-run prints the resolved package set and the commit it would make, building nothing', async () => {
    const r = await cli(['compose', 'tree', v1, '--repo', repo, '--cachedir', sharedCache, '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    dryList = dryRunPackages(r.stdout);
    expect(dryList.length).toBeGreaterThan(80);
    expect(dryList.some((l) => /^apt \S+ amd64$/.test(l))).toBe(true);
    expect(r.stdout).toMatch(/Would commit test\/bookworm\/minimal version \d{8}\.0/);
    expect(existsSync(repo)).toBe(false);
  }, LONG);

  it('composes the manifest into a new archive repository, in the layout and with the metadata', async () => {
    const r = await cli(['compose', 'tree', v1, '--repo', repo, '--cachedir', sharedCache]);
    expect(r.code, r.stderr).toBe(0);
    first = resolveRefFile(repo, REF)!;
    expect(r.stdout).toContain(`${REF} => ${first}`);
    await fsckClean(repo);
    const c = readCommit(repo, first);
    expect(c.metadata.version).toMatch(/^\d{8}\.0$/);
    expect(c.metadata['aptostree.inputhash']).toMatch(/^[0-9a-f]{64}$/);
    const m = JSON.parse(c.metadata['aptostree.manifest'] as string);
    expect(m).toMatchObject({ ref: REF, suite: 'bookworm', variant: 'minbase', packages: ['apt'], kernel: false, sources: [`deb ${DEBIAN_MIRROR} bookworm main`], architecture: 'amd64' });
    // What was installed is what the resolution said.
    const pkglist = (c.metadata['aptostree.dpkg.pkglist'] as string[][]).map((p) => p.join(' ')).sort();
    expect(pkglist).toEqual([...dryList].sort());
    const root = await sh('ostree', [`--repo=${repo}`, 'ls', REF, '/']);
    expect(root).toMatch(/home -> var\/home/);
    expect(root).not.toMatch(/ \/etc$/m);
    expect(await sh('ostree', [`--repo=${repo}`, 'ls', REF, '/var'])).toMatch(/^d\S* +\d+ +\d+ +\d+ +\/var$/);
    expect(await sh('ostree', [`--repo=${repo}`, 'cat', REF, '/usr/lib/tmpfiles.d/apt-ostree-base.conf'])).toContain('L /var/lib/dpkg');
    // The build host's name and resolver configuration are not part of the image.
    await expect(sh('ostree', [`--repo=${repo}`, 'cat', REF, '/usr/etc/hostname'])).rejects.toThrow();
    expect(readdirSync(sharedCache).filter((n) => n.startsWith('.apt-ostree-compose-'))).toEqual([]);
  }, LONG);

  it('commits nothing the second time: same inputhash (exit 77 with --unchanged-exit-77)', async () => {
    const r = await cli(['compose', 'tree', v1, '--repo', repo, '--cachedir', sharedCache, '--unchanged-exit-77']);
    expect(r.code, r.stderr).toBe(77);
    expect(r.stdout).toMatch(/No changes \(inputhash [0-9a-f]{16}…\)/);
    expect(resolveRefFile(repo, REF)).toBe(first);
    const r0 = await cli(['compose', 'tree', v1, '--repo', repo, '--cachedir', sharedCache]);
    expect(r0.code, r0.stderr).toBe(0);
    expect(resolveRefFile(repo, REF)).toBe(first);
  }, LONG);

  it('signs the unchanged commit when asked to sign (--gpg-sign), instead of leaving it unsigned', async () => {
    const key = await makeGpgKey(tmp, 'builder');
    try {
      const r = await cli(['compose', 'tree', v1, '--repo', repo, '--cachedir', sharedCache, '--gpg-sign', key.fingerprint, '--gpg-homedir', key.homedir, '--unchanged-exit-77']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`No new commit \\(inputhash [0-9a-f]{16}…\\): ${REF} is already ${first}; signed it with GPG key ${key.fingerprint}\\.`));
      expect(resolveRefFile(repo, REF)).toBe(first);
      expect(await showSignatures(repo, REF, key.publicKey)).toMatch(/Good signature from "builder <builder@example\.org>"/);
      const again = await cli(['compose', 'tree', v1, '--repo', repo, '--cachedir', sharedCache, '--gpg-sign', key.fingerprint, '--gpg-homedir', key.homedir, '--unchanged-exit-77']);
      expect(again.code, again.stderr).toBe(77);
      expect(again.stdout).toMatch(/nothing committed; it is already signed with GPG key/);
    } finally {
      await stopGpgAgent(key);
    }
  }, LONG);

  it('composes a changed manifest downloading only the new packages, runs postprocess, bumps the version', async () => {
    // A private cache holding what the first compose needed, without the package v2 adds.
    const cache = join(tmp, 'cache');
    mkdirSync(join(cache, 'archives'), { recursive: true });
    for (const n of readdirSync(join(sharedCache, 'archives'))) {
      if (n.endsWith('.deb') && !n.startsWith('hello_')) linkSync(join(sharedCache, 'archives', n), join(cache, 'archives', n));
    }
    const v2 = join(tmp, 'v2.yaml');
    writeFileSync(v2, manifest(`kargs: [console=ttyS0]
metadata:
  org.example.image: v2
postprocess:
  - echo composed-by-test > /usr/share/postprocess-marker
  - test -e /etc/debian_version && test ! -e /run/ostree-booted
`).replace('packages: [apt]', 'packages: [apt, hello]'));
    const r = await cli(['compose', 'tree', v2, '--repo', repo, '--cachedir', cache]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\(1 downloaded, \d+ from the cache\)/);
    expect(readdirSync(join(cache, 'archives')).filter((n) => n.startsWith('hello_'))).toHaveLength(1);
    const head = resolveRefFile(repo, REF)!;
    const c = readCommit(repo, head);
    expect(c.parent).toBe(first);
    expect(c.metadata.version).toBe((readCommit(repo, first).metadata.version as string).replace(/\.0$/, '.1'));
    expect(c.metadata['org.example.image']).toBe('v2');
    expect(c.metadata['aptostree.kargs']).toEqual(['console=ttyS0']);
    expect((c.metadata['aptostree.dpkg.pkglist'] as string[][]).some((p) => p[0] === 'hello')).toBe(true);
    expect(await sh('ostree', [`--repo=${repo}`, 'cat', REF, '/usr/share/postprocess-marker'])).toBe('composed-by-test');
    expect(await sh('ostree', [`--repo=${repo}`, 'ls', REF, '/usr/bin/hello'])).toContain('/usr/bin/hello');
    await fsckClean(repo);
  }, LONG);

  it('fails on a postprocess command that fails, naming it, and commits nothing', async () => {
    const head = resolveRefFile(repo, REF);
    const bad = join(tmp, 'bad-post.yaml');
    writeFileSync(bad, manifest('postprocess:\n  - echo about to fail >&2; exit 3\n'));
    const r = await cli(['compose', 'tree', bad, '--repo', repo, '--cachedir', sharedCache]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Postprocess command 1 of the manifest failed: echo about to fail/);
    expect(r.stderr).toContain('about to fail');
    expect(resolveRefFile(repo, REF)).toBe(head);
    expect(readdirSync(sharedCache).filter((n) => n.startsWith('.apt-ostree-compose-'))).toEqual([]);
  }, LONG);

  describe('bad manifests fail before any work, naming the problem and its line', () => {
    async function composeBad(text: string): Promise<{ code: number; stderr: string; repo: string }> {
      const dir = makeTemp('bad-manifest-');
      const file = join(dir, 'm.yaml');
      writeFileSync(file, text);
      const r = await cli(['compose', 'tree', file, '--repo', join(dir, 'repo'), '--cachedir', sharedCache]);
      const made = existsSync(join(dir, 'repo'));
      await removeTemp(dir);
      expect(made, 'a repository was created').toBe(false);
      return { ...r, repo: join(dir, 'repo') };
    }

    it('an unknown key', async () => {
      const r = await composeBad(manifest('pakages: [vim]\n'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/m\.yaml:7: 'pakages' is not a manifest key/);
    });

    it('a wrong type, with every problem listed', async () => {
      const r = await composeBad(manifest('kernel: maybe\nkargs: console=ttyS0\n'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/m\.yaml:7: kernel: expected boolean/);
      expect(r.stderr).toMatch(/m\.yaml:8: kargs: expected array/);
    });

    it('a missing ref', async () => {
      const r = await composeBad(manifest().replace(`ref: ${REF}\n`, ''));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/ref: missing \(required\)/);
    });

    it('an invalid package name and a YAML syntax error', async () => {
      const r = await composeBad(manifest().replace('packages: [apt]', 'packages: [apt, Not_A_Package]'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/m\.yaml:6: packages\.1: 'Not_A_Package' is not a valid package/);
      const y = await composeBad('ref: [unclosed\n');
      expect(y.code).toBe(1);
      expect(y.stderr).toMatch(/not valid YAML or JSON/);
    });

    it('a package that does not exist', async () => {
      const r = await composeBad(manifest().replace('packages: [apt]', 'packages: [apt, no-such-package-ao]'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not found in the apt repositories: no-such-package-ao/);
    }, LONG);

    it('JSON works too', async () => {
      const r = await composeBad(JSON.stringify({ ref: REF, suite: 'bookworm', packages: 'apt' }, null, 2));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/m\.yaml:4: packages: expected array/);
    });
  });
});
