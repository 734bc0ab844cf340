// Which options of an image's apt.conf(.d) the host's apt runs take (system/apt-image-settings.ts),
// on dumps written as `apt-config dump` writes them with our format. Every option of apt.conf(5)
// and apt's configure-index (apt 2.6) that names a command, a program, a directory of programs
// or a place apt writes is left out; test/integration/agreement/download-settings.test.ts and
// test/integration/apt-image-config.test.ts run the real apt.
import { describe, expect, it } from 'vitest';
import { vetImageSettings } from '../../../src/system/apt-image-settings.js';

const dump = (entries: Array<[string, string]>) => entries.map(([k, v]) => `${k}\x1f${v}\x1e`).join('');

/** Options whose value apt runs, starts, loads programs from or writes to. */
const PROGRAM_VALUED: Array<[string, string]> = [
  ['APT::Update::Pre-Invoke', ''], ['APT::Update::Pre-Invoke::', 'touch /m'],
  ['APT::Update::Post-Invoke::', 'touch /m'], ['APT::Update::Post-Invoke-Success::', 'touch /m'],
  ['DPkg::Pre-Invoke::', 'touch /m'], ['DPkg::Post-Invoke::', 'touch /m'], ['DPkg::Pre-Install-Pkgs::', 'touch /m'],
  ['DPkg::Post-Invoke-Success::', 'touch /m'], ['DPkg::Tools::Options::/m::Version', '3'], ['DPkg::Path', '/m'],
  ['DPkg::Options::', '--admindir=/m'], ['DPkg::Chroot-Directory', '/m'], ['DPkg::Run-Directory', '/m'],
  ['DSelect::Options', '-f'], ['RPM::Pre-Invoke::', 'touch /m'],
  ['AptCli::Hooks::Install::', 'touch /m'], ['AptCli::Hooks::Upgrade::', 'touch /m'], ['AptCli::Hooks::Search::', 'touch /m'],
  ['Acquire::http::Proxy-Auto-Detect', '/m'], ['Acquire::http::ProxyAutoDetect', '/m'],
  ['Acquire::https::Proxy-Auto-Detect', '/m'], ['Acquire::https::ProxyAutoDetect', '/m'],
  ['Acquire::ftp::ProxyLogin::', 'USER x'], ['Acquire::cdrom::Mount', '/m'], ['Acquire::cdrom::/cdrom/::Mount', 'touch /m'],
  ['Acquire::cdrom::/cdrom/::UMount', 'touch /m'], ['Acquire::cdrom::AutoDetect', 'true'],
  ['Acquire::gpgv::Options::', '--keyring=/m'], ['Acquire::CompressionTypes::xz', '/m'],
  ['Acquire::IndexTargets::deb::Evil::MetaKey', '../../m'], ['Acquire::Changelogs::URI::Origin::Debian', 'http://m'],
  ['APT::Compressor::evil::Binary', '/m'], ['APT::Compressor::evil::Name', 'evil'],
  ['APT::Solver', 'evil'], ['APT::Planner', 'evil'], ['APT::Key::gpgvcommand', '/m'], ['APT::Key::gpgcommand', '/m'],
  ['APT::Sandbox::User', 'nobody'], ['APT::Sandbox::Seccomp', 'false'], ['APT::Architectures::', 'evil'], ['APT::Architecture', 'evil'],
  ['APT::Keep-Fds::', '3'], ['APT::Status-Fd', '3'], ['APT::System', 'evil'], ['APT::Periodic::Enable', '1'],
  ['Dir', '/m/'], ['Dir::Bin::methods', '/m'], ['Dir::Bin::methods::http', '/m'], ['Dir::Bin::dpkg', '/m'], ['Dir::Bin::gpg', '/m'],
  ['Dir::Bin::gzip', '/m'], ['Dir::Bin::xz', '/m'], ['Dir::Bin::zstd', '/m'], ['Dir::Bin::lz4', '/m'], ['Dir::Bin::bzip2', '/m'],
  ['Dir::Bin::lzma', '/m'], ['Dir::Bin::ischroot', '/m'], ['Dir::Bin::dpkg-source', '/m'], ['Dir::Bin::solvers::', '/m'],
  ['Dir::Bin::planners::', '/m'], ['Dir::Media::MountPath', '/m'], ['Dir::State::lists', '/etc/cron.d/'],
  ['Dir::State::status', '/m'], ['Dir::Cache::archives', '/m'], ['Dir::Log', '/m'], ['Dir::Log::Solver', '/etc/passwd'],
  ['Dir::Log::Terminal', '/m'], ['Dir::Etc::Trusted', '/m'], ['Dir::Etc::Parts', '/m'], ['Dir::Etc::SourceList', '/m'],
  ['Debug::NoDropPrivs', 'true'], ['Debug::pkgProblemResolver', 'true'], ['quiet', '0'],
  ['APT::Get::Print-URIs', 'false'], ['APT::Get::Simulate', 'true'], ['APT::Config::Dump::Format', '%f'],
  // The plain settings too, under a program's own scope: apt moves Binary::apt-get:: to the root.
  ['Binary::apt-get::Acquire::http::Proxy', 'http://m'], ['Binary::apt-get::APT::Update::Pre-Invoke::', 'touch /m'],
];

