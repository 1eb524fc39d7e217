/**
 * PSKC (RFC 6030) import: plain values, values encrypted under a pre-shared key or a PBKDF2
 * password (section 6), with their MACs checked before anything is decrypted. A token's serial
 * is its device's SerialNo, else its key's Id. Whatever cannot be read refuses the whole file;
 * a key the rules refuse (expired, derived, not an OTP key) is listed and the others import.
 */
import { OATH_ALGORITHMS, type OathAlgorithm } from '../../protocol/oath/parameters.ts';
import { SeedFileError } from './errors.ts';
import { CIPHERS, MACS, MAX_PBKDF2_ITERATIONS, PBKDF2_URI, cipherByUri, decryptValue, macByUri, macMatches, pbkdf2, type CipherName, type MacName } from './pskc-crypto.ts';
import { digitsSupported, finishImport, periodSupported, quotedName, validSerial, type ImportRules } from './records.ts';
import type { ImportedToken, KeyRefusal, KeyRefusalCode, OathKind, SeedFileImport } from './types.ts';
import { child, childrenNamed, path, readXml, type XmlElement } from './xml.ts';

export const PSKC_NAMESPACE = 'urn:ietf:params:xml:ns:keyprov:pskc';

/** Key algorithms by URI: RFC 6030's (section 10.4.2 registers hotp and pin; totp as writers use it) and the drafts' `#` spellings. */
const KEY_ALGORITHMS: Readonly<Record<string, OathKind | 'pin'>> = {
  'urn:ietf:params:xml:ns:keyprov:pskc:hotp': 'hotp',
  'urn:ietf:params:xml:ns:keyprov:pskc#hotp': 'hotp',
  'urn:ietf:params:xml:ns:keyprov:pskc:totp': 'totp',
  'urn:ietf:params:xml:ns:keyprov:pskc#totp': 'totp',
  'urn:ietf:params:xml:ns:keyprov:pskc:pin': 'pin',
  'urn:ietf:params:xml:ns:keyprov:pskc#pin': 'pin',
};

export interface PskcOpenOptions extends ImportRules {
  /** For a file whose EncryptionKey is a PBKDF2 DerivedKey (figure 7). UTF-8 bytes. */
  readonly password?: Uint8Array;
  /** For a file encrypted under a pre-shared key (figure 6: EncryptionKey names it with ds:KeyName). */
  readonly key?: Uint8Array;
  /** Unix ms the expiry and start dates are judged at. */
  readonly now: number;
}

interface Protection {
  /** The key that opens the file's EncryptedValues (and its MACKey). */
  readonly key: Uint8Array | undefined;
  /** Why there is none, when there is none: the error an encrypted value gets. */
  readonly missing: SeedFileError | undefined;
  readonly mac: { readonly algorithm: MacName; readonly key: Uint8Array } | undefined;
  readonly notes: string[];
}

export function importPskc(text: string, options: PskcOpenOptions): SeedFileImport {
  const root = readXml(text);
  if (root.name !== 'KeyContainer' || !text.includes(PSKC_NAMESPACE)) {
    throw new SeedFileError('NV_SEED_FILE_NOT_PSKC', `the XML is not a PSKC KeyContainer (its root is ${quotedName(root.name)})`);
  }
  if (root.attributes.Version !== '1.0') {
    throw new SeedFileError('NV_SEED_FILE_NOT_PSKC', `PSKC version ${quotedName('v' + (root.attributes.Version ?? ''))}; this server reads version 1.0 (RFC 6030)`);
  }
  const protection = openProtection(root, options);
  const packages = childrenNamed(root, 'KeyPackage');
  if (packages.length === 0) throw new SeedFileError('NV_SEED_FILE_EMPTY', 'the PSKC file holds no KeyPackage');

  const keys = packages.flatMap((pkg, index) => childrenNamed(pkg, 'Key').map((key) => ({ pkg, key, source: `KeyPackage ${index + 1} (Key ${keyIdOf(key)})` })));
  const pinKeyIds = new Set(keys.map(({ key }) => path(key, 'Policy', 'PINPolicy')?.attributes.PINKeyId).filter((id): id is string => id !== undefined));

  const tokens: ImportedToken[] = [];
  const refused: KeyRefusal[] = [];
  for (const { pkg, key, source } of keys) {
    const outcome = readKey(pkg, key, source, protection, options.now, pinKeyIds);
    if (outcome === undefined) continue;
    if ('code' in outcome) refused.push(outcome);
    else tokens.push(outcome);
  }
  return finishImport('pskc', tokens, refused, protection.notes, options);
}

