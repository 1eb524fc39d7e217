/**
 * RFC 6030's example files (fixtures/, transcribed from the RFC), each with the outcome issue 15
 * states, and the malformed files that must refuse the whole file with their own code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createOathKey, hotpCode } from '../../protocol/oath/index.ts';
import { SeedFileError, importSeedFile, type SeedFileImport } from './index.ts';
import { CIPHERS, encryptValue, pbkdf2 } from './pskc-crypto.ts';

const figure = (n: number) => fs.readFileSync(path.join(import.meta.dirname, 'fixtures', `rfc6030-figure${n}.xml`), 'utf8');
const bytes = (text: string) => new TextEncoder().encode(text);
const FIGURE_6_KEY = new Uint8Array(Buffer.from('12345678901234567890123456789012', 'hex'));
const RFC_SECRET = '3132333435363738393031323334353637383930'; // "12345678901234567890", RFC 4226 appendix D's
/** RFC 4226 appendix D: the 6-digit HOTP values for counters 0–9 of that secret. */
const RFC4226_CODES = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
const NOW = Date.parse('2026-06-01T00:00:00Z');

function load(text: string, options: Parameters<typeof importSeedFile>[1] = {}): SeedFileImport {
  return importSeedFile(bytes(text), { format: 'pskc', now: NOW, ...options });
}

function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof SeedFileError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a SeedFileError');
}

const seedHex = (result: SeedFileImport, i = 0) => Buffer.from(result.tokens[i]!.seed).toString('hex');

describe('RFC 6030 figures', () => {
  it('figure 2 (a 4-byte secret) imports only with allowShortSeed', () => {
    expect(refusal(() => load(figure(2)))).toMatchObject({ code: 'NV_SHORT_SEED' });
    const result = load(figure(2), { allowShortSeed: true });
    expect(result.tokens.map((t) => [t.serial, t.kind, t.digits, t.counter, t.seed.length])).toEqual([['12345678', 'hotp', 6, 0, 4]]);
    expect(seedHex(result)).toBe('31323334');
  });

  it("figure 3 imports: serial 987654321 (the device's SerialNo, not the key's Id), a 20-byte secret, counter 0, 8 digits", () => {
    const result = load(figure(3));
    expect(result.refused).toEqual([]);
    expect(result.tokens).toHaveLength(1);
    const token = result.tokens[0]!;
    expect({ serial: token.serial, kind: token.kind, algorithm: token.algorithm, digits: token.digits, counter: token.counter, bytes: token.seed.length, user: token.user }).toEqual({
      serial: '987654321',
      kind: 'hotp',
      algorithm: 'sha1',
      digits: 8,
      counter: 0,
      bytes: 20,
      user: 'UID=jsmith,DC=example-bank,DC=net',
    });
    expect(seedHex(result)).toBe(RFC_SECRET);
    // The imported secret makes RFC 4226's codes.
    const key = createOathKey(token.seed, 'sha1');
    expect(RFC4226_CODES.map((_, counter) => hotpCode(key, counter, 6))).toEqual(RFC4226_CODES);
  });

  it('figure 4 (a key derived from a master key, no secret in the file) is refused with NV_KEY_DERIVED', () => {
    const result = load(figure(4));
    expect(result.tokens).toEqual([]);
    expect(result.refused).toEqual([expect.objectContaining({ serial: '987654321', code: 'NV_KEY_DERIVED' })]);
  });

  it('figure 5 imports the secret, the dry run says its PIN policy is not used, and the PIN key is not a token', () => {
    const result = load(figure(5));
    expect(result.tokens.map((t) => t.serial)).toEqual(['987654321']);
    expect(seedHex(result)).toBe(RFC_SECRET);
    expect(result.tokens[0]!.notes.join(' ')).toMatch(/PIN policy is not used/);
    expect(result.refused).toEqual([]);
  });

  it("figure 6 decrypts under the pre-shared key (AES-128-CBC, its MAC key encrypted too) to the RFC's secret", () => {
    const result = load(figure(6), { key: FIGURE_6_KEY });
    expect(result.tokens.map((t) => [t.serial, t.digits, t.counter])).toEqual([['987654321', 8, 0]]);
    expect(seedHex(result)).toBe(RFC_SECRET);
    expect(refusal(() => load(figure(6)))).toMatchObject({ code: 'NV_SEED_FILE_NEEDS_KEY' });
  });

  it("figure 7 decrypts with the password qwerty (PBKDF2, 1,000 rounds, key 651e63cd57008476af1ff6422cd02e41) to the RFC's secret", () => {
    expect(Buffer.from(pbkdf2(bytes('qwerty'), new Uint8Array(Buffer.from('Ej7/PEpyEpw=', 'base64')), 1000, 16, 'hmac-sha1')).toString('hex')).toBe('651e63cd57008476af1ff6422cd02e41');
    const result = load(figure(7), { password: bytes('qwerty') });
    expect(result.tokens.map((t) => [t.serial, t.digits])).toEqual([['987654321', 8]]);
    expect(seedHex(result)).toBe(RFC_SECRET);
    expect(result.notes.join(' ')).toMatch(/PBKDF2 with HMAC-SHA1, 1000 rounds, a 128-bit key/);
    expect(refusal(() => load(figure(7)))).toMatchObject({ code: 'NV_SEED_FILE_NEEDS_PASSWORD' });
  });

  it('figure 10: today every key is past its ExpiryDate and refused; within May 2006 keys 1 and 2 import and 3 and 4 are expired; within April 2006 key 4 imports', () => {
    const today = load(figure(10));
    expect(today.tokens).toEqual([]);
    expect(today.refused.map((r) => [r.source, r.serial, r.code])).toEqual([
      ['KeyPackage 1 (Key 1)', '654321', 'NV_KEY_EXPIRED'],
      ['KeyPackage 2 (Key 2)', '123456', 'NV_KEY_EXPIRED'],
      ['KeyPackage 3 (Key 3)', '9999999', 'NV_KEY_EXPIRED'],
      ['KeyPackage 4 (Key 4)', '9999999', 'NV_KEY_EXPIRED'],
    ]);

    const may = load(figure(10), { now: Date.parse('2006-05-15T12:00:00Z') });
    expect(may.tokens.map((t) => [t.serial, t.validUntil])).toEqual([
      ['654321', Date.parse('2006-05-31T00:00:00Z')],
      ['123456', Date.parse('2006-05-31T00:00:00Z')],
    ]);
    expect(may.refused.map((r) => [r.serial, r.code])).toEqual([
      ['9999999', 'NV_KEY_EXPIRED'],
      ['9999999', 'NV_KEY_EXPIRED'],
    ]);

    const april = load(figure(10), { now: Date.parse('2006-04-15T12:00:00Z') });
    expect(april.tokens.map((t) => t.serial)).toEqual(['9999999']);
    expect(april.tokens[0]!.source).toBe('KeyPackage 4 (Key 4)');
    expect(april.refused.map((r) => [r.source, r.code])).toEqual([
      ['KeyPackage 1 (Key 1)', 'NV_KEY_NOT_YET_VALID'],
      ['KeyPackage 2 (Key 2)', 'NV_KEY_NOT_YET_VALID'],
      ['KeyPackage 3 (Key 3)', 'NV_KEY_EXPIRED'],
    ]);
  });
});

