// The zsh completion template is a zsh script on its own (zsh -n accepts it): needs zsh, which the
// unit run does not have, hence here. The bash one is checked in test/unit/cli/docs.test.ts.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('zsh -n accepts the zsh completion template', () => {
  expect(() => execFileSync('zsh', ['-n', join(import.meta.dirname, '..', '..', '..', 'completions', 'apt-ostree.zsh.in')])).not.toThrow();
});
