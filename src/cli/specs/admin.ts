import { LOCK_OPTIONS, UNCHANGED_EXIT_77 } from '../options.js';
import type { CommandSpec } from '../spec-types.js';

export const ADMIN_PROVISION = {
  name: 'provision',
  describe: 'Create (or reuse) a sysroot, pull an image into it and deploy it (an existing default deployment is replaced only with --as-default)',
  mutating: true,
  options: [
    { name: 'repo', type: 'string', valueName: 'DIR', describe: 'Pull from the OSTree repository at DIR (a file:// remote)' },
    { name: 'url', type: 'string', valueName: 'URL', describe: 'Pull from the repository at URL (http, https or file)' },
    { name: 'ref', type: 'string', valueName: 'REF', describe: 'The ref to deploy (e.g. debian/bookworm/x86_64/minimal)' },
    { name: 'remote', type: 'string', valueName: 'NAME[=URL]', describe: 'Name of the remote that later upgrades pull from (default: origin); NAME=URL also gives its URL' },
    { name: 'karg', type: 'array', valueName: 'ARG', describe: 'Kernel argument of the deployment (repeatable; default: the image\'s own, from its commit metadata)' },
    { name: 'gpg-import', type: 'string', valueName: 'FILE', complete: 'files', describe: 'Import the image publisher\'s GPG public keys from FILE for the remote, which then verifies every commit (verification is on by default: without a key, provisioning is refused unless --no-verify); FILE is a regular file of at most 1 MiB' },
    { name: 'gpg-verify', type: 'boolean', describe: 'Verify GPG signatures with keys this system already trusts (none imported)' },
    { name: 'sign-verify', type: 'string', valueName: 'FILE', complete: 'files', describe: 'Verify ed25519 signatures with the public keys in FILE (base64, one a line): not supported yet, refused saying why (an ostree without sign-ed25519, such as Debian 12\'s, cannot verify them at all); verify with --gpg-import' },
    { name: 'no-verify', type: 'boolean', describe: 'Accept unsigned content from the remote, knowingly: recorded in the remote\'s configuration and shown by status' },
    { name: 'as-default', type: 'boolean', describe: 'Make the image the default deployment even though the sysroot already has one (without it, or --not-as-default, provisioning refuses to change an existing default); no deployment is removed' },
    { name: 'not-as-default', type: 'boolean', describe: 'Deploy the image after the current default deployment, which stays the default (as ostree admin deploy --not-as-default); no deployment is removed' },
    { name: 'image', type: 'string', valueName: 'FILE', describe: 'Then write the sysroot into FILE, a GPT disk image that boots from UEFI or BIOS firmware (as admin image does; refused if FILE exists)', complete: 'files' },
    { name: 'image-size', type: 'string', valueName: 'SIZE', default: '4G', describe: 'Size of the --image, e.g. 4G or 2048M (a sparse file)' },
    UNCHANGED_EXIT_77,
    ...LOCK_OPTIONS,
  ],
  examples: [
    ['apt-ostree admin provision --sysroot /mnt/disk --repo ./repo --ref debian/bookworm/x86_64/minimal --no-verify', 'Deploy an unsigned image from a local repository into a disk mounted at /mnt/disk'],
    ['apt-ostree admin provision --sysroot ./sysroot --url https://images.example.org/repo --ref debian/bookworm/x86_64/minimal --os debian --gpg-import images.asc', 'Deploy from an HTTP server, verifying its signatures with the publisher\'s key; later upgrades pull from it, verified'],
    ['apt-ostree admin provision --sysroot ./sysroot --repo ./repo --ref debian/bookworm/x86_64/bootable --image disk.img', 'Deploy a bootable image and write the sysroot into a disk that boots from firmware'],
    ['apt-ostree admin provision --sysroot /mnt/disk --repo ./repo --ref debian/trixie/x86_64/minimal --os trixie --not-as-default', 'Add a second image beside the deployments already there; the default stays'],
  ],
} as const satisfies CommandSpec;

export const ADMIN_IMAGE = {
  name: 'image',
  describe: 'Make a GPT disk image holding a sysroot, booting from UEFI or BIOS firmware through GRUB',
  writesFiles: true,
  options: [
    { name: 'output', alias: ['o'], type: 'string', valueName: 'FILE', describe: 'The disk image to write (refused if it exists, unless --force)', complete: 'files' },
    { name: 'size', type: 'string', valueName: 'SIZE', default: '4G', describe: 'Size of the image, e.g. 4G or 2048M (a sparse file: unused space takes no room)' },
    { name: 'format', type: 'string', choices: ['raw', 'qcow2'], default: 'raw', valueName: 'FORMAT', describe: 'raw (a sparse file), or qcow2 (converted with qemu-img, for clouds and hypervisors)' },
    { name: 'label', type: 'string', valueName: 'LABEL', describe: 'Label of the root file system (default apt-ostree-root, which provision puts in the kernel arguments as root=LABEL=apt-ostree-root)' },
    { name: 'force', type: 'boolean', describe: 'Replace FILE if it exists' },
  ],
  examples: [
    ['apt-ostree admin image --sysroot ./sysroot --output disk.img', 'Make a 4 GiB disk of a sysroot made by admin provision (boot it with qemu-system-x86_64 -bios /usr/share/ovmf/OVMF.fd, or without -bios for BIOS)'],
    ['apt-ostree admin image --sysroot ./sysroot --output disk.qcow2 --format qcow2', 'The same disk as a qcow2 image'],
  ],
} as const satisfies CommandSpec;

/** `admin`: commands that set up or repair sysroots (more may be added beside provision). */
export const ADMIN = {
  name: 'admin',
  describe: 'Set up and administer sysroots',
  subcommands: [ADMIN_PROVISION, ADMIN_IMAGE],
} as const satisfies CommandSpec;
