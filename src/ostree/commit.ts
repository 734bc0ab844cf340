/**
 * Read commit objects straight from a repository's object store (bare, bare-user or archive
 * modes all store commits uncompressed at objects/XX/REST.commit).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readGVariant, toHex, vardictToObject, type GValue } from './gvariant.js';

export interface CommitInfo {
  checksum: string;
  metadata: Record<string, GValue>;
  parent?: string;
  subject: string;
  body: string;
  /** Unix seconds. */
  timestamp: number;
  rootContents: string;
  rootMetadata: string;
}

const COMMIT_TYPE = '(a{sv}aya(say)sstayay)';

export function commitObjectPath(repo: string, checksum: string): string {
  return join(repo, 'objects', checksum.slice(0, 2), `${checksum.slice(2)}.commit`);
}

export function readCommit(repo: string, checksum: string): CommitInfo {
  const data = readFileSync(commitObjectPath(repo, checksum));
  const [meta, parent, , subject, body, ts, rootContents, rootMeta] = readGVariant(COMMIT_TYPE, data) as GValue[];
  return {
    checksum,
    metadata: vardictToObject(meta!),
    parent: toHex(parent!) || undefined,
    subject: String(subject ?? ''),
    body: String(body ?? ''),
    // OSTree stores the timestamp big-endian; GVariant read it little-endian.
    timestamp: Number(byteswap64(ts as bigint)),
    rootContents: toHex(rootContents!),
    rootMetadata: toHex(rootMeta!),
  };
}

function byteswap64(v: bigint): bigint {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(v);
  return buf.readBigUInt64BE();
}

export function metadataString(info: CommitInfo, key: string): string | undefined {
  const v = info.metadata[key];
  return typeof v === 'string' ? v : undefined;
}

export function metadataStrings(info: CommitInfo, key: string): string[] {
  const v = info.metadata[key];
  return Array.isArray(v) ? v.map(String) : [];
}

/** Resolve a symlink target without throwing. */
export function readlinkOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}
