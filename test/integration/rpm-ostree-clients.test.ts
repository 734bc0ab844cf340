/**
 * The command lines of programs written for rpm-ostree, replayed against a sysroot directory
 * (quoted from their sources):
 *
 * - Ansible's community.general.rpm_ostree_pkg (plugins/modules/rpm_ostree_pkg.py):
 *     rpm-ostree install --allow-inactive --idempotent --unchanged-exit-77 PKG…
 *     rpm-ostree uninstall --allow-inactive --idempotent --unchanged-exit-77 PKG…
 *   rc 0 is "changed", 77 "nothing to do"; 'Changes queued for next boot. Run "systemctl
 *   reboot" to start a reboot' in stdout is needs_reboot.
 * - Zincati, Fedora CoreOS's update agent (src/rpm_ostree/cli_deploy.rs, cli_finalize.rs):
 *     rpm-ostree deploy "" --register-driver=Zincati
 *     rpm-ostree deploy --lock-finalization --skip-branch-check revision=CHECKSUM [--disallow-downgrade]
 *     rpm-ostree finalize-deployment CHECKSUM
 *   and `rpm-ostree status --json` read into its Status/Deployment structs (cli_status.rs).
 *
 * Staging (what --lock-finalization and finalize-deployment are about) happens on a booted
 * system only: test/boot/in-vm.test.ts runs that part; here their refusals on a sysroot
 * directory are checked to name the reason.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDirectory, type StaticServer } from '../fixtures/apt-repo.js';
import { sh } from '../fixtures/env.js';
import { makeLayeringBed, type LayeringBed, provisionedFrom } from '../fixtures/layering.js';
import { minbaseArchiveCopy, minbaseRepo } from '../fixtures/minbase.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('clients written for rpm-ostree', () => {
  let tmp: string;
  let bed: LayeringBed;
  let server: StaticServer;
  let srv: string;
  let ref: string;
  let base: string;
  let next: string;

  beforeAll(async () => {
    tmp = makeTemp('clients-');
    const cached = await minbaseRepo();
    srv = join(tmp, 'srv-repo');
    ref = cached.ref;
    base = cached.checksum;
    await minbaseArchiveCopy(srv, cached);
    // A newer commit on the server, for the update driver to deploy by checksum.
    const extra = join(tmp, 'extra');
    mkdirSync(join(extra, 'usr/share/apt-ostree-test'), { recursive: true });
    writeFileSync(join(extra, 'usr/share/apt-ostree-test/version'), '2.0\n');
    next = (await sh('ostree', [`--repo=${srv}`, 'commit', `--branch=${ref}`, `--parent=${base}`, `--tree=ref=${base}`, `--tree=dir=${extra}`, '--add-metadata-string=version=2.0', '--keep-metadata=aptostree.dpkg.pkglist', '--no-bindings'])).trim();
    server = await serveDirectory(srv);
    bed = await makeLayeringBed(tmp, {
      // Provisioned at the first commit, which the ref no longer points at on the server.
      sysroot: provisionedFrom(server.url, ref),
    });
  });
  afterAll(async () => {
    await bed?.close();
    await server?.close();
    await removeTemp(tmp);
  });

  const statusJson = async () => JSON.parse((await bed.run(['status', '--json'])).stdout);
  const ANSIBLE = ['--allow-inactive', '--idempotent', '--unchanged-exit-77'];

  it('Ansible rpm_ostree_pkg: install and uninstall with its options, 0 when changed and 77 when not', async () => {
    const add = await bed.run(['install', ...ANSIBLE, 'hello-ao']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('Changes queued for next boot. Run "systemctl reboot" to start a reboot');
    const again = await bed.run(['install', ...ANSIBLE, 'hello-ao']);
    expect(again.code, again.stderr).toBe(77);
    const remove = await bed.run(['uninstall', ...ANSIBLE, 'hello-ao']);
    expect(remove.code, remove.stderr).toBe(0);
    expect((await statusJson()).deployments[0]['requested-packages']).toEqual([]);
    const removeAgain = await bed.run(['uninstall', ...ANSIBLE, 'hello-ao']);
    expect(removeAgain.code, removeAgain.stderr).toBe(77);
  });

  it('an option of rpm-ostree that apt-ostree refuses is named with the reason, and takes no word with it', async () => {
    // Ansible's apply_live: true adds these two. apt-ostree takes them; on a sysroot directory
    // there is no running system to change, which it says before any work.
    const live = await bed.run(['install', '--apply-live', '--assumeyes', ...ANSIBLE, 'hello-ao']);
    expect(live.code).toBe(1);
    expect(live.stderr).toMatch(/^error: apply-live changes the running system only; .* is not the booted system\./);
    const peer = await bed.run(['status', '--peer']);
    expect(peer.code).toBe(1);
    expect(peer.stderr).toMatch(/--peer is an rpm-ostree option .*without a daemon/);
    const unknown = await bed.run(['deploy', '--no-such-option', 'version=2.0']);
    expect(unknown.stderr).toMatch(/unknown option --no-such-option/);
    expect(unknown.stderr).not.toMatch(/argument/);
  });

  it('Zincati registers as the update driver: status shows it, upgrade and deploy refuse to run beside it without --bypass-driver', async () => {
    const before = await statusJson();
    expect(before['update-driver']).toBeNull();
    const reg = await bed.run(['deploy', '', '--register-driver=Zincati'], { env: { RPMOSTREE_CLIENT_ID: 'zincati' } });
    expect(reg.code, reg.stderr).toBe(0);
    expect(reg.stdout).toMatch(/Registered Zincati/);
    const st = await statusJson();
    expect(st['update-driver']).toEqual({ 'driver-name': 'Zincati', 'driver-sd-unit': expect.any(String) });
    expect(st.deployments).toEqual(before.deployments); // registering deployed nothing
    expect((await bed.run(['status'])).stdout).toMatch(/^AutomaticUpdatesDriver: Zincati$/m);

    const upgrade = await bed.run(['upgrade']);
    expect(upgrade.code).toBe(1);
    expect(upgrade.stderr).toMatch(/driven by Zincati/);
    expect(upgrade.stderr).toMatch(/--bypass-driver/);
    // A check changes nothing, so it is not refused.
    const check = await bed.run(['upgrade', '--check']);
    expect(check.code, check.stderr).toBe(0);

    // The automatic-update timer warns that it would update beside the driver.
    const conf = join(bed.sysroot, 'ostree/deploy/debian/deploy', `${st.deployments[0].checksum}.${st.deployments[0].serial}`, 'etc/apt-ostree/apt-ostree.conf');
    mkdirSync(join(conf, '..'), { recursive: true });
    writeFileSync(conf, '[Daemon]\nAutomaticUpdatePolicy=check\n');
    const auto = await bed.run(['upgrade', '--trigger-automatic-update-policy']);
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stderr).toMatch(/Zincati is registered as the driver of updates, and AutomaticUpdatePolicy=check/);
    writeFileSync(conf, '[Daemon]\nAutomaticUpdatePolicy=none\n');
  });

  it('Zincati deploys by revision=CHECKSUM with --skip-branch-check --disallow-downgrade; --lock-finalization is refused off the running system', async () => {
    const locked = await bed.run(['deploy', '--lock-finalization', '--skip-branch-check', `revision=${next}`, '--disallow-downgrade']);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/--lock-finalization applies to a deployment staged on the running system/);
    // The same deployment without the lock (what a driver could do on a sysroot directory), by the driver's leave.
    const r = await bed.run(['deploy', '--skip-branch-check', `revision=${next}`, '--disallow-downgrade', '--bypass-driver']);
    expect(r.code, r.stderr).toBe(0);
    const st = await statusJson();
    expect(st.deployments[0].checksum).toBe(next);
    expect(st.deployments[0].staged).toBe(false);
    expect(st.deployments[0]['finalization-locked']).toBeUndefined();
    // Back to the older commit: --disallow-downgrade refuses it even with --allow-downgrade.
    const down = await bed.run(['deploy', `revision=${base}`, '--allow-downgrade', '--disallow-downgrade', '--bypass-driver']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/older than the current base/);
    const bad = await bed.run(['deploy', 'revision=not-a-checksum', '--bypass-driver']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/revision= takes a commit checksum/);
  });

  it('finalize-deployment and cleanup -p say that a sysroot directory has nothing staged', async () => {
    const fin = await bed.run(['finalize-deployment', next]);
    expect(fin.code).toBe(1);
    expect(fin.stderr).toMatch(/No staged deployment: .* is not the running system/);
    const none = await bed.run(['finalize-deployment']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/needs the expected CHECKSUM/);
    const cleanup = await bed.run(['cleanup', '-p']);
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(cleanup.stdout).toMatch(/No pending deployment/);
  });
});
