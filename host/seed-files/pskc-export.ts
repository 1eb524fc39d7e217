/**
 * PSKC (RFC 6030) export: encrypted under a password (PBKDF2, figure 7's layout) or a pre-shared
 * key (figure 6's), each secret AES-CBC with a fresh IV and an HMAC over IV and ciphertext, the
 * MAC key itself encrypted (MACKey); or plain values. The defaults (AES-128-CBC, HMAC-SHA1,
 * PBKDF2-HMAC-SHA1) are what every PSKC reader takes, privacyIDEA's and LinOTP's included; the
 * AES-256/SHA-256 profile is there for readers that take it.
 */
import crypto from 'node:crypto';
import { PSKC_NAMESPACE } from './pskc.ts';
import { CIPHERS, MACS, PBKDF2_URI, encryptValue, hmac, pbkdf2, type MacName } from './pskc-crypto.ts';
import { SeedFileError } from './errors.ts';
import { DEFAULT_ISSUER } from './records.ts';
import type { ExportToken } from './types.ts';
import { escapeXml } from './xml.ts';

export type PskcProtection =
  | { readonly kind: 'plain' }
  | { readonly kind: 'password'; readonly password: Uint8Array; readonly iterations?: number; readonly strong?: boolean }
  | { readonly kind: 'key'; readonly key: Uint8Array; readonly keyName?: string };

/** PBKDF2 rounds for an exported file unless told otherwise. */
export const DEFAULT_PBKDF2_ITERATIONS = 200_000;

const HASH_SUITE: Readonly<Record<ExportToken['algorithm'], string>> = { sha1: 'HMAC-SHA1', sha256: 'HMAC-SHA256', sha512: 'HMAC-SHA512' };