/** A key's Id as the dry run names it: only an Id that could be a serial is quoted. */
function keyIdOf(key: XmlElement): string {
  const id = key.attributes.Id;
  if (id === undefined) return 'without Id';
  return validSerial(id) ? id : 'with an Id that cannot be a serial';
}

function malformed(message: string): SeedFileError {
  return new SeedFileError('NV_SEED_FILE_MALFORMED', message);
}

function base64(element: XmlElement | undefined, what: string): Uint8Array {
  const text = (element?.text ?? '').replace(/\s+/g, '');
  if (text === '' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw malformed(`${what} is not base64`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function integer(text: string | undefined, what: string): number {
  const value = (text ?? '').trim();
  if (!/^\d{1,15}$/.test(value)) throw malformed(`${what} is not a whole number`);
  return Number(value);
}

/** Works out the key the file is encrypted under (section 6) and its MAC key, if any. */
function openProtection(root: XmlElement, options: PskcOpenOptions): Protection {
  const notes: string[] = [];
  const encryptionKey = child(root, 'EncryptionKey');
  let key: Uint8Array | undefined;
  let missing: SeedFileError | undefined;
  if (encryptionKey) {
    const derived = child(encryptionKey, 'DerivedKey');
    if (derived) {
      const method = child(derived, 'KeyDerivationMethod');
      if (method?.attributes.Algorithm !== PBKDF2_URI) throw new SeedFileError('NV_SEED_FILE_UNKNOWN_ALGORITHM', `unknown key derivation ${quotedName(method?.attributes.Algorithm ?? '')}`);
      const params = child(method, 'PBKDF2-params');
      const salt = base64(path(params, 'Salt', 'Specified'), 'the PBKDF2 salt');
      const iterations = integer(child(params, 'IterationCount')?.text, 'the PBKDF2 IterationCount');
      if (iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) throw new SeedFileError('NV_SEED_FILE_UNSUPPORTED', `PBKDF2 with ${iterations} rounds; this server takes 1 to ${MAX_PBKDF2_ITERATIONS}`);
      const keyLengthText = child(params, 'KeyLength')?.text;
      const keyLength = keyLengthText ? integer(keyLengthText, 'the PBKDF2 KeyLength') : firstCipherKeyBytes(root);
      if (![16, 24, 32].includes(keyLength)) throw new SeedFileError('NV_SEED_FILE_UNSUPPORTED', `a PBKDF2 key of ${keyLength} bytes; AES takes 16, 24 or 32`);
      const prfUri = child(params, 'PRF')?.attributes.Algorithm;
      const prf: MacName = prfUri ? macByUri(prfUri) : 'hmac-sha1';
      if (options.password) key = pbkdf2(options.password, salt, iterations, keyLength, prf);
      else missing = new SeedFileError('NV_SEED_FILE_NEEDS_PASSWORD', 'the file is encrypted under a password (PBKDF2): give it with --password-file');
      notes.push(`encrypted under a password: PBKDF2 with ${MACS[prf].label}, ${iterations} rounds, a ${keyLength * 8}-bit key`);
    } else if (child(encryptionKey, 'KeyName')) {
      if (options.key) key = options.key;
      else missing = new SeedFileError('NV_SEED_FILE_NEEDS_KEY', 'the file is encrypted under a pre-shared key: give it with --key-file');
      notes.push('encrypted under a pre-shared key');
    } else {
      throw new SeedFileError('NV_SEED_FILE_UNSUPPORTED', 'the file is encrypted under a key this server does not open (a certificate\'s, or one it does not name); only a pre-shared key or a PBKDF2 password');
    }
  }

  const macMethod = child(root, 'MACMethod');
  let mac: Protection['mac'];
  if (macMethod) {
    const algorithm = macByUri(macMethod.attributes.Algorithm ?? '');
    const macKeyElement = child(macMethod, 'MACKey');
    if (key === undefined) {
      if (missing) throw missing;
      throw malformed('the file has a MACMethod but no EncryptionKey');
    }
    // Drafts before RFC 6030 had no MACKey: the MAC was keyed with the encryption key itself.
    const macKey = macKeyElement ? decryptElement(macKeyElement, key) : key;
    if (macKey.length === 0) throw malformed('the MAC key is empty');
    mac = { algorithm, key: macKey };
    notes.push(`each encrypted value carries a ${MACS[algorithm].label} MAC`);
  }
  return { key, missing, mac, notes };
}

/** For a DerivedKey without KeyLength: the key size of the first cipher the file uses. */
function firstCipherKeyBytes(root: XmlElement): number {
  const stack: XmlElement[] = [root];
  while (stack.length > 0) {
    const element = stack.pop()!;
    if (element.name === 'EncryptionMethod' && element.attributes.Algorithm) return CIPHERS[cipherByUri(element.attributes.Algorithm)].keyBytes;
    stack.push(...element.children);
  }
  return 16;
}

/** An xenc EncryptedData-like element (EncryptedValue, MACKey): its method and CipherValue, decrypted. */
function decryptElement(element: XmlElement, key: Uint8Array, mac?: { algorithm: MacName; key: Uint8Array; value: Uint8Array | undefined; source: string }): Uint8Array {
  const cipher: CipherName = cipherByUri(child(element, 'EncryptionMethod')?.attributes.Algorithm ?? '(none)');
  const value = base64(path(element, 'CipherData', 'CipherValue'), 'a CipherValue');
  if (mac) {
    if (mac.value === undefined) {
      if (CIPHERS[cipher].mode === 'cbc') throw new SeedFileError('NV_SEED_FILE_BAD_MAC', `${mac.source}: an encrypted value without its ValueMAC`);
    } else if (!macMatches(mac.algorithm, mac.key, value, mac.value)) {
      throw new SeedFileError('NV_SEED_FILE_BAD_MAC', `${mac.source}: the MAC of an encrypted value does not match (the file was changed, or the password or key is wrong)`);
    }
  } else if (CIPHERS[cipher].mode === 'cbc' && element.name === 'EncryptedValue') {
    // CBC alone does not show a wrong key or a changed file; RFC 6030 section 6.1.1 asks for a MAC.
    throw new SeedFileError('NV_SEED_FILE_BAD_MAC', 'an AES-CBC encrypted value without a MACMethod: it cannot be checked, and is refused');
  }
  return decryptValue(cipher, key, value);
}

/** A Data field (Secret, Counter, Time, TimeInterval…): its PlainValue or decrypted EncryptedValue, as bytes; undefined when absent. */
function dataValue(field: XmlElement | undefined, protection: Protection, source: string): { plain: string } | { bytes: Uint8Array } | undefined {
  if (!field) return undefined;
  const plain = child(field, 'PlainValue');
  if (plain) return { plain: plain.text };
  const encrypted = child(field, 'EncryptedValue');
  if (!encrypted) return undefined;
  if (protection.key === undefined) {
    throw protection.missing ?? malformed(`${source}: an encrypted value, but the file has no EncryptionKey`);
  }
  const macValue = child(field, 'ValueMAC');
  const mac = protection.mac ? { algorithm: protection.mac.algorithm, key: protection.mac.key, value: macValue ? base64(macValue, 'a ValueMAC') : undefined, source } : undefined;
  return { bytes: decryptElement(encrypted, protection.key, mac) };
}

function secretBytes(field: XmlElement | undefined, protection: Protection, source: string): Uint8Array | undefined {
  const value = dataValue(field, protection, source);
  if (value === undefined) return undefined;
  if ('bytes' in value) return value.bytes;
  return base64({ name: 'PlainValue', attributes: {}, children: [], text: value.plain }, `${source}: the secret`);
}

/** An integer Data field (Counter, Time, TimeInterval): a decimal PlainValue, or an encrypted big-endian number. */
function integerValue(field: XmlElement | undefined, protection: Protection, source: string, what: string): number | undefined {
  const value = dataValue(field, protection, source);
  if (value === undefined) return undefined;
  if ('plain' in value) return integer(value.plain, `${source}: ${what}`);
  if (value.bytes.length === 0 || value.bytes.length > 6) throw malformed(`${source}: the encrypted ${what} is not a number this server holds`);
  return value.bytes.reduce((n, b) => n * 256 + b, 0);
}

const HASH_SUITES: Readonly<Record<string, OathAlgorithm>> = { 'HMAC-SHA1': 'sha1', 'HMAC-SHA256': 'sha256', 'HMAC-SHA512': 'sha512', SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

function dateOf(element: XmlElement | undefined, what: string, source: string): number | undefined {
  if (!element) return undefined;
  const at = Date.parse(element.text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(element.text) || Number.isNaN(at)) throw malformed(`${source}: the ${what} is not an xs:dateTime`);
  return at;
}

function readKey(pkg: XmlElement, key: XmlElement, source: string, protection: Protection, now: number, pinKeyIds: ReadonlySet<string>): ImportedToken | KeyRefusal | undefined {
  const algorithmUri = key.attributes.Algorithm ?? '';
  const kind = KEY_ALGORITHMS[algorithmUri];
  if (kind === undefined) throw new SeedFileError('NV_SEED_FILE_UNKNOWN_ALGORITHM', `${source}: unknown key algorithm ${quotedName(algorithmUri)}`);
  const serial = (path(pkg, 'DeviceInfo', 'SerialNo')?.text || key.attributes.Id || '').trim();
  const refuse = (code: KeyRefusalCode, message: string): KeyRefusal => ({ source, serial: serial || null, code, message });
  const data = child(key, 'Data');

  if (kind === 'pin') {
    // The PIN another key's PINPolicy points at (figure 5): the server has no PIN, so it is left out, and that key's notes say so.
    if (key.attributes.Id !== undefined && pinKeyIds.has(key.attributes.Id)) return undefined;
    return refuse('NV_KEY_NOT_OTP', 'a PIN, not an OTP key');
  }

  const usages = childrenNamed(child(key, 'Policy'), 'KeyUsage').map((u) => u.text);
  if (usages.length > 0 && !usages.includes('OTP')) return refuse('NV_KEY_NOT_OTP', `its KeyUsage (${usages.join(', ').slice(0, 60)}) does not include OTP`);

  const secret = secretBytes(child(data, 'Secret'), protection, source);
  if (secret === undefined || secret.length === 0) {
    if (child(key, 'KeyReference') || child(key, 'KeyProfileId')) {
      return refuse('NV_KEY_DERIVED', 'no secret in the file: the key is derived from a master key (KeyReference/KeyProfileId) the server does not hold');
    }
    return refuse('NV_KEY_NO_SECRET', 'no secret in the file');
  }
  const wipe = <T>(refusal: T): T => {
    secret.fill(0);
    return refusal;
  };

  const policy = child(key, 'Policy');
  const expiry = dateOf(child(policy, 'ExpiryDate'), 'ExpiryDate', source);
  const start = dateOf(child(policy, 'StartDate'), 'StartDate', source);
  if (expiry !== undefined && expiry <= now) return wipe(refuse('NV_KEY_EXPIRED', `expired on ${new Date(expiry).toISOString()}`));
  if (start !== undefined && start > now) return wipe(refuse('NV_KEY_NOT_YET_VALID', `valid only from ${new Date(start).toISOString()}; the server has no start date to hold it to`));

  const notes: string[] = [];
  const parameters = child(key, 'AlgorithmParameters');
  const format = child(parameters, 'ResponseFormat');
  let digits = 6;
  if (format) {
    digits = integer(format.attributes.Length, `${source}: the ResponseFormat Length`);
    const encoding = format.attributes.Encoding ?? 'DECIMAL';
    if (encoding !== 'DECIMAL') return wipe(refuse('NV_KEY_UNSUPPORTED', `its responses are ${encoding.slice(0, 20)}; the server verifies decimal codes`));
  } else {
    notes.push('no ResponseFormat: 6 digits assumed');
  }
  if (!digitsSupported(digits)) return wipe(refuse('NV_KEY_UNSUPPORTED', `${digits}-digit codes; the server verifies 6 to 8 digits`));

  let algorithm: OathAlgorithm = 'sha1';
  const suite = child(parameters, 'Suite')?.text;
  if (suite) {
    const named = HASH_SUITES[suite.toUpperCase().replace(/[\s_]/g, '-').replace(/^HMAC-?SHA-?/, 'HMAC-SHA').replace(/^SHA-/, 'SHA')];
    if (!named || !OATH_ALGORITHMS.includes(named)) throw new SeedFileError('NV_SEED_FILE_UNKNOWN_ALGORITHM', `${source}: unknown Suite ${quotedName(suite)}`);
    algorithm = named;
  }

  let counter = 0;
  let period = 0;
  if (kind === 'hotp') {
    const found = integerValue(child(data, 'Counter'), protection, source, 'Counter');
    if (found === undefined) notes.push('no Counter: 0 assumed');
    counter = found ?? 0;
  } else {
    const interval = integerValue(child(data, 'TimeInterval'), protection, source, 'TimeInterval');
    period = interval ?? 30;
    if (interval === undefined) notes.push('no TimeInterval: 30 seconds assumed');
    if (!periodSupported(period)) return wipe(refuse('NV_KEY_UNSUPPORTED', `a time step of ${period} s; the server takes 1 to 86400`));
    const t0 = integerValue(child(data, 'Time'), protection, source, 'Time');
    if (t0 !== undefined && t0 !== 0) return wipe(refuse('NV_KEY_UNSUPPORTED', 'its Time (T0) is not 0; the server counts steps from the Unix epoch'));
    if (child(data, 'TimeDrift')) notes.push('its TimeDrift is not used: the server learns the drift from accepted codes');
  }

  if (!validSerial(serial)) {
    return wipe(refuse('NV_KEY_BAD_SERIAL', serial ? 'its serial is not 1 to 32 of A-Z a-z 0-9 . _ : -' : 'no SerialNo and no Key Id'));
  }

  const pinPolicy = child(policy, 'PINPolicy');
  if (pinPolicy) {
    notes.push(`its PIN policy is not used${pinPolicy.attributes.PINKeyId ? ` (the PIN, key ${pinPolicy.attributes.PINKeyId.slice(0, 32)}, is not imported)` : ''}: the server has no token PIN; the login's password stands in its place`);
  }
  if (child(policy, 'NumberOfTransactions')) notes.push('its NumberOfTransactions limit is not used');
  if (expiry !== undefined) notes.push(`valid until ${new Date(expiry).toISOString()}`);

  const user = (child(key, 'UserId')?.text || path(pkg, 'DeviceInfo', 'UserId')?.text || '').trim();
  return { serial, kind, algorithm, digits, counter, period, seed: secret, user: user || null, validUntil: expiry ?? null, source, notes };
}
