import { describe, expect, it } from 'vitest';
import { SeedFileError } from './errors.ts';
import { cipherByUri, decryptValue, encryptValue, macByUri, pbkdf2 } from './pskc-crypto.ts';

const hex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s/g, ''), 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('PSKC cryptography', () => {
  it('AES key wrap gives RFC 3394 section 4.1 (128-bit KEK, 128-bit key data) both ways', () => {
    const kek = hex('000102030405060708090A0B0C0D0E0F');
    const wrapped = encryptValue('kw-aes128', kek, hex('00112233445566778899AABBCCDDEEFF'));
    expect(toHex(wrapped)).toBe('1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5');
    expect(toHex(decryptValue('kw-aes128', kek, wrapped))).toBe('00112233445566778899aabbccddeeff');
  });

  it('AES key wrap with padding gives RFC 5649 section 6 (192-bit KEK, 20 octets) both ways', () => {
    const kek = hex('5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8');
    const wrapped = encryptValue('kw-aes192-pad', kek, hex('c37b7e6492584340 bed1220780894115 5068f738'));
    expect(toHex(wrapped)).toBe('138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a');
    expect(toHex(decryptValue('kw-aes192-pad', kek, wrapped))).toBe('c37b7e6492584340bed12207808941155068f738');
  });

  it('a wrapped key under the wrong KEK fails its integrity check: NV_SEED_FILE_WRONG_KEY', () => {
    const wrapped = hex('1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5');
    expect(() => decryptValue('kw-aes128', hex('000102030405060708090A0B0C0D0E0E'), wrapped)).toThrow(expect.objectContaining({ code: 'NV_SEED_FILE_WRONG_KEY' }));
  });

  it('AES-CBC puts a fresh IV before the ciphertext and reads it back; a key of the wrong size is NV_SEED_FILE_WRONG_KEY', () => {
    const key = hex('12345678901234567890123456789012');
    const a = encryptValue('aes128-cbc', key, hex('3132333435363738393031323334353637383930'));
    const b = encryptValue('aes128-cbc', key, hex('3132333435363738393031323334353637383930'));
    expect(a.length).toBe(16 + 32);
    expect(toHex(a.subarray(0, 16))).not.toBe(toHex(b.subarray(0, 16)));
    expect(toHex(decryptValue('aes128-cbc', key, a))).toBe('3132333435363738393031323334353637383930');
    expect(() => decryptValue('aes256-cbc', key, a)).toThrow(expect.objectContaining({ code: 'NV_SEED_FILE_WRONG_KEY' }));
  });

  it("PBKDF2 derives RFC 6030 figure 7's key from qwerty (1,000 rounds of HMAC-SHA1)", () => {
    const key = pbkdf2(new TextEncoder().encode('qwerty'), new Uint8Array(Buffer.from('Ej7/PEpyEpw=', 'base64')), 1000, 16, 'hmac-sha1');
    expect(toHex(key)).toBe('651e63cd57008476af1ff6422cd02e41');
  });

  it('an algorithm URI it does not know is NV_SEED_FILE_UNKNOWN_ALGORITHM', () => {
    for (const lookup of [() => cipherByUri('http://www.w3.org/2001/04/xmlenc#tripledes-cbc'), () => macByUri('http://www.w3.org/2001/04/xmldsig-more#hmac-md5')]) {
      expect(lookup).toThrow(SeedFileError);
      expect(lookup).toThrow(expect.objectContaining({ code: 'NV_SEED_FILE_UNKNOWN_ALGORITHM' }));
    }
  });
});
