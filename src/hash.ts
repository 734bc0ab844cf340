/** sha256 digests in hex: the one helper for content hashes (package lists, input hashes, .deb files). */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): string {
  return sha256Hex(readFileSync(path));
}