describe('malformed PSKC files refuse the whole file, each with its code', () => {
  const two = figure(3).replace('</KeyContainer>', figure(3).slice(figure(3).indexOf('<KeyPackage>'), figure(3).indexOf('</KeyContainer>')).replace('987654321', '987654322') + '</KeyContainer>');

  it('a file of two good keys imports both (the baseline the next cases break)', () => {
    expect(load(two).tokens.map((t) => t.serial)).toEqual(['987654321', '987654322']);
  });

  it('not XML: NV_SEED_FILE_NOT_XML', () => {
    expect(refusal(() => load('serial,seed\n1,3132\n'))).toMatchObject({ code: 'NV_SEED_FILE_NOT_XML' });
    expect(refusal(() => load('<KeyContainer><KeyPackage></Key></KeyContainer>'))).toMatchObject({ code: 'NV_SEED_FILE_NOT_XML' });
    expect(refusal(() => importSeedFile(new Uint8Array([0x3c, 0xff, 0xfe, 0x00]), { fileName: 'vendor.pskc' }))).toMatchObject({ code: 'NV_SEED_FILE_NOT_XML' });
  });

  it('a DTD with entity expansion (a "billion laughs"): NV_SEED_FILE_DTD, refused before parsing', () => {
    const laughs = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE KeyContainer [',
      ' <!ENTITY lol "lol">',
      ...Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`),
      ']>',
      two.replace('<?xml version="1.0" encoding="UTF-8"?>', '').replace('<Issuer>Issuer</Issuer>', '<Issuer>&lol9;</Issuer>'),
    ].join('\n');
    expect(refusal(() => load(laughs))).toMatchObject({ code: 'NV_SEED_FILE_DTD' });
    // An external entity, too.
    expect(refusal(() => load(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${two.slice(two.indexOf('<KeyContainer'))}`))).toMatchObject({ code: 'NV_SEED_FILE_DTD' });
  });

  it('a wrong MAC: NV_SEED_FILE_BAD_MAC, and not one key imports', () => {
    const altered = figure(6).replace('Su+NvtQfmvfJzF6bmQiJqoLRExc=', 'Su+NvtQfmvfJzF6bmQiJqoLRFxc=');
    expect(refusal(() => load(altered, { key: FIGURE_6_KEY }))).toMatchObject({ code: 'NV_SEED_FILE_BAD_MAC' });
    // A ciphertext changed under its MAC is caught the same way, before it is decrypted.
    const flipped = figure(6).replace('AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv', 'AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGw');
    expect(refusal(() => load(flipped, { key: FIGURE_6_KEY }))).toMatchObject({ code: 'NV_SEED_FILE_BAD_MAC' });
  });

  it('an encrypted value whose ValueMAC was taken out is refused (NV_SEED_FILE_BAD_MAC)', () => {
    const stripped = figure(6).replace(/<ValueMAC>[\s\S]*?<\/ValueMAC>/, '');
    expect(refusal(() => load(stripped, { key: FIGURE_6_KEY }))).toMatchObject({ code: 'NV_SEED_FILE_BAD_MAC' });
  });

  it('an AES-CBC value without a MAC to check it by is refused (NV_SEED_FILE_BAD_MAC)', () => {
    const start = figure(6).indexOf('<MACMethod');
    const noMac = figure(6).slice(0, start) + figure(6).slice(figure(6).indexOf('</MACMethod>') + '</MACMethod>'.length);
    expect(refusal(() => load(noMac, { key: FIGURE_6_KEY }))).toMatchObject({ code: 'NV_SEED_FILE_BAD_MAC' });
  });

  it('a wrong password or key: NV_SEED_FILE_WRONG_KEY', () => {
    expect(refusal(() => load(figure(7), { password: bytes('azerty') }))).toMatchObject({ code: 'NV_SEED_FILE_WRONG_KEY' });
    expect(refusal(() => load(figure(6), { key: new Uint8Array(16).fill(7) }))).toMatchObject({ code: 'NV_SEED_FILE_WRONG_KEY' });
    expect(refusal(() => load(figure(6), { key: new Uint8Array(32).fill(7) }))).toMatchObject({ code: 'NV_SEED_FILE_WRONG_KEY' });
  });

  it('a truncated file: NV_SEED_FILE_TRUNCATED', () => {
    expect(refusal(() => load(two.slice(0, Math.floor(two.length * 0.6))))).toMatchObject({ code: 'NV_SEED_FILE_TRUNCATED' });
    expect(refusal(() => load(two.slice(0, two.lastIndexOf('</KeyContainer>') + 5)))).toMatchObject({ code: 'NV_SEED_FILE_TRUNCATED' });
  });

  it('an unknown algorithm (key, cipher, MAC, Suite): NV_SEED_FILE_UNKNOWN_ALGORITHM', () => {
    const secondKeyOcra = two.replace(/(<KeyPackage>[\s\S]*?<KeyPackage>[\s\S]*?)pskc:hotp/, '$1pskc:ocra');
    expect(refusal(() => load(secondKeyOcra))).toMatchObject({ code: 'NV_SEED_FILE_UNKNOWN_ALGORITHM' });
    expect(refusal(() => load(figure(6).replaceAll('xmlenc#aes128-cbc', 'xmlenc#tripledes-cbc'), { key: FIGURE_6_KEY }))).toMatchObject({ code: 'NV_SEED_FILE_UNKNOWN_ALGORITHM' });
    expect(refusal(() => load(figure(6).replace('xmldsig#hmac-sha1', 'xmldsig#hmac-md5'), { key: FIGURE_6_KEY }))).toMatchObject({ code: 'NV_SEED_FILE_UNKNOWN_ALGORITHM' });
    expect(refusal(() => load(two.replace('<ResponseFormat', '<Suite>HMAC-MD5</Suite><ResponseFormat')))).toMatchObject({ code: 'NV_SEED_FILE_UNKNOWN_ALGORITHM' });
  });

  it('two keys with one serial: NV_SEED_FILE_DUPLICATE_SERIAL', () => {
    expect(refusal(() => load(two.replace('987654322', '987654321')))).toMatchObject({ code: 'NV_SEED_FILE_DUPLICATE_SERIAL' });
  });

  it('XML that is not PSKC 1.0: NV_SEED_FILE_NOT_PSKC', () => {
    expect(refusal(() => load('<?xml version="1.0"?><html><body/></html>'))).toMatchObject({ code: 'NV_SEED_FILE_NOT_PSKC' });
    expect(refusal(() => load(two.replace('Version="1.0"', 'Version="2.0"')))).toMatchObject({ code: 'NV_SEED_FILE_NOT_PSKC' });
  });

  it('a file over the size limit is refused before it is read: NV_SEED_FILE_TOO_LARGE', () => {
    expect(refusal(() => importSeedFile(new Uint8Array(32 * 1024 * 1024 + 1), { format: 'pskc' }))).toMatchObject({ code: 'NV_SEED_FILE_TOO_LARGE' });
  });
});

