/**
 * A blob sealed as the seed vault wrote them before purposes were part of the binding (version
 * 1): AES-256-GCM with the additional data `noegleviser:seed:v1:<name>`, the name as each caller
 * spelled it then (a bare serial, `card:<serial>`, `letter:<n>`, `oidc:secret:<name>`, …). Written
 * here apart from host/server/seed-vault.ts, so a test holds blobs as an older store holds them.
 */
import { createCipheriv, randomBytes } from 'node:crypto';

export function sealVersion1(masterKey: Uint8Array, name: string, secret: Uint8Array): Uint8Array {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, nonce);
  cipher.setAAD(Buffer.from(`noegleviser:seed:v1:${name}`, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
  return new Uint8Array(Buffer.concat([Buffer.of(1), nonce, cipher.getAuthTag(), ciphertext]));
}
