/**
 * What apt-ostree takes from an image's apt configuration (the deployment's /etc/apt/apt.conf and
 * apt.conf.d) for the apt runs on the host (issue 31). apt itself never reads those files on the
 * host (writeAptConfig points Dir::Etc::Main and Dir::Etc::Parts elsewhere): they are an image's,
 * and apt.conf can name commands (APT::Update::Pre-Invoke, DPkg::Pre-Invoke, AptCli::Hooks::*),
 * programs (Acquire::http::Proxy-Auto-Detect, Dir::Bin::*, APT::Solver with Dir::Bin::Solvers,
 * APT::Key::gpgvcommand, APT::Compressor::*::Binary, Acquire::CompressionTypes::EXT,
 * Acquire::cdrom::*::Mount), where apt writes (Dir::State, Dir::Cache, Dir::Log), and all of it
 * again under Binary::PROGRAM::. Instead, `apt-config dump` reads them (it parses and prints,
 * runs nothing), and only the plain settings of IMAGE_SETTINGS are passed on: proxies, timeouts,
 * TLS and validity checks, pinning's default release. An allow-list, not a deny-list: an option
 * apt adds later, or one missed here, is left out rather than run.
 *
 * The deployment's sources, preferences, trusted keys and auth.conf are read by apt as they are
 * (Dir::Etc): they are data, and what apt fetches with them is verified and installed only in the
 * sandbox.
 */
import { run } from './run.js';

/** The options of an image's apt.conf(.d) that the host's apt runs take (case-insensitive). */
export const IMAGE_SETTINGS: readonly RegExp[] = [
  // Proxies: a URL, "DIRECT", or per host (Acquire::http::Proxy::HOST). Not Proxy-Auto-Detect.
  /^Acquire::(?:http|https|ftp)::Proxy(?:::[^:]+)?$/i,
  // Method settings, for all hosts or per host (Acquire::https::HOST::Verify-Peer).
  /^Acquire::(?:http|https|ftp)(?:::[^:]+)?::(?:Timeout|ConnectionAttemptDelayMsec|Pipeline-Depth|AllowRanges|AllowRedirect|No-Cache|Max-Age|No-Store|Dl-Limit|User-Agent|User-Agent-Non-Interactive|Referer|Verify-Peer|Verify-Host|CaInfo|CaPath|CrlFile|SslCert|SslKey|Passive)$/i,
  /^Acquire::(?:Retries(?:::Delay(?:::Maximum)?)?|Queue-Mode|Max-Pipeline-Depth|ForceIPv4|ForceIPv6|AllowTLS|By-Hash|GzipIndexes|Source-Symlinks|SameMirrorForAllIndexes)$/i,
  /^Acquire::(?:Check-Valid-Until|Check-Date|Max-ValidTime(?:::[^:]+)?|Min-ValidTime(?:::[^:]+)?|Max-FutureTime(?:::[^:]+)?)$/i,
  /^Acquire::(?:AllowInsecureRepositories|AllowWeakRepositories|AllowDowngradeToInsecureRepositories|AllowUnsizedPackages|AllowReleaseInfoChange(?:::[^:]+)?)$/i,
  /^Acquire::PDiffs(?:::(?:FileLimit|SizeLimit|Merge))?$/i,
  // The order of the compression types apt knows; not Acquire::CompressionTypes::EXT (a program).
  /^Acquire::CompressionTypes::Order(?:::)?$/i,
  /^APT::(?:Default-Release|Install-Suggests)$/i,
  /^APT::Get::(?:AllowUnauthenticated|Always-Include-Phased-Updates|Never-Include-Phased-Updates)$/i,
];

/** What separates an option from its value, and one option from the next, in the dump. */
const FIELD = '\x1f';
const RECORD = '\x1e';

/** A name apt parses back as one option (a list item ends in `::`). */
const OPTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]*(?:::[A-Za-z0-9_.+-]*)*$/;

/**
 * The lines of apt configuration (`Name "value";`) for the options of an `apt-config dump`
 * (written with FIELD and RECORD) that IMAGE_SETTINGS allows, in the dump's order. A value
 * that apt's syntax cannot hold (a quote, a line break) leaves its option out.
 */
export function vetImageSettings(dump: string): string[] {
  const lines: string[] = [];
  for (const record of dump.split(RECORD)) {
    const at = record.indexOf(FIELD);
    if (at < 0) continue;
    const name = record.slice(0, at).replace(/^\n+/, '');
    const value = record.slice(at + 1);
    if (!OPTION_NAME.test(name) || /["\n\r\0]/.test(value)) continue;
    if (!IMAGE_SETTINGS.some((re) => re.test(name))) continue;
    lines.push(`${name} "${value}";`);
  }
  return lines;
}

/**
 * The allowed settings of the apt configuration under `etcApt` (its apt.conf and apt.conf.d), read
 * by `apt-config dump` with APT_CONFIG `configFile` (which sets Dir::Etc to `etcApt`). The command
 * line comes after every configuration file: it fixes the options that would make apt-config start
 * a program (dpkg, for the architectures) to values of ours.
 */
export async function readImageSettings(configFile: string, architecture: string): Promise<string[]> {
  const { stdout } = await run(
    'apt-config',
    [
      '-o', `APT::Config::Dump::Format=%f${FIELD}%v${RECORD}`,
      '-o', 'APT::Config::Dump::EmptyValue=true',
      '-o', `APT::Architecture=${architecture}`,
      '-o', `APT::Architectures=${architecture}`,
      '-o', 'Dir::Bin::dpkg=/usr/bin/dpkg',
      'dump',
    ],
    {
      env: { APT_CONFIG: configFile, LC_ALL: 'C.UTF-8' },
      what: 'apt-config (reading the deployment\'s apt.conf and apt.conf.d)',
      hint: 'Fix or remove the file apt names above (in the deployment\'s /etc/apt), then run the command again.',
    },
  );
  return vetImageSettings(stdout);
}
