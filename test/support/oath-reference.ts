/**
 * Reference OATH values (RFC 4226) computed with node:crypto's createHmac: an implementation
 * independent of the engine under test in protocol/oath, which must not be imported here.
 */
import { createHmac } from 'node:crypto';

export type ReferenceAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** The 8-byte big-endian moving factor of RFC 4226 §5.2, from its high and low 32-bit halves. */
export function counterBytes(hi: number, lo: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, hi);
  view.setUint32(4, lo);
  return bytes;
}

/** RFC 4226 §5.3 dynamic truncation over a full HMAC: the 31-bit value at the offset its last nibble names. */
export function truncate(mac: Uint8Array): number {
  const offset = mac[mac.length - 1]! & 0xf;
  return new DataView(mac.buffer, mac.byteOffset).getUint32(offset) & 0x7fffffff;
}

/** node:crypto's HMAC of the counter whose 32-bit halves are `hi` and `lo`. */
export function referenceMac(algorithm: ReferenceAlgorithm, secret: Uint8Array, hi: number, lo: number): Buffer {
  return createHmac(algorithm, secret).update(counterBytes(hi, lo)).digest();
}

/** The truncated value (before the modulo) for the counter whose 32-bit halves are `hi` and `lo`. */
export function referenceTruncated(algorithm: ReferenceAlgorithm, secret: Uint8Array, hi: number, lo: number): number {
  return truncate(referenceMac(algorithm, secret, hi, lo));
}

/** The RFC 4226 HOTP code for `counter` (any safe integer), `digits` long and zero padded. */
export function referenceHotp(secret: Uint8Array, counter: number, digits = 6, algorithm: ReferenceAlgorithm = 'sha1'): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const value = truncate(createHmac(algorithm, secret).update(message).digest());
  return String(value % 10 ** digits).padStart(digits, '0');
}
