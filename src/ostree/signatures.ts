/**
 * What a commit's signatures are and what a remote trusts, read without starting ostree:
 * the detached metadata (objects/XX/REST.commitmeta, a{sv}: ostree.gpgsigs aay, ostree.sign.ed25519
 * aay) and the remote's section of the repository's config. Whether a signature is good was
 * checked by ostree when the commit was pulled from a remote that verifies (pulls are refused
 * otherwise); this only describes it, for `status`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGVariant, vardictToObject, type GValue } from './gvariant.js';
import { KeyFile } from './keyfile.js';

export interface CommitSignature {
  type: 'gpg' | 'ed25519';
  /** GPG: the issuer's fingerprint (v4 signatures carry it) or else its 16-digit key id, upper case hex. */
  key?: string;
  /** GPG: when the signature was made (Unix seconds). */
  timestamp?: number;
}

export function commitmetaPath(repo: string, checksum: string): string {
  return join(repo, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.commitmeta`);
}

/** The signatures of a commit in a repository ([] when it has none, or no detached metadata). */
export function readCommitSignatures(repo: string, checksum: string): CommitSignature[] {
  let data: Buffer;
  try {
    data = readFileSync(commitmetaPath(repo, checksum));
  } catch {
    return [];
  }
  let meta: Record<string, GValue>;
  try {
    meta = vardictToObject(readGVariant('a{sv}', data));
  } catch {
    return [];
  }
  const out: CommitSignature[] = [];
  for (const sig of byteArrays(meta['ostree.gpgsigs'])) out.push({ type: 'gpg', ...parsePgpSignature(sig) });
  for (const sig of byteArrays(meta['ostree.sign.ed25519'])) if (sig.length === 64) out.push({ type: 'ed25519' });
  return out;
}

function byteArrays(v: GValue | undefined): Uint8Array[] {
  return Array.isArray(v) ? v.filter((x): x is Uint8Array => x instanceof Uint8Array) : [];
}

/**
 * The issuer and creation time of an OpenPGP signature packet (RFC 4880 5.2.3, v4 and v5;
 * v3 keeps them in fixed fields). Anything unreadable gives {}.
 */
export function parsePgpSignature(bytes: Uint8Array): { key?: string; timestamp?: number } {
  const b = Buffer.from(bytes);
  const packet = packetBody(b);
  if (!packet || packet.tag !== 2) return {};
  const body = packet.body;
  const version = body[0];
  if (version === 3 && body.length >= 19) {
    return { timestamp: body.readUInt32BE(3), key: body.subarray(7, 15).toString('hex').toUpperCase() };
  }
  if (version !== 4 && version !== 5) return {};
  const out: { key?: string; timestamp?: number } = {};
  let keyId: string | undefined;
  let pos = 4;
  for (let area = 0; area < 2; area++) {
    const lenBytes = version === 5 && area === 0 ? 4 : 2;
    if (pos + lenBytes > body.length) return out;
    const len = lenBytes === 4 ? body.readUInt32BE(pos) : body.readUInt16BE(pos);
    pos += lenBytes;
    const end = Math.min(body.length, pos + len);
    while (pos < end) {
      let sublen = body[pos]!;
      pos += 1;
      if (sublen >= 192 && sublen < 255) {
        sublen = ((sublen - 192) << 8) + body[pos]! + 192;
        pos += 1;
      } else if (sublen === 255) {
        sublen = body.readUInt32BE(pos);
        pos += 4;
      }
      const type = body[pos]! & 0x7f;
      const data = body.subarray(pos + 1, pos + sublen);
      if (type === 2 && data.length === 4) out.timestamp = data.readUInt32BE(0);
      if (type === 16 && data.length === 8) keyId = data.toString('hex').toUpperCase();
      if (type === 33 && data.length >= 21) out.key = data.subarray(1).toString('hex').toUpperCase();
      pos += sublen;
    }
    pos = end;
  }
  out.key ??= keyId;
  return out;
}

/** The first packet of an OpenPGP message: its tag and body (old and new header formats). */
function packetBody(b: Buffer): { tag: number; body: Buffer } | undefined {
  if (b.length < 2 || !(b[0]! & 0x80)) return undefined;
  if (b[0]! & 0x40) {
    const tag = b[0]! & 0x3f;
    const l0 = b[1]!;
    if (l0 < 192) return { tag, body: b.subarray(2, 2 + l0) };
    if (l0 < 224) return { tag, body: b.subarray(3, 3 + ((l0 - 192) << 8) + b[2]! + 192) };
    if (l0 === 255) return { tag, body: b.subarray(6, 6 + b.readUInt32BE(2)) };
    return undefined; // partial body lengths: not used for signatures
  }
  const tag = (b[0]! >> 2) & 0x0f;
  const lt = b[0]! & 0x03;
  if (lt === 0) return { tag, body: b.subarray(2, 2 + b[1]!) };
  if (lt === 1) return { tag, body: b.subarray(3, 3 + b.readUInt16BE(1)) };
  if (lt === 2) return { tag, body: b.subarray(5, 5 + b.readUInt32BE(1)) };
  return { tag, body: b.subarray(1) };
}

/** The option of a remote's section that records `--no-verify` (ostree ignores keys it does not know). */
export const NO_VERIFY_KEY = 'xa.apt-ostree-no-verify';

export interface RemoteTrust {
  /** The remote is configured in the repository. */
  exists: boolean;
  url?: string;
  /** ostree checks GPG signatures of its commits (gpg-verify, true unless set to false). */
  gpgVerify: boolean;
  /** ostree checks the summary's signature (gpg-verify-summary). */
  gpgVerifySummary: boolean;
  /** ed25519 verification (sign-verify) is configured. */
  signVerify: boolean;
  /** The remote has its own imported GPG keys (REPO/NAME.trustedkeys.gpg). */
  hasOwnGpgKeys: boolean;
  /** Verification was turned off knowingly with apt-ostree's --no-verify. */
  noVerifyRecorded: boolean;
}

/** How a repository's remote NAME verifies what it pulls (from REPO/config; remotes.d is not read). */
export function remoteTrust(repo: string, name: string): RemoteTrust {
  let kf: KeyFile;
  try {
    kf = KeyFile.parse(readFileSync(join(repo, 'config'), 'utf8'));
  } catch {
    kf = KeyFile.parse('');
  }
  const group = `remote "${name}"`;
  const exists = kf.groupNames().includes(group);
  const bool = (key: string, dflt: boolean) => (kf.has(group, key) ? kf.getBool(group, key) : dflt);
  return {
    exists,
    url: kf.get(group, 'url'),
    gpgVerify: exists && bool('gpg-verify', true),
    gpgVerifySummary: exists && bool('gpg-verify-summary', false),
    signVerify: exists && (bool('sign-verify', false) || kf.has(group, 'verification-ed25519-file') || kf.has(group, 'verification-ed25519-key')),
    hasOwnGpgKeys: existsSync(join(repo, `${name}.trustedkeys.gpg`)),
    noVerifyRecorded: exists && bool(NO_VERIFY_KEY, false),
  };
}