interface Sealer {
  readonly header: string;
  seal(plain: Uint8Array): string;
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function encryptedXml(cipherUri: string, value: Uint8Array, indent: string): string {
  return [
    `${indent}<xenc:EncryptionMethod Algorithm="${cipherUri}"/>`,
    `${indent}<xenc:CipherData>`,
    `${indent}  <xenc:CipherValue>${b64(value)}</xenc:CipherValue>`,
    `${indent}</xenc:CipherData>`,
  ].join('\n');
}

function sealer(protection: Exclude<PskcProtection, { kind: 'plain' }>): Sealer {
  let key: Uint8Array;
  let encryptionKey: string;
  let cipher: 'aes128-cbc' | 'aes192-cbc' | 'aes256-cbc';
  let macName: MacName;
  if (protection.kind === 'password') {
    if (protection.password.length === 0) throw new SeedFileError('NV_EXPORT_PROTECTION', 'the export password is empty');
    const strong = protection.strong === true;
    cipher = strong ? 'aes256-cbc' : 'aes128-cbc';
    macName = strong ? 'hmac-sha256' : 'hmac-sha1';
    const iterations = protection.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
    const salt = crypto.randomBytes(16);
    key = pbkdf2(protection.password, salt, iterations, CIPHERS[cipher].keyBytes, macName);
    const prf = strong ? `<PRF Algorithm="${MACS[macName].uri}"/>` : '<PRF/>';
    encryptionKey = [
      '  <pskc:EncryptionKey>',
      '    <xenc11:DerivedKey>',
      `      <xenc11:KeyDerivationMethod Algorithm="${PBKDF2_URI}">`,
      '        <pkcs5:PBKDF2-params>',
      `          <Salt><Specified>${b64(salt)}</Specified></Salt>`,
      `          <IterationCount>${iterations}</IterationCount>`,
      `          <KeyLength>${CIPHERS[cipher].keyBytes}</KeyLength>`,
      `          ${prf}`,
      '        </pkcs5:PBKDF2-params>',
      '      </xenc11:KeyDerivationMethod>',
      '      <xenc11:MasterKeyName>noegleviser export password</xenc11:MasterKeyName>',
      '    </xenc11:DerivedKey>',
      '  </pskc:EncryptionKey>',
    ].join('\n');
  } else {
    const size = protection.key.length;
    if (size !== 16 && size !== 24 && size !== 32) throw new SeedFileError('NV_EXPORT_PROTECTION', `a pre-shared key is 16, 24 or 32 bytes (AES-128/192/256); this one is ${size}`);
    key = protection.key;
    cipher = size === 16 ? 'aes128-cbc' : size === 24 ? 'aes192-cbc' : 'aes256-cbc';
    macName = size === 16 ? 'hmac-sha1' : 'hmac-sha256';
    encryptionKey = ['  <pskc:EncryptionKey>', `    <ds:KeyName>${escapeXml(protection.keyName ?? 'Pre-shared-key')}</ds:KeyName>`, '  </pskc:EncryptionKey>'].join('\n');
  }
  const cipherUri = CIPHERS[cipher].uri;
  const macKey = crypto.randomBytes(32);
  const header = [
    encryptionKey,
    `  <pskc:MACMethod Algorithm="${MACS[macName].uri}">`,
    '    <pskc:MACKey>',
    encryptedXml(cipherUri, encryptValue(cipher, key, macKey), '      '),
    '    </pskc:MACKey>',
    '  </pskc:MACMethod>',
  ].join('\n');
  return {
    header,
    seal(plain) {
      const value = encryptValue(cipher, key, plain);
      const mac = hmac(macName, macKey, value);
      return [
        '          <pskc:EncryptedValue>',
        encryptedXml(cipherUri, value, '            '),
        '          </pskc:EncryptedValue>',
        `          <pskc:ValueMAC>${b64(mac)}</pskc:ValueMAC>`,
      ].join('\n');
    },
  };
}

export function exportPskc(tokens: readonly ExportToken[], protection: PskcProtection): string {
  const seal = protection.kind === 'plain' ? undefined : sealer(protection);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<pskc:KeyContainer Version="1.0" xmlns:pskc="${PSKC_NAMESPACE}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" xmlns:pkcs5="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#">`,
  ];
  if (seal) lines.push(seal.header);
  for (const token of tokens) {
    const secret = seal ? seal.seal(token.seed) : `          <pskc:PlainValue>${b64(token.seed)}</pskc:PlainValue>`;
    const moving =
      token.kind === 'hotp'
        ? `        <pskc:Counter><pskc:PlainValue>${token.counter}</pskc:PlainValue></pskc:Counter>`
        : [`        <pskc:Time><pskc:PlainValue>0</pskc:PlainValue></pskc:Time>`, `        <pskc:TimeInterval><pskc:PlainValue>${token.period}</pskc:PlainValue></pskc:TimeInterval>`].join('\n');
    lines.push(
      '  <pskc:KeyPackage>',
      '    <pskc:DeviceInfo>',
      `      <pskc:Manufacturer>${escapeXml(token.issuer ?? DEFAULT_ISSUER)}</pskc:Manufacturer>`,
      `      <pskc:SerialNo>${escapeXml(token.serial)}</pskc:SerialNo>`,
      '    </pskc:DeviceInfo>',
      `    <pskc:Key Id="${escapeXml(token.serial)}" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:${token.kind}">`,
      `      <pskc:Issuer>${escapeXml(token.issuer ?? DEFAULT_ISSUER)}</pskc:Issuer>`,
      '      <pskc:AlgorithmParameters>',
      `        <pskc:Suite>${HASH_SUITE[token.algorithm]}</pskc:Suite>`,
      `        <pskc:ResponseFormat Length="${token.digits}" Encoding="DECIMAL"/>`,
      '      </pskc:AlgorithmParameters>',
      '      <pskc:Data>',
      '        <pskc:Secret>',
      secret,
      '        </pskc:Secret>',
      moving,
      '      </pskc:Data>',
      ...(token.user ? [`      <pskc:UserId>${escapeXml(token.user)}</pskc:UserId>`] : []),
      ...(token.validUntil !== null ? ['      <pskc:Policy>', `        <pskc:ExpiryDate>${new Date(token.validUntil).toISOString().replace(/\.\d{3}Z$/, 'Z')}</pskc:ExpiryDate>`, '      </pskc:Policy>'] : []),
      '    </pskc:Key>',
      '  </pskc:KeyPackage>',
    );
  }
  lines.push('</pskc:KeyContainer>', '');
  return lines.join('\n');
}
