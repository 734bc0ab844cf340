/**
 * Nothing of an image runs on the host (issue 31): a deployment whose /etc/apt/apt.conf.d names
 * every hook, program and script that apt.conf(5) has, each of which would leave a marker file on
 * the host, and every command that runs apt on the host (refresh-md, install --dry-run, install,
 * search, info, uninstall): none of them runs, none of apt's paths moves, and the commands still
 * work with the deployment's sources.
 *
 * The programs the configuration names leave their marker and then do the real job (the host's
 * method, solver, dpkg, …), so that with the configuration honoured apt would still succeed and
 * every reachable marker would be written: the test fails on any one of them.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLayeringBed, type LayeringBed } from '../fixtures/layering.js';
import { makeTemp, removeTemp } from '../fixtures/tmp.js';

describe('an image\'s apt configuration on the host', () => {
  let tmp: string;
  let bed: LayeringBed;
  let markers: string;

  /** A program that leaves its marker, then runs `then` with its arguments (or prints `print`). */
  function program(dir: string, name: string, marker: string, then: { exec: string } | { print: string }): string {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, name);
    const rest = 'exec' in then ? `exec ${then.exec} "$@"` : `printf '%s\\n' '${then.print}'`;
    writeFileSync(file, `#!/bin/sh\ntouch '${join(markers, marker)}'\n${rest}\n`);
    chmodSync(file, 0o755);
    return file;
  }

  /** What the image's apt.conf.d says: every hook and program-valued option of apt.conf(5). */
  function hostileConf(): string {
    const bin = join(tmp, 'hostile');
    const touch = (m: string) => `"touch '${join(markers, m)}'"`;
    // A methods directory whose every method leaves a marker and runs the host's.
    const methods = join(bin, 'methods');
    for (const m of readdirSync('/usr/lib/apt/methods')) program(methods, m, `method-${m}`, { exec: join('/usr/lib/apt/methods', m) });
    const solvers = join(bin, 'solvers');
    program(solvers, 'hostile', 'solver', { exec: '/usr/lib/apt/solvers/apt' });
    const planners = join(bin, 'planners');
    program(planners, 'hostile', 'planner', { exec: '/usr/lib/apt/planners/apt' });
    return [
      `APT::Update::Pre-Invoke { ${touch('update-pre-invoke')}; };`,
      `APT::Update::Post-Invoke { ${touch('update-post-invoke')}; };`,
      `APT::Update::Post-Invoke-Success { ${touch('update-post-invoke-success')}; };`,
      `Binary::apt-get::APT::Update::Pre-Invoke { ${touch('binary-scope-pre-invoke')}; };`,
      `DPkg::Pre-Invoke { ${touch('dpkg-pre-invoke')}; };`,
      `DPkg::Post-Invoke { ${touch('dpkg-post-invoke')}; };`,
      `DPkg::Pre-Install-Pkgs { ${touch('dpkg-pre-install-pkgs')}; };`,
      `AptCli::Hooks::Install { ${touch('json-hook-install')}; };`,
      `AptCli::Hooks::Upgrade { ${touch('json-hook-upgrade')}; };`,
      `AptCli::Hooks::Search { ${touch('json-hook-search')}; };`,
      `Acquire::http::Proxy-Auto-Detect "${program(bin, 'proxy-auto-detect', 'http-proxy-auto-detect', { print: 'DIRECT' })}";`,
      `Acquire::http::ProxyAutoDetect "${program(bin, 'proxyautodetect', 'http-proxyautodetect', { print: 'DIRECT' })}";`,
      `Acquire::https::Proxy-Auto-Detect "${program(bin, 'https-proxy-auto-detect', 'https-proxy-auto-detect', { print: 'DIRECT' })}";`,
      `Dir::Bin::Methods "${methods}/";`,
      `Dir::Bin::Methods::http "${program(bin, 'http-method', 'method-file-http', { exec: '/usr/lib/apt/methods/http' })}";`,
      `Dir::Bin::Solvers { "${solvers}"; };`,
      `APT::Solver "hostile";`,
      `Dir::Bin::Planners { "${planners}"; };`,
      `APT::Planner "hostile";`,
      // With no architectures configured, apt asks dpkg for the foreign ones.
      '#clear APT::Architectures;',
      `Dir::Bin::dpkg "${program(bin, 'dpkg', 'dpkg', { exec: '/usr/bin/dpkg' })}";`,
      `APT::Key::gpgvcommand "${program(bin, 'gpgv', 'gpgv', { exec: '/usr/bin/gpgv' })}";`,
      `Dir::Bin::gpg "${program(bin, 'gpg', 'gpg', { exec: '/usr/bin/gpgv' })}";`,
      // A compressor of its own, tried first: apt runs its Binary on what it downloads.
      `APT::Compressor::hostile { Name "hostile"; Extension ".hostile"; Binary "${program(bin, 'compressor', 'compressor', { exec: '/bin/cat' })}"; Cost "0"; CompressArg { "-"; }; UncompressArg { "-"; }; };`,
      'Acquire::CompressionTypes::Order { "hostile"; };',
      `Acquire::CompressionTypes::hostile "${join(bin, 'compressor')}";`,
      // apt's own files moved onto the host.
      `Dir::State::Lists "${join(markers, 'lists')}/";`,
      `Dir::Cache::Archives "${join(markers, 'archives')}/";`,
      `Dir::Log "${join(markers, 'log')}/";`,
      `Dir::Log::Solver "${join(markers, 'solver.log')}";`,
      '',
    ].join('\n');
  }

  function written(): string[] {
    return existsSync(markers) ? readdirSync(markers).sort() : [];
  }

  beforeAll(async () => {
    tmp = makeTemp('apt-image-config-');
    markers = join(tmp, 'markers');
    mkdirSync(markers);
    bed = await makeLayeringBed(tmp);
    // The served repository also has its Packages under the hostile compressor's extension.
    copyFileSync(join(bed.apt.dir, 'Packages'), join(bed.apt.dir, 'Packages.hostile'));
    await bed.apt.add([]);
    const etcApt = join(await bed.defaultDeployment(), 'etc', 'apt');
    mkdirSync(join(etcApt, 'apt.conf.d'), { recursive: true });
    writeFileSync(join(etcApt, 'apt.conf.d', '99hostile'), hostileConf());
    // apt.conf itself too.
    writeFileSync(join(etcApt, 'apt.conf'), `APT::Update::Pre-Invoke { "touch '${join(markers, 'apt-conf-pre-invoke')}'"; };\n`);
  });
  afterAll(async () => {
    await bed?.close();
    await removeTemp(tmp);
  });

  it('refresh-md runs none of it and fetches the deployment\'s sources', async () => {
    const r = await bed.run(['refresh-md']);
    expect(r.code, r.stderr).toBe(0);
    expect(written()).toEqual([]);
  });

  it('search and info run none of it', async () => {
    const s = await bed.run(['search', 'hello-ao']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/hello-ao/);
    const i = await bed.run(['info', 'hello-ao']);
    expect(i.code, i.stderr).toBe(0);
    expect(i.stdout).toMatch(/Version: 1\.0/);
    expect(written()).toEqual([]);
  });

  it('install --dry-run, install and uninstall run none of it', async () => {
    const d = await bed.run(['install', '--dry-run', 'hello-ao']);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/hello-ao 1\.0/);
    expect(written()).toEqual([]);
    const i = await bed.run(['install', 'hello-ao', 'conf-ao']);
    expect(i.code, i.stderr).toBe(0);
    expect(i.stdout).toMatch(/Added:\n(\s+.*\n)*\s+dep-ao 2\.0/);
    expect(written()).toEqual([]);
    // The new deployment has the same /etc/apt: the change of one package resolves again.
    const u = await bed.run(['uninstall', 'conf-ao']);
    expect(u.code, u.stderr).toBe(0);
    expect(written()).toEqual([]);
  });
});
