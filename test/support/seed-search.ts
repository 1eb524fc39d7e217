/**
 * Looking for a secret where it must not be: every spelling a seed is commonly written in (hex
 * either case, base32 as in otpauth:// URIs, base64), searched for in text or in raw bytes.
 */

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32, upper case, without padding (the otpauth:// `secret=` form). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** The text spellings of `seed` searched for: hex (lower, upper), base32 (upper, lower), base64, base64url. */
export function seedSpellings(seed: Uint8Array): string[] {
  const buffer = Buffer.from(seed);
  const hex = buffer.toString('hex');
  const b32 = base32(seed);
  return [hex, hex.toUpperCase(), b32, b32.toLowerCase(), buffer.toString('base64').replace(/=+$/, ''), buffer.toString('base64url')];
}

/**
 * Where `seed` shows in `haystack`: the first spelling found (or `raw bytes` for the seed's own
 * bytes in a Buffer), or undefined when it is nowhere.
 */
export function findSeed(haystack: string | Uint8Array, seed: Uint8Array): string | undefined {
  if (typeof haystack !== 'string') {
    const bytes = Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength);
    if (bytes.indexOf(Buffer.from(seed)) >= 0) return 'raw bytes';
    for (const spelling of seedSpellings(seed)) if (bytes.indexOf(Buffer.from(spelling, 'latin1')) >= 0) return spelling;
    return undefined;
  }
  return seedSpellings(seed).find((spelling) => haystack.includes(spelling));
}
