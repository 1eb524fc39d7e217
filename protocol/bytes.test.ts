/** hexToBytes and bytesToHex, which are the hex field codec without bounds. */
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from './bytes.ts';

describe('hex', () => {
  it('reads either case, two digits a byte, any length, and writes lower case', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const hex = Buffer.from(all).toString('hex');
    expect(bytesToHex(all)).toBe(hex);
    expect(hexToBytes(hex)).toEqual(all);
    expect(hexToBytes(hex.toUpperCase())).toEqual(all);
    expect(hexToBytes('')).toEqual(new Uint8Array(0));
    expect(bytesToHex(new Uint8Array(0))).toBe('');
    expect(hexToBytes('ab'.repeat(5000))?.length).toBe(5000);
  });

  it('refuses odd lengths and anything but hex digits', () => {
    for (const text of ['a', 'abc', 'zz', '0x12', ' 12', '12 ', '-1', 'éé', '1g']) expect(hexToBytes(text), text).toBeUndefined();
  });
});
