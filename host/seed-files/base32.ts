/** RFC 4648 base32 for otpauth URIs, through otplib's codec (the one the CLI's seed input uses). */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
type Codec = InstanceType<typeof import('otplib').ScureBase32Plugin>;
let codec: Codec | undefined;

function base32(): Codec {
  codec ??= new (require('otplib') as typeof import('otplib')).ScureBase32Plugin();
  return codec;
}

/** Unpadded upper-case base32, as the Key Uri Format writes a secret. */
export function encodeBase32(bytes: Uint8Array): string {
  return base32().encode(bytes).replace(/=+$/, '');
}

/** Base32 in either case, with or without padding and spaces; undefined when it is not base32. */
export function decodeBase32(text: string): Uint8Array | undefined {
  const cleaned = text.replace(/[\s-]/g, '').replace(/=+$/, '').toUpperCase();
  if (!/^[A-Z2-7]+$/.test(cleaned)) return undefined;
  try {
    return base32().decode(cleaned);
  } catch {
    return undefined;
  }
}
