/** GnuPG, only to look at the signing keys a home directory holds (ostree itself signs). */
import { run } from './run.js';

/**
 * The fingerprints (primary key and subkeys, upper case hex) of the secret keys that KEYID (a key
 * id, fingerprint or user id) names in the GnuPG home directory; [] when it holds none.
 */
export async function secretKeyFingerprints(homedir: string | undefined, keyId: string): Promise<string[]> {
  const args = ['--batch', '--with-colons', ...(homedir ? ['--homedir', homedir] : []), '--list-secret-keys', '--', keyId];
  const r = await run('gpg', args, { okCodes: [1, 2], what: 'gpg --list-secret-keys' });
  if (r.exitCode !== 0 || !/^sec:/m.test(r.stdout)) return [];
  return [...r.stdout.matchAll(/^fpr:+([0-9A-Fa-f]{40,64}):/gm)].map((m) => m[1]!.toUpperCase());
}

/** Does the GnuPG home directory hold a secret key for KEYID? */
export async function hasSecretKey(homedir: string | undefined, keyId: string): Promise<boolean> {
  return (await secretKeyFingerprints(homedir, keyId)).length > 0;
}
