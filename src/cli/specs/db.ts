import type { CommandSpec } from '../spec-types.js';

/** The revision syntax, in every positional that takes one (resolved in engine/deployments/revisions.ts). */
const REV =
  'REV: a commit checksum or a unique prefix of 6+ hex digits; a ref (debian/12/x86_64/base, origin:debian/12/x86_64/base); ' +
  'deployment:N (index N as `apt-ostree status` lists them, 0 = default); booted, pending, rollback or default; REV^ (parent), REV~N (Nth ancestor)';

export const DB_DIFF = {
  name: 'diff',
  describe: 'Show the packages added, removed, upgraded and downgraded between two revisions',
  positionals: [
    {
      name: 'from',
      describe:
        'The older revision. Default: the booted deployment, compared with the pending one; the rollback deployment when the booted one is the default; ' +
        'on a sysroot that is not booted, the rollback deployment, compared with the default one. Given alone, it is the newer revision and is ' +
        `compared with the booted (or default) deployment, as in rpm-ostree. ${REV}`,
    },
    { name: 'to', describe: `The newer revision (default: see FROM). ${REV}` },
  ],
  options: [
    {
      name: 'format', alias: ['F'], type: 'string', choices: ['block', 'diff', 'json'], default: 'block', valueName: 'FORMAT',
      describe: 'block: "Upgraded:" / "Downgraded:" / "Removed:" / "Added:" sections; diff: one line per package, "+name version" (added), "-name version" (removed), "!name old -> new" (upgraded or downgraded); json: {added, removed, upgraded, downgraded}',
    },
    { name: 'base', type: 'boolean', describe: 'For deployments, compare their base images rather than their layered commits' },
  ],
  examples: [
    ['apt-ostree db diff', 'What the next boot changes (or what the last update changed)'],
    ['apt-ostree db diff rollback deployment:0 --format=diff', 'The rollback deployment against the default, one line per package'],
    ['apt-ostree db diff 3fa8c2d1e0 origin:debian/12/x86_64/base --format=json', 'Two commits of the repository, as JSON'],
  ],
} as const satisfies CommandSpec;

export const DB_LIST = {
  name: 'list',
  describe: 'List the packages of revisions ("name version architecture"), optionally only those matching patterns',
  positionals: [
    {
      name: 'revisions',
      describe:
        'Revisions, and package name patterns (shell globs such as "lib*"): an argument that is not a revision is a pattern. ' +
        `FROM..TO stands for every commit from TO back to FROM (excluded). ${REV}`,
      variadic: true,
      required: true,
    },
  ],
  options: [
    { name: 'pattern', type: 'array', valueName: 'GLOB', describe: 'List only packages whose name matches GLOB (may be repeated)' },
    { name: 'json', type: 'boolean', describe: 'Print [{revision, checksum, packages: [{name, version, arch}]}]' },
  ],
  examples: [
    ['apt-ostree db list booted', 'The packages of the booted deployment'],
    ['apt-ostree db list deployment:0 "libssl*" openssl', 'Only the packages matching the patterns'],
  ],
} as const satisfies CommandSpec;

export const DB_VERSION = {
  name: 'version',
  describe: 'Print the dpkg database version of revisions: COUNT:HASH of their installed packages',
  positionals: [
    {
      name: 'revisions',
      describe:
        'Revisions (FROM..TO for a range). The version is COUNT:HASH: the number of installed packages and the first 16 hex digits of the sha256 ' +
        `of the sorted "name version architecture" lines; equal package sets give equal versions. ${REV}`,
      variadic: true,
      required: true,
    },
  ],
  options: [{ name: 'json', type: 'boolean', describe: 'Print [{revision, checksum, count, sha256, version}]' }],
  examples: [['apt-ostree db version booted pending', 'Do the booted and the pending deployment have the same packages?']],
} as const satisfies CommandSpec;

export const DB = {
  name: 'db',
  describe: 'Query the packages (dpkg database) of commits and deployments; needs no root',
  subcommands: [DB_DIFF, DB_LIST, DB_VERSION],
} as const satisfies CommandSpec;
