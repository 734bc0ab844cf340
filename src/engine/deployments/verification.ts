/**
 * Trust: why ostree refused a pull (a commit unsigned, signed by a key the remote does not
 * trust, or not matching its checksums), said as one sentence naming the remote and the commit;
 * and whether a deployment's base came verified, for `status`.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AptOstreeError, InputError, ToolError } from '../../errors.js';
import * as ostree from '../../system/ostree.js';
import type { Transaction } from '../transaction/transaction.js';
import { NO_VERIFY_KEY } from '../../ostree/signatures.js';
import { parseRefspec } from '../../ostree/refs.js';
import { readCommitSignatures, remoteTrust, type CommitSignature } from '../../ostree/signatures.js';

export interface RemoteSetup {
  remote: string;
  url: string;
  gpgImport?: string;
  noVerify?: boolean;
}

/** Exported public keys are a few KiB each; a key file larger than this is not one. */
export const MAX_KEY_FILE_BYTES = 1024 * 1024;

/**
 * A --gpg-import FILE is a regular file of at most MAX_KEY_FILE_BYTES, checked before any work:
 * ostree would read a FIFO or /dev/zero for ever.
 */
export function checkKeyFile(path: string): void {
  const hint = 'Give a file of exported GPG public keys (gpg --export --armor KEYID > FILE).';
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `The key file ${path} does not exist.` : `Cannot read the key file ${path}: ${(e as Error).message}.`, hint);
  }
  if (!st.isFile()) {
    const what = st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : 'not a regular file';
    throw new InputError(`The key file ${path} is ${what}, not a regular file.`, hint);
  }
  if (st.size > MAX_KEY_FILE_BYTES) {
    throw new InputError(`The key file ${path} has ${st.size} bytes, more than the ${MAX_KEY_FILE_BYTES} a file of public keys has.`, hint);
  }
}

/**
 * Add or change a remote so that it verifies (or, with noVerify, knowingly not), importing keys;
 * undone by putting back the repository's config and the remote's keyring byte for byte.
 * Returns what changed, as sentences; nothing when the remote is already so.
 */
export async function configureRemote(tx: Transaction, repo: string, o: RemoteSetup): Promise<string[]> {
  const changes: string[] = [];
  const oldUrl = await ostree.remoteUrl(repo, o.remote);
  const trust = remoteTrust(repo, o.remote);
  const verifyChanged = o.noVerify ? trust.gpgVerify || !trust.noVerifyRecorded : !trust.gpgVerify || trust.noVerifyRecorded;
  if (oldUrl === o.url && !verifyChanged && !o.gpgImport) return changes;
  if (o.gpgImport) checkKeyFile(o.gpgImport);
  const saved = ['config', `${o.remote}.trustedkeys.gpg`].map((n) => ({ path: join(repo, n), data: existsSync(join(repo, n)) ? readFileSync(join(repo, n)) : undefined }));
  tx.onUndo(`restore the remote ${o.remote}`, () => {
    for (const f of saved) if (f.data === undefined) rmSync(f.path, { force: true }); else writeFileSync(f.path, f.data);
  });
  if (oldUrl !== o.url || verifyChanged) {
    await ostree.remoteAdd(repo, o.remote, o.url, { gpgVerify: !o.noVerify, force: oldUrl !== undefined, set: o.noVerify ? { [NO_VERIFY_KEY]: 'true' } : {} });
    if (oldUrl !== o.url) changes.push(oldUrl === undefined ? `added the remote ${o.remote} (${o.url})` : `changed the remote ${o.remote} from ${oldUrl} to ${o.url}`);
    if (verifyChanged && oldUrl !== undefined) changes.push(o.noVerify ? `the remote ${o.remote} no longer verifies signatures (--no-verify)` : `the remote ${o.remote} verifies signatures`);
  }
  let added = 0;
  if (o.gpgImport) {
    added = await ostree.remoteGpgImport(repo, o.remote, o.gpgImport);
    if (added > 0) changes.push(`imported ${added} GPG key${added > 1 ? 's' : ''} of ${o.gpgImport} for the remote ${o.remote}`);
  }
  if (!o.noVerify && (oldUrl !== o.url || verifyChanged || added > 0)) {
    // The summary is verified too where the server signs it (compose publish --gpg-sign): asked
    // of the server once, now. An unpublished repository has no summary; its commits are still verified.
    await ostree.configSet(repo, `remote "${o.remote}".gpg-verify-summary`, 'true');
    if (await ostree.remoteSummaryOk(repo, o.remote)) changes.push(`the remote ${o.remote} verifies the signed summary`);
    else await ostree.configSet(repo, `remote "${o.remote}".gpg-verify-summary`, 'false');
  }
  return changes;
}

/**
 * Verification is on unless refused knowingly: a key to import, keys trusted already
 * (`gpgVerify`, or the remote as an earlier run left it with its keys), or noVerify.
 */