describe('PSKC keys the rules turn away one by one', () => {
  it('digits outside 6–8, a non-decimal response and a PIN nobody points at are refused; the file\'s other keys import', () => {
    const pkg = (serial: string, format: string, algorithm = 'hotp') =>
      `<KeyPackage><DeviceInfo><SerialNo>${serial}</SerialNo></DeviceInfo><Key Id="k${serial}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:${algorithm}"><AlgorithmParameters>${format}</AlgorithmParameters><Data><Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret></Data></Key></KeyPackage>`;
    const file = `<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">${[
      pkg('A1', '<ResponseFormat Length="6" Encoding="DECIMAL"/>'),
      pkg('A2', '<ResponseFormat Length="4" Encoding="DECIMAL"/>'),
      pkg('A3', '<ResponseFormat Length="8" Encoding="HEXADECIMAL"/>'),
      pkg('A4', '<ResponseFormat Length="4" Encoding="DECIMAL"/>', 'pin'),
      pkg('A5', '<Suite>HMAC-SHA256</Suite><ResponseFormat Length="7" Encoding="DECIMAL"/>', 'totp'),
    ].join('')}</KeyContainer>`;
    const result = load(file);
    expect(result.tokens.map((t) => [t.serial, t.kind, t.algorithm, t.digits, t.period])).toEqual([
      ['A1', 'hotp', 'sha1', 6, 0],
      ['A5', 'totp', 'sha256', 7, 30],
    ]);
    expect(result.refused.map((r) => [r.serial, r.code])).toEqual([
      ['A2', 'NV_KEY_UNSUPPORTED'],
      ['A3', 'NV_KEY_UNSUPPORTED'],
      ['A4', 'NV_KEY_NOT_OTP'],
    ]);
  });
});

