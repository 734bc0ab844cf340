import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../../../src/cli/render/status-text.js';
import type { DeploymentStatus, SysrootStatus } from '../../../../src/engine/status.js';

const C1 = 'a'.repeat(64);
const C2 = 'b'.repeat(64);

function deployment(extra: Partial<DeploymentStatus>): DeploymentStatus {
  return {
    id: `debian-${C1}.0`, osname: 'debian', serial: 0, checksum: C1, version: '1', timestamp: 0, origin: 'origin:debian/x', booted: true, staged: false,
    pinned: false, unlocked: 'none', 'requested-packages': [], 'requested-local-packages': [], packages: [], 'requested-base-removals': [], 'base-removals': [],
    'requested-base-local-replacements': [], 'base-local-replacements': [], 'regenerate-initramfs': false, 'initramfs-args': [], kargs: [], 'base-commit-meta': {},
    'gpg-enabled': false, signatures: [], verified: false, verification: 'none (test)', ...extra,
  };
}

function render(d: DeploymentStatus): string {
  const status: SysrootStatus = { deployments: [d], transaction: null, 'cached-update': null, 'update-driver': null, health: null, 'reboot-state': null };
  return renderStatus(status, { sysroot: '/', verbose: false });
}

describe('status text: live changes (apply-live), as rpm-ostree shows them', () => {
  it('names the booted commit BootedCommit and shows LiveCommit; without live changes, Commit only', () => {
    const live = render(deployment({ 'live-replaced': C2, unlocked: 'transient' }));
    expect(live).toMatch(new RegExp(`^ +BootedCommit: ${C1}$`, 'm'));
    expect(live).toMatch(new RegExp(`^ +LiveCommit: ${C2}$`, 'm'));
    expect(live).not.toMatch(/InterruptedLiveCommit/);
    const plain = render(deployment({}));
    expect(plain).toMatch(new RegExp(`^ +Commit: ${C1}$`, 'm'));
    expect(plain).not.toMatch(/Live|Booted/);
  });

  it('shows an interrupted apply, and BootedBaseCommit for a layered deployment', () => {
    const text = render(deployment({ 'base-checksum': C2, 'live-inprogress': C2 }));
    expect(text).toMatch(new RegExp(`^ +BootedBaseCommit: ${C2}$`, 'm'));
    expect(text).toMatch(new RegExp(`^ +InterruptedLiveCommit: ${C2}$`, 'm'));
  });
});

describe('status text: the sources of the layered packages (status -v)', () => {
  const d = deployment({
    'base-checksum': C2,
    'layered-package-sources': [
      { name: 'dep-ao', version: '2.0', architecture: 'all', origin: 'http://gone.example ./', offered: false },
      { name: 'tool-ao', version: '1.0', architecture: 'all', origin: 'http://deb.example/debian bookworm/main amd64', offered: true },
    ],
  });
  const status = (verbose: boolean) => renderStatus({ deployments: [d], transaction: null, 'cached-update': null, 'update-driver': null, health: null, 'reboot-state': null }, { sysroot: '/', verbose });

  it('lists each kept package of the layer with its source, one a line, and says which no source offers any more', () => {
    const lines = status(true).split('\n');
    const i = lines.findIndex((l) => l.includes('LayeredPackageSources:'));
    expect(lines[i]).toBe('     LayeredPackageSources: dep-ao 2.0 from http://gone.example ./ (no source offers it any more: kept copy)');
    expect(lines[i + 1]).toBe(`${' '.repeat(28)}tool-ao 1.0 from http://deb.example/debian bookworm/main amd64`);
  });

  it('shows them only with -v', () => {
    expect(status(false)).not.toMatch(/LayeredPackageSources/);
  });
});
