/**
 * Signing what compose writes: GPG keys (every ostree in Debian can), or an ed25519 secret key
 * file where the host's ostree is built with sign-ed25519 (Debian 12's 2022.7 is not). Checked
 * before any work, so that a compose never builds a tree it cannot sign.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { readCommitSignatures } from '../ostree/signatures.js';
import { hasSecretKey, secretKeyFingerprints } from '../system/gpg.js';
import * as ostree from '../system/ostree.js';

export interface SigningArgs {
  gpgSign?: string;
  gpgHomedir?: string;
  signKey?: string;
}

/**
 * The ostree signing options for the arguments, or undefined when nothing is to be signed.
 * `what`: a commit (compose) or the summary (publish), which ostree signs with different commands.
 */
export async function resolveSigning(a: SigningArgs, what: 'commit' | 'summary' = 'commit'): Promise<ostree.SignOptions | undefined> {
  if (a.gpgHomedir !== undefined && a.gpgSign === undefined) {
    throw new InputError('--gpg-homedir needs --gpg-sign KEYID.', 'Give the key to sign with: --gpg-sign KEYID --gpg-homedir DIR.');
  }
  if (a.gpgSign !== undefined && a.signKey !== undefined) {
    throw new InputError('Give only one of --gpg-sign and --sign-key.', 'Sign with a GPG key (--gpg-sign KEYID --gpg-homedir DIR) or an ed25519 key file (--sign-key FILE).');
  }
  if (a.signKey !== undefined) {
    if (!(await ostree.hasSignEd25519())) {
      throw new InputError(
        'This host\'s ostree is built without ed25519 signing (no sign-ed25519 in `ostree --version`), so --sign-key cannot be used.',
        'Sign with GPG instead: --gpg-sign KEYID --gpg-homedir DIR.',
      );
    }
    // A secret key on a command line is readable by every user of the machine (ps): only from a file.
    if (what === 'summary') {
      throw new InputError(
        'ostree summary takes an ed25519 secret key only on its command line (--sign=KEY), where every user of this machine could read it, so --sign-key cannot sign the summary.',
        'Sign the summary with GPG (--gpg-sign KEYID --gpg-homedir DIR); commits keep their ed25519 signatures.',
      );
    }
    if (!(await ostree.hasCommitSignFromFile())) {
      throw new InputError(
        'This host\'s ostree reads ed25519 secret keys only from its command line, where every user of this machine could read them (ostree commit --sign-from-file came in ostree 2023.6), so --sign-key cannot be used.',
        'Sign with GPG instead (--gpg-sign KEYID --gpg-homedir DIR), or compose on a host with ostree 2023.6 or later.',
      );
    }
    const file = resolve(a.signKey);
    if (!existsSync(file) || !statSync(file).isFile()) throw new InputError(`The key file ${a.signKey} does not exist.`, 'Give a file holding the base64 ed25519 secret key (as ostree reads it).');
    return { ed25519KeyFile: file };
  }
  if (a.gpgSign === undefined) return undefined;
  if (!/^[A-Za-z0-9@._<> +-]+$/.test(a.gpgSign)) throw new InputError(`'${a.gpgSign}' is not a GPG key id.`, 'Give the key\'s fingerprint or id (gpg --list-secret-keys shows them).');
  const homedir = a.gpgHomedir !== undefined ? resolve(a.gpgHomedir) : undefined;
  if (homedir !== undefined && (!existsSync(homedir) || !statSync(homedir).isDirectory())) {
    throw new InputError(`The GnuPG home directory ${a.gpgHomedir} does not exist.`, 'Give the directory that holds the signing key (--gpg-homedir DIR).');
  }
  if (!(await hasSecretKey(homedir, a.gpgSign))) {
    throw new InputError(
      `There is no secret key ${a.gpgSign} in ${homedir ? `the GnuPG home directory ${homedir}` : 'the default GnuPG home directory'}.`,
      `Check the key id and --gpg-homedir (gpg${homedir ? ` --homedir ${homedir}` : ''} --list-secret-keys).`,
    );
  }
  return { gpgKeyIds: [a.gpgSign], gpgHomedir: homedir };
}

/** How the signature is described in messages: "GPG key KEYID" or "the ed25519 key in FILE". */
export function describeSigning(sign: ostree.SignOptions): string {
  return sign.ed25519KeyFile ? `the ed25519 key in ${sign.ed25519KeyFile}` : `GPG key ${sign.gpgKeyIds?.join(', ')}`;
}

/**
 * What signing did to a commit that a compose found unchanged (ostree writes no new commit, so
 * nothing signed it): `signed`, the GPG signature added to it (`ostree gpg-sign`); `already`, it
 * had one by that key; `not-ed25519`, an ed25519 key, which apt-ostree does not add to an
 * existing commit (it cannot tell which key made an ed25519 signature without the public key).
 */
export type ExistingCommitSigning = 'signed' | 'already' | 'not-ed25519';

/**
 * Sign the ref's existing commit when a compose with a signing key found nothing new: a publisher
 * who adds --gpg-sign to an unchanged build expects a signed commit, not the old unsigned one.
 */
export async function signExistingCommit(repo: string, checksum: string, sign: ostree.SignOptions): Promise<ExistingCommitSigning> {
  if (!sign.gpgKeyIds?.length) return 'not-ed25519';
  const have = readCommitSignatures(repo, checksum).filter((s) => s.type === 'gpg' && s.key).map((s) => s.key!);
  const missing: string[] = [];
  for (const keyId of sign.gpgKeyIds) {
    const fingerprints = await secretKeyFingerprints(sign.gpgHomedir, keyId);
    // A v4 signature names its issuer by fingerprint; older ones by the 16-digit key id.
    if (!have.some((k) => fingerprints.some((f) => f === k || f.endsWith(k)))) missing.push(keyId);
  }
  if (!missing.length) return 'already';
  await ostree.gpgSignCommit(repo, checksum, missing, sign.gpgHomedir);
  return 'signed';
}

/** What an unchanged compose says about the signing it was asked for ('' without a key). */
export function unchangedSigningNote(done: ExistingCommitSigning | undefined, sign: ostree.SignOptions | undefined): string {
  if (!sign || !done || done === 'signed') return '';
  if (done === 'already') return `; it is already signed with ${describeSigning(sign)}`;
  return `, and that commit was not signed with ${describeSigning(sign)}: --sign-key signs only new commits (ostree sign --sign-type=ed25519 --keys-file=FILE COMMIT signs an existing one)`;
}