describe('AES key wrap, as vendors use it instead of CBC and a MAC', () => {
  const kek = new Uint8Array(32).fill(0x42);
  const secret = new Uint8Array(Buffer.from(RFC_SECRET, 'hex'));
  const file = (cipher: 'kw-aes256' | 'kw-aes256-pad', value: Uint8Array) =>
    `<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><EncryptionKey><ds:KeyName>transport</ds:KeyName></EncryptionKey><KeyPackage><DeviceInfo><SerialNo>KW1</SerialNo></DeviceInfo><Key Id="1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp"><Data><Secret><EncryptedValue><xenc:EncryptionMethod Algorithm="${CIPHERS[cipher].uri}"/><xenc:CipherData><xenc:CipherValue>${Buffer.from(value).toString('base64')}</xenc:CipherValue></xenc:CipherData></EncryptedValue></Secret></Data></Key></KeyPackage></KeyContainer>`;

  it('a secret wrapped with RFC 5649 (padding: 20 octets) imports; no MAC is needed, the wrap checks itself', () => {
    const result = load(file('kw-aes256-pad', encryptValue('kw-aes256-pad', kek, secret)), { key: kek });
    expect(result.tokens.map((t) => t.serial)).toEqual(['KW1']);
    expect(seedHex(result)).toBe(RFC_SECRET);
  });

  it('a secret wrapped with RFC 3394 (whole 8-octet blocks) imports; under another key it is NV_SEED_FILE_WRONG_KEY', () => {
    const padded = new Uint8Array(24);
    padded.set(secret);
    const text = file('kw-aes256', encryptValue('kw-aes256', kek, padded));
    expect(load(text, { key: kek }).tokens[0]!.seed.length).toBe(24);
    expect(refusal(() => load(text, { key: new Uint8Array(32).fill(0x43) }))).toMatchObject({ code: 'NV_SEED_FILE_WRONG_KEY' });
  });
});