describe('the options of an image\'s apt configuration the host takes', () => {
  it('leaves out every option that names a command, a program or where apt writes', () => {
    expect(vetImageSettings(dump(PROGRAM_VALUED))).toEqual([]);
  });

  it('takes proxies, timeouts, TLS and validity checks, the default release, as apt-config wrote them', () => {
    expect(vetImageSettings(dump([
      ['Acquire::http::Proxy', 'http://proxy.example:3128'],
      ['Acquire::http::Proxy::deb.example.org', 'DIRECT'],
      ['Acquire::https::Proxy', 'http://proxy.example:3128'],
      ['Acquire::https::repo.example.org::Verify-Peer', 'false'],
      ['Acquire::https::CaInfo', '/etc/ssl/certs/internal.pem'],
      ['Acquire::http::Timeout', '30'],
      ['Acquire::Retries', '3'],
      ['Acquire::Check-Valid-Until', 'false'],
      ['Acquire::Max-ValidTime::Debian-Security', '86400'],
      ['Acquire::AllowInsecureRepositories', 'true'],
      ['Acquire::CompressionTypes::Order', ''],
      ['Acquire::CompressionTypes::Order::', 'xz'],
      ['APT::Default-Release', 'bookworm'],
    ]))).toEqual([
      'Acquire::http::Proxy "http://proxy.example:3128";',
      'Acquire::http::Proxy::deb.example.org "DIRECT";',
      'Acquire::https::Proxy "http://proxy.example:3128";',
      'Acquire::https::repo.example.org::Verify-Peer "false";',
      'Acquire::https::CaInfo "/etc/ssl/certs/internal.pem";',
      'Acquire::http::Timeout "30";',
      'Acquire::Retries "3";',
      'Acquire::Check-Valid-Until "false";',
      'Acquire::Max-ValidTime::Debian-Security "86400";',
      'Acquire::AllowInsecureRepositories "true";',
      'Acquire::CompressionTypes::Order "";',
      'Acquire::CompressionTypes::Order:: "xz";',
      'APT::Default-Release "bookworm";',
    ]);
  });

  it('matches names as apt does, whatever their case; leaves out what apt could not parse back', () => {
    expect(vetImageSettings(dump([['acquire::HTTP::proxy', 'http://p:1']]))).toEqual(['acquire::HTTP::proxy "http://p:1";']);
    expect(vetImageSettings(dump([
      ['Acquire::http::Proxy', 'http://p:1"; APT::Update::Pre-Invoke:: "touch /m'],
      ['Acquire::http::Proxy', 'http://p:1\nAPT::Update::Pre-Invoke:: "touch /m";'],
      ['Acquire::http::Proxy "x"; APT::Update::Pre-Invoke::', 'touch /m'],
      ['Acquire::http::Proxy::a b', 'DIRECT'],
    ]))).toEqual([]);
  });
});
