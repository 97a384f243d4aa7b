// The tenant's RS256 signing keys.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

/** One signing key of the tenant: its id (`kid`), the key pair and the public JWK. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: JWK;
}

/** A fresh 2048-bit RSA signing key with a random `kid`. */
export function newSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(20).toString('base64url');
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  return { kid, privateKey, publicKey, jwk: { kty: 'RSA', use: 'sig', kid, n: jwk.n, e: jwk.e } };
}