export function checkRemoteTrust(repo: string, o: { remote: string; url: string; gpgImport?: string; gpgVerify?: boolean; noVerify?: boolean }): void {
  if (o.gpgImport) checkKeyFile(o.gpgImport);
  if (o.noVerify && (o.gpgImport || o.gpgVerify)) {
    throw new InputError('--no-verify turns verification off; it cannot be given with --gpg-import or --gpg-verify.', 'Give a key to verify with (--gpg-import FILE), or --no-verify to accept unsigned content, not both.');
  }
  if (o.noVerify || o.gpgImport || o.gpgVerify) return;
  const trust = remoteTrust(repo, o.remote);
  if (trust.exists && trust.url === o.url && trust.gpgVerify && trust.hasOwnGpgKeys) return;
  throw new InputError(
    `The remote ${o.remote} (${o.url}) has no key to verify its commits with, and apt-ostree does not deploy unverified images by default.`,
    'Give the image publisher\'s public key with --gpg-import FILE, or pass --no-verify to accept unsigned content knowingly (it is recorded, and `status` shows it).',
  );
}

const REASONS: Array<[RegExp, string]> = [
  [/no (summary )?signatures found/i, 'is not signed'],
  [/but no summary found/i, 'is missing, and the remote verifies its summary'],
  [/signatures found, but none are in trusted keyring|public key not found|Can't check signature/i, 'is signed, but by no key the remote trusts'],
  [/BAD signature|bad signature|signature.*invalid|Invalid signature/i, 'has a signature that does not match its content (tampered with)'],
  [/Corrupted|checksum expected|Checksum mismatch|expected checksum/i, 'does not match its checksum: the server\'s data was tampered with or damaged'],
];

/**
 * The refusal for a failed pull that ostree's verification stopped, or undefined for any
 * other failure. `commit` is the commit asked for, when known (ostree names it in most messages).
 */
export function refusedPull(e: unknown, o: { repo: string; remote: string; ref: string; commit?: string }): AptOstreeError | undefined {
  if (!(e instanceof ToolError)) return undefined;
  const text = `${e.stderr}\n${e.stdout}`;
  const hit = REASONS.find(([re]) => re.test(text));
  if (!hit) return undefined;
  // ostree names the commit whose signature fails ("Commit X: …"); a signature failure naming
  // none, on a remote that verifies its summary, is the summary's.
  const namesCommit = /Commit [0-9a-f]{64}/.test(text);
  const summary = !namesCommit && (/summary/i.test(text) || (remoteTrust(o.repo, o.remote).gpgVerifySummary && !/checksum/.test(hit[1])));
  const named = /Commit ([0-9a-f]{64})/.exec(text)?.[1] ?? o.commit;
  const what = summary ? `the summary of ${o.remote}` : named ? `commit ${named} of ${o.remote}:${o.ref}` : `the commit of ${o.remote}:${o.ref}`;
  const tampered = hit[1].includes('tampered');
  return new AptOstreeError(`Refused ${what}: it ${hit[1]}; nothing was changed.`, {
    hint: tampered
      ? `Do not use this server until its content is checked; ${o.remote}'s publisher can compose and publish the image again.`
      : `Import the publisher's public key for ${o.remote} (ostree remote gpg-import ${o.remote} -k FILE), or check that the server is the one you meant.`,
    detail: e.detail,
    cause: e,
  });
}

export interface BaseVerification {
  /** The remote checks GPG signatures (rpm-ostree's gpg-enabled). */
  'gpg-enabled': boolean;
  /** The signatures of the base commit (rpm-ostree lists them where gpg-enabled). */
  signatures: CommitSignature[];
  /** The base came from a remote that verifies, and carries a signature it checked. */
  verified: boolean;
  /** How: "gpg", "ed25519", or why not ("--no-verify", "remote does not verify", "no remote"). */
  verification: string;
}

/** Whether the base of a deployment with origin REFSPEC came verified from its remote. */
export function baseVerification(repo: string, refspec: string | undefined, baseChecksum: string): BaseVerification {
  const signatures = readCommitSignatures(repo, baseChecksum);
  const remote = refspec ? parseRefspec(refspec)?.remote : undefined;
  if (!remote) return { 'gpg-enabled': false, signatures, verified: false, verification: 'none (no remote)' };
  const t = remoteTrust(repo, remote);
  const gpg = t.gpgVerify && signatures.some((s) => s.type === 'gpg');
  const ed = t.signVerify && signatures.some((s) => s.type === 'ed25519');
  const why = !t.exists ? `none (no remote ${remote})` : t.noVerifyRecorded ? 'none (--no-verify)' : `none (remote ${remote} does not verify)`;
  return { 'gpg-enabled': t.gpgVerify, signatures, verified: gpg || ed, verification: gpg ? 'gpg' : ed ? 'ed25519' : t.gpgVerify || t.signVerify ? 'none (no signature)' : why };
}

/**
 * --sign-verify FILE: ed25519 public keys. Only where ostree has sign-ed25519; this version of
 * apt-ostree verifies with GPG keys (--gpg-import), so it is refused either way, saying which.
 */
export async function refuseSignVerify(file: string): Promise<never> {
  if (!(await ostree.hasSignEd25519())) {
    throw new InputError(
      `This host's ostree is built without ed25519 signing (no sign-ed25519 in \`ostree --version\`), so --sign-verify ${file} cannot be used.`,
      'Verify with the publisher\'s GPG key instead: --gpg-import FILE.',
    );
  }
  throw new InputError('--sign-verify is not supported yet by apt-ostree.', 'Verify with the publisher\'s GPG key: --gpg-import FILE.');
}
