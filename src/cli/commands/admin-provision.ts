import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError, UnchangedError } from '../../errors.js';
import { checkBootKargs, validateKarg } from '../../engine/deployments/kargs.js';
import { checkProvisionTrust, DEFAULT_OS, DEFAULT_REMOTE, provision, validateProvisionNames } from '../../engine/deployments/provision.js';
import { refuseSignVerify } from '../../engine/deployments/verification.js';
import { assertRef } from '../../image/refs.js';
import type { CommandContext } from '../context.js';
import type { ArgsOf } from '../spec-types.js';
import type { ADMIN_PROVISION } from '../specs/admin.js';

const USAGE = 'Usage: apt-ostree admin provision --sysroot DIR (--repo PATH | --url URL | --remote NAME=URL) --ref REF (--gpg-import FILE | --no-verify) [--as-default | --not-as-default]';

export async function run(ctx: CommandContext<ArgsOf<typeof ADMIN_PROVISION>>): Promise<number> {
  const { ref } = ctx.args;
  if (!ref) throw new InputError('admin provision needs --ref.', USAGE);
  assertRef(ref);
  const { remote, url } = remoteAndUrl(ctx.args.repo, ctx.args.url, ctx.args.remote);
  const sysroot = resolve(ctx.sysroot);
  const os = ctx.os ?? DEFAULT_OS;
  validateProvisionNames({ os, remote, sysrootPath: sysroot });
  const kargList = ctx.args.karg;
  for (const k of kargList) validateKarg(k, '--karg', { single: true });
  checkBootKargs(kargList, os);
  const { gpgImport, signVerify, noVerify } = ctx.args;
  if (gpgImport && !existsSync(gpgImport)) throw new InputError(`The key file ${gpgImport} does not exist.`, 'Give the path of an exported GPG public key.');
  if (signVerify !== undefined) await refuseSignVerify(signVerify);
  checkProvisionTrust({ sysrootPath: sysroot, remote, url, gpgImport, gpgVerify: ctx.args.gpgVerify, noVerify });
  const { asDefault, notAsDefault } = ctx.args;
  if (asDefault && notAsDefault) throw new InputError('Give only one of --as-default and --not-as-default.', 'With --as-default the image becomes the default deployment; with --not-as-default the default stays.');
  const { image } = ctx.args;
  let imageSize = 0;
  if (image) {
    const disk = await import('../../image/disk.js');
    disk.checkImageOutput({ sysroot, output: image, force: false }, '--image');
    imageSize = disk.parseSize(ctx.args.imageSize ?? disk.DEFAULT_IMAGE_SIZE);
  }

  const r = await provision({
    sysrootPath: sysroot,
    os,
    remote,
    url,
    ref,
    kargs: kargList.length ? kargList : undefined,
    gpgVerify: ctx.args.gpgVerify,
    gpgImport: gpgImport ? resolve(gpgImport) : undefined,
    noVerify,
    asDefault,
    notAsDefault,
    command: ctx.command,
    reporter: ctx.reporter,
    lockWaitSeconds: ctx.args.lockWait,
  });
  const what = `${remote}:${ref} ${r.version ? `${r.version} ` : ''}(${r.checksum.slice(0, 12)})`;
  if (!r.deployed && !r.changes.length && !image) {
    throw new UnchangedError(`Nothing to do: ${sysroot} already deploys ${what} in the stateroot ${os}.`, ctx.args.unchangedExit77);
  }
  for (const c of r.changes) ctx.reporter.info(c);
  const withKargs = r.kargs.length ? ` with kernel arguments: ${r.kargs.join(' ')}` : '';
  process.stdout.write(r.deployed
    ? r.isDefault
      ? `Provisioned ${sysroot}: stateroot ${os} deploys ${what}${withKargs}.\n`
      : `Provisioned ${sysroot}: stateroot ${os} has ${what}${withKargs} after the default; the default is still ${r.defaultIs}.\n`
    : r.isDefault
      ? `${r.changes.length ? 'Updated' : 'Nothing to change in'} ${sysroot}; the deployment of ${what} was already the default.\n`
      : `${r.changes.length ? 'Updated' : 'Nothing to change in'} ${sysroot}; ${what} was already deployed after the default${r.defaultIs ? ` (${r.defaultIs})` : ''}.\n`);
  if (r.kept.length) process.stdout.write(`Kept the existing deployment${r.kept.length > 1 ? 's' : ''}: ${r.kept.join(', ')} (\`apt-ostree cleanup\` removes the ones not needed).\n`);
  if (image) {
    // The sysroot is provisioned: a failed image leaves it as it is (and no image file).
    const { describeDiskImage, makeDiskImage } = await import('../../image/disk.js');
    const { withCancellation } = await import('../../image/compose.js');
    const d = await withCancellation(ctx.reporter, (signal) => makeDiskImage({ sysroot, output: image, sizeBytes: imageSize, force: false, reporter: ctx.reporter, signal }));
    process.stdout.write(describeDiskImage(d, sysroot));
  } else if (r.deployed) {
    process.stdout.write(`See it with: apt-ostree --sysroot ${sysroot} status\n`);
  }
  return 0;
}

/** Exactly one source: --repo PATH, --url URL, or --remote NAME=URL; --remote NAME alone names it. */
function remoteAndUrl(repo: string | undefined, url: string | undefined, remoteArg: string | undefined): { remote: string; url: string } {
  let remote = remoteArg ?? DEFAULT_REMOTE;
  let remoteUrl: string | undefined;
  const eq = remote.indexOf('=');
  if (eq >= 0) {
    remoteUrl = remote.slice(eq + 1);
    remote = remote.slice(0, eq);
  }
  const given = [repo, url, remoteUrl].filter((x) => x !== undefined);
  if (given.length !== 1) {
    throw new InputError(given.length ? 'Give only one of --repo, --url and --remote NAME=URL.' : 'admin provision needs a repository to pull from.', USAGE);
  }
  if (repo !== undefined) {
    if (!existsSync(resolve(repo, 'config')) || !existsSync(resolve(repo, 'objects'))) {
      throw new InputError(`${repo} is not an OSTree repository.`, 'Give the directory of a repository made by apt-ostree compose (or ostree init).');
    }
    return { remote, url: `file://${realpathSync(repo)}` };
  }
  const u = (url ?? remoteUrl)!;
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new InputError(`'${u}' is not a URL.`, 'Give an http://, https:// or file:// URL, or a local repository with --repo.');
  }
  if (!['http:', 'https:', 'file:'].includes(parsed.protocol)) {
    throw new InputError(`'${u}' is not an http, https or file URL.`, 'ostree pulls over http(s) or from file:// paths.');
  }
  return { remote, url: u };
}
