/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) — the check on protocol frames and flash records. */

/**
 * One byte into the CRC, bit by bit. No 256-entry table: it would take 1 KiB of a small chip's
 * RAM for checks over a frame or a flash record, at most a few hundred bytes.
 */
function update(crc: number, byte: number): number {
  crc ^= byte;
  for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  return crc;
}

/** CRC-32 of `bytes[start, end)`. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = update(crc, bytes[i]!);
  return (crc ^ 0xffffffff) >>> 0;
}

/** CRC-32 of a string's char codes, each taken as one byte (frames are ASCII only). */
export function crc32Ascii(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = update(crc, text.charCodeAt(i) & 0xff);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Eight upper-case hex digits. */
export function crcHex(crc: number): string {
  return (crc >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
