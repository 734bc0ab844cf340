import { UNCHANGED_EXIT_77 } from '../options.js';
import type { CommandSpec, OptionSpec } from '../spec-types.js';

const REPO = { name: 'repo', type: 'string', valueName: 'DIR', describe: 'The OSTree repository to commit to (created in archive mode if it does not exist)' } as const satisfies OptionSpec;
/** Signing options of compose tree, compose commit and compose publish. */
export const SIGN_OPTIONS = [
  { name: 'gpg-sign', type: 'string', valueName: 'KEYID', describe: 'Sign with this GPG key (its id or fingerprint); a failure to sign fails the command' },
  { name: 'gpg-homedir', type: 'string', valueName: 'DIR', describe: 'The GnuPG home directory that holds the --gpg-sign key (default: gpg\'s own)' },
  { name: 'sign-key', type: 'string', valueName: 'FILE', complete: 'files', describe: 'Sign commits with the ed25519 secret key in FILE (base64, as ostree reads it); needs an ostree built with sign-ed25519, 2023.6 or later. compose publish refuses it: ostree summary takes no key file' },
] as const satisfies readonly OptionSpec[];
const WRITE_COMMITID = { name: 'write-commitid-to', type: 'string', valueName: 'FILE', describe: 'Also write the commit checksum to FILE' } as const satisfies OptionSpec;

export const COMPOSE_TREE = {
  name: 'tree',
  describe: 'Build a base image from a manifest: mmdebstrap, convert to the OSTree layout, commit',
  positionals: [{ name: 'manifest', describe: 'The manifest (YAML or JSON); see examples/minimal-bookworm.yaml', required: true, complete: 'files' }],
  mutating: true,
  options: [
    REPO,
    { name: 'cachedir', type: 'string', valueName: 'DIR', describe: 'Keep downloaded packages and package lists in DIR between composes' },
    { name: 'dry-run', alias: ['n'], type: 'boolean', describe: 'Resolve the package set and print it and the commit that would be made; build nothing' },
    ...SIGN_OPTIONS,
    WRITE_COMMITID,
    UNCHANGED_EXIT_77,
  ],
  examples: [
    ['apt-ostree compose tree examples/minimal-bookworm.yaml --repo ./repo', 'Build the example image into ./repo'],
    ['apt-ostree compose tree image.yaml --repo ./repo --cachedir ./cache', 'Rebuild, downloading only packages that are not in ./cache'],
    ['apt-ostree compose tree image.yaml --repo ./repo --dry-run', 'Show the package set and whether a new commit would be made'],
    ['apt-ostree compose tree image.yaml --repo ./repo --gpg-sign 0xKEYID --gpg-homedir /srv/keys/gnupg', 'Build and sign the commit with a GPG key'],
  ],
} as const satisfies CommandSpec;

export const COMPOSE_COMMIT = {
  name: 'commit',
  describe: 'Convert a root filesystem built by another tool (debootstrap, debos, a container export) to the OSTree layout and commit it',
  positionals: [{ name: 'rootfs', describe: 'The directory holding the root filesystem; it is left unchanged unless --in-place is given', required: true, complete: 'directories' }],
  mutating: true,
  options: [
    REPO,
    { name: 'ref', type: 'string', valueName: 'REF', describe: 'The ref to commit to (e.g. debian/bookworm/x86_64/minimal)' },
    { name: 'version', type: 'string', valueName: 'VERSION', describe: 'The version metadata of the commit' },
    { name: 'metadata', type: 'array', valueName: 'KEY=VALUE', describe: 'Add a string to the commit metadata (repeatable)' },
    { name: 'kernel', type: 'boolean', describe: 'Require a kernel and an initramfs in the tree (a bootable image)' },
    { name: 'karg', type: 'array', valueName: 'ARG', describe: 'A default kernel argument for deployments of this image (repeatable)' },
    { name: 'in-place', type: 'boolean', describe: 'Convert ROOTFS itself instead of a hardlinked copy (faster; the directory is changed)' },
    ...SIGN_OPTIONS,
    WRITE_COMMITID,
    UNCHANGED_EXIT_77,
  ],
  examples: [
    ['apt-ostree compose commit ./rootfs --repo ./repo --ref debian/bookworm/x86_64/custom --version 1.0', 'Commit a tree made with debootstrap'],
  ],
} as const satisfies CommandSpec;

export const COMPOSE_PUBLISH = {
  name: 'publish',
  describe: 'Make an archive repository ready for a plain web server: static deltas, a signed summary, old commits pruned (docs/publishing.md)',
  writesFiles: true,
  options: [
    { name: 'repo', type: 'string', valueName: 'DIR', describe: 'The archive repository to publish (the one compose writes)' },
    ...SIGN_OPTIONS,
    { name: 'deltas', type: 'number', valueName: 'N', default: 2, describe: 'Static deltas to each ref\'s newest commit from its N previous commits (0: none)' },
    { name: 'from-scratch', type: 'boolean', describe: 'Also a static delta from nothing to each ref\'s newest commit (faster first pulls)' },
    { name: 'keep', type: 'number', valueName: 'N', describe: 'Keep the newest N commits of each ref and prune the older ones (default: keep all)' },
    { name: 'lock-wait', type: 'number', valueName: 'SECONDS', describe: 'Wait up to SECONDS for another compose publish of the repository to finish instead of failing at once (no value: wait forever)' },
    UNCHANGED_EXIT_77,
  ],
  examples: [
    ['apt-ostree compose publish --repo ./repo --gpg-sign 0xKEYID --gpg-homedir /srv/keys/gnupg --deltas 2 --keep 5', 'Deltas from the two previous commits, a signed summary, five commits per ref kept'],
  ],
} as const satisfies CommandSpec;

export const COMPOSE = {
  name: 'compose',
  describe: 'Build base images as OSTree commits',
  subcommands: [COMPOSE_TREE, COMPOSE_COMMIT, COMPOSE_PUBLISH],
} as const satisfies CommandSpec;
