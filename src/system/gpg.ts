/** GnuPG, only to check before a compose that a signing key is there (ostree itself signs). */
import { run } from './run.js';

/** Does the GnuPG home directory hold a secret key for KEYID (a key id, fingerprint or user id)? */
export async function hasSecretKey(homedir: string | undefined, keyId: string): Promise<boolean> {
  const args = ['--batch', '--with-colons', ...(homedir ? ['--homedir', homedir] : []), '--list-secret-keys', '--', keyId];
  const r = await run('gpg', args, { okCodes: [1, 2], what: 'gpg --list-secret-keys' });
  return r.exitCode === 0 && /^sec:/m.test(r.stdout);
}
