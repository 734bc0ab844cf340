/**
 * Trust: why ostree refused a pull (a commit unsigned, signed by a key the remote does not
 * trust, or not matching its checksums), said as one sentence naming the remote and the commit;
 * and whether a deployment's base came verified, for `status`.
 */
import { AptOstreeError, InputError, ToolError } from '../../errors.js';
import { hasSignEd25519 } from '../../system/ostree.js';
import { parseRefspec } from '../../ostree/refs.js';
import { readCommitSignatures, remoteTrust, type CommitSignature } from '../../ostree/signatures.js';

const REASONS: Array<[RegExp, string]> = [
  [/no signatures found/i, 'is not signed'],
  [/signatures found, but none are in trusted keyring|public key not found|Can't check signature/i, 'is signed, but by no key the remote trusts'],
  [/BAD signature|bad signature|signature.*invalid|Invalid signature/i, 'has a signature that does not match its content (tampered with)'],
  [/Corrupted|checksum expected|Checksum mismatch|expected checksum/i, 'does not match its checksum: the server\'s data was tampered with or damaged'],
];

/**
 * The refusal for a failed pull that ostree's verification stopped, or undefined for any
 * other failure. `commit` is the commit asked for, when known (ostree names it in most messages).
 */
export function refusedPull(e: unknown, o: { remote: string; ref: string; commit?: string }): AptOstreeError | undefined {
  if (!(e instanceof ToolError)) return undefined;
  const text = `${e.stderr}\n${e.stdout}`;
  const hit = REASONS.find(([re]) => re.test(text));
  if (!hit) return undefined;
  const summary = /summary/i.test(text) && !/Commit [0-9a-f]{64}/.test(text);
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
  if (!(await hasSignEd25519())) {
    throw new InputError(
      `This host's ostree is built without ed25519 signing (no sign-ed25519 in \`ostree --version\`), so --sign-verify ${file} cannot be used.`,
      'Verify with the publisher\'s GPG key instead: --gpg-import FILE.',
    );
  }
  throw new InputError('--sign-verify is not supported yet by apt-ostree.', 'Verify with the publisher\'s GPG key: --gpg-import FILE.');
}
