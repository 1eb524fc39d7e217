/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) — the check on protocol frames and flash records. */

/**
 * CRC-32 of `data[start, end)`: bytes, or a string's char codes each taken as one byte (frames
 * are ASCII only). Bit by bit, with no 256-entry table: it would take 1 KiB of a small chip's RAM
 * for checks over a frame or a flash record, at most a few hundred bytes.
 */
export function crc32(data: Uint8Array | string, start = 0, end = data.length): number {
  const text = typeof data === 'string';
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    crc ^= text ? data.charCodeAt(i) & 0xff : data[i]!;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** CRC-32 of a string's char codes, each taken as one byte. */
export function crc32Ascii(text: string): number {
  return crc32(text);
}

/** Eight upper-case hex digits. */
export function crcHex(crc: number): string {
  return (crc >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
