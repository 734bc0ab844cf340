// The loader's half of boot counting (grubBootCountingScript) against Debian's GRUB: grub-script-check
// accepts it and it loads only modules GRUB ships for BIOS and UEFI. Needs GRUB, hence an
// integration test; the state machine is in test/unit/engine/deployments/boot-counting.test.ts.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { grubBootCountingScript } from '../../../src/engine/deployments/boot-counting.js';
import { makeTemp, removeTemp } from '../../fixtures/tmp.js';

describe('the GRUB script', () => {
  const dir = makeTemp('grub-script-');
  afterAll(() => removeTemp(dir));
  const script = grubBootCountingScript();

  it('is valid GRUB script (grub-script-check)', () => {
    const f = join(dir, 'counting.cfg');
    writeFileSync(f, script);
    execFileSync('grub-script-check', [f]);
  });

  it('uses only modules Debian GRUB ships for both BIOS and UEFI', () => {
    for (const platform of ['i386-pc', 'x86_64-efi']) {
      const commands = execFileSync('cat', [`/usr/lib/grub/${platform}/command.lst`], { encoding: 'utf8' });
      for (const cmd of ['load_env', 'save_env']) expect(commands).toMatch(new RegExp(`^\\*?${cmd}: loadenv$`, 'm'));
      for (const mod of script.matchAll(/^insmod (\S+)$/gm)) execFileSync('test', ['-f', `/usr/lib/grub/${platform}/${mod[1]}.mod`]);
    }
  });
});
