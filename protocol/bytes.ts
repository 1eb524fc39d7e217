/** Byte and text helpers on Uint8Array, for code that runs without Node (the firmware). */
import { decodeValue, encodeValue, hexBytes } from './fields.ts';

/** Any number of bytes as hex: the field codec's, so that hex is read and written in one place. */
// Pure: a bundle that uses neither function (the firmware) leaves it out.
const ANY_HEX = /* @__PURE__ */ hexBytes(0, Infinity);

/** Hex digits (either case, two a byte) to bytes; undefined when `hex` is not that. */
export function hexToBytes(hex: string): Uint8Array | undefined {
  return decodeValue(ANY_HEX, hex);
}

/** Lower-case hex, two digits a byte. */
export function bytesToHex(bytes: Uint8Array): string {
  return encodeValue(ANY_HEX, bytes);
}

/** ASCII text to bytes; characters above 0x7F become '?'. */
export function asciiToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i] = c < 0x80 ? c : 0x3f;
  }
  return out;
}

export function bytesToAscii(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}

/** Constant-time equality: the time taken depends on the length only, never on where the bytes differ. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
