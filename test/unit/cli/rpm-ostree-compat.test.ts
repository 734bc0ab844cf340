/**
 * rpm-ostree's command line (src/cli/specs/rpm-ostree.ts, taken from rpm-ostree's option tables)
 * against apt-ostree's specs: every option of rpm-ostree on a command apt-ostree has is either
 * apt-ostree's too or refused with a reason, and the parser says that reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aptOstreeOption, renderCompatDoc } from '../../../src/cli/compat-doc.js';
import { parseCommandLine } from '../../../src/cli/parser.js';
import { flattenCommands } from '../../../src/cli/spec.js';
import { RPM_OSTREE_COMMANDS, RPM_OSTREE_GLOBAL } from '../../../src/cli/specs/rpm-ostree.js';
import { InputError } from '../../../src/errors.js';

const specs = new Map(flattenCommands().map((c) => [c.path, c.spec]));

describe('rpm-ostree\'s options', () => {
  it('each one apt-ostree does not refuse is an option of the command (or global), with rpm-ostree\'s short form', () => {
    const missing: string[] = [];
    for (const c of RPM_OSTREE_COMMANDS.filter((x) => !x.refused)) {
      const spec = specs.get(c.path);
      expect(spec, `apt-ostree has no command '${c.path}'`).toBeDefined();
      for (const o of [...(c.options ?? []), ...RPM_OSTREE_GLOBAL].filter((x) => !x.refused)) {
        const ours = aptOstreeOption(spec, o.name);
        if (!ours) missing.push(`${c.path} --${o.name}`);
        else if (o.short && !ours.alias?.includes(o.short)) missing.push(`${c.path} -${o.short} (--${o.name})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('a refused one is not an option of apt-ostree\'s command, and the parser names it with its reason', () => {
    for (const c of RPM_OSTREE_COMMANDS.filter((x) => !x.refused)) {
      for (const o of (c.options ?? []).filter((x) => x.refused)) {
        expect(aptOstreeOption(specs.get(c.path), o.name), `${c.path} --${o.name}`).toBeUndefined();
        const words = [...c.path.split(' '), `--${o.name}`, 'WORD'];
        expect(() => parseCommandLine(words), words.join(' ')).toThrow(InputError);
        try {
          parseCommandLine(words);
        } catch (e) {
          expect((e as Error).message).toBe(`--${o.name} is an rpm-ostree option that apt-ostree does not take: ${o.refused}.`);
        }
      }
    }
  });

  it('a command of rpm-ostree that apt-ostree has not is named with the reason', () => {
    for (const c of RPM_OSTREE_COMMANDS.filter((x) => x.refused)) {
      expect(specs.has(c.path)).toBe(false);
      expect(() => parseCommandLine([c.path])).toThrow(`'${c.path}' is an rpm-ostree command that apt-ostree does not have: ${c.refused}.`);
    }
  });

  it('the command lines of rpm-ostree\'s clients parse (Zincati, Ansible)', () => {
    // Zincati src/rpm_ostree/cli_deploy.rs and cli_finalize.rs.
    expect(parseCommandLine(['deploy', '', '--register-driver=Zincati'])!.args).toMatchObject({ revision: '', registerDriver: 'Zincati' });
    expect(parseCommandLine(['deploy', '--lock-finalization', '--skip-branch-check', 'revision=abc', '--disallow-downgrade'])!.args).toMatchObject({
      revision: 'revision=abc', lockFinalization: true, skipBranchCheck: true, disallowDowngrade: true,
    });
    expect(parseCommandLine(['finalize-deployment', 'abc'])!.args).toMatchObject({ checksum: 'abc' });
    // Ansible plugins/modules/rpm_ostree_pkg.py.
    expect(parseCommandLine(['uninstall', '--allow-inactive', '--idempotent', '--unchanged-exit-77', 'htop'])!.args).toMatchObject({
      packages: ['htop'], allowInactive: true, idempotent: true, unchangedExit77: true,
    });
  });
});

describe('docs/rpm-ostree-compat.md', () => {
  it('is what the specs render (npm run build writes it)', () => {
    expect(readFileSync(join(import.meta.dirname, '../../../docs/rpm-ostree-compat.md'), 'utf8')).toBe(renderCompatDoc());
  });
});
