/**
 * The employee key file (nøglefil), in the browser: an ECDSA P-256 private key made here with Web
 * Crypto, sealed under a password the employee chooses, and saved as a file. The service only ever
 * receives the public key and, at each login, a signature over its challenge: the private key never
 * leaves this machine.
 *
 * The file (JSON, `noegleviser-key-file/1`):
 *   { format, personId, label, publicKey: SPKI DER base64url,
 *     kdf: { name: "PBKDF2", hash: "SHA-256", iterations, salt: 16 bytes base64url },
 *     cipher: { name: "AES-GCM", iv: 12 bytes base64url },
 *     privateKey: AES-GCM(PKCS #8 DER) base64url, tag included }
 * The AES key is PBKDF2(password, salt). The additional data of AES-GCM is the UTF-8 JSON of
 * [format, personId, label, publicKey], so a file whose header was edited does not open.
 * A login signs the UTF-8 bytes of `noegleviser-key-file/1 login:` followed by the challenge
 * (base64url, as the server sent it), so a signature made here is good for nothing but a login.
 *
 * Plain JS with no dependencies: only crypto.subtle, crypto.getRandomValues, TextEncoder and
 * btoa/atob, all present in browsers and in Node ≥ 20 (where the tests run it).
 */

export const KEY_FILE_FORMAT = 'noegleviser-key-file/1';
export const KDF_ITERATIONS = 310000;
export const MIN_PASSWORD_LENGTH = 8;

const MIN_ITERATIONS = 100000;
const MAX_ITERATIONS = 10000000;
const LOGIN_CONTEXT = `${KEY_FILE_FORMAT} login:`;
const MAX_FILE_LENGTH = 64 * 1024;

/**
 * Makes a new key pair and its key file.
 * @param {{ personId: string, label: string, password: string }} input
 * @returns {Promise<{ fileText: string, publicKey: string }>}
 */
export async function createKeyFile({ personId, label, password }) {
  requireText(personId, 'personId');
  requireText(label, 'label');
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) {
    throw new Error(`a key-file password has at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const publicKey = toBase64url(new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey)));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const header = { format: KEY_FILE_FORMAT, personId, label, publicKey };
  try {
    const aesKey = await passwordKey(password, salt, KDF_ITERATIONS);
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: additionalData(header) }, aesKey, pkcs8);
    const file = {
      ...header,
      kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: KDF_ITERATIONS, salt: toBase64url(salt) },
      cipher: { name: 'AES-GCM', iv: toBase64url(iv) },
      privateKey: toBase64url(new Uint8Array(sealed)),
    };
    return { fileText: `${JSON.stringify(file, null, 2)}\n`, publicKey };
  } finally {
    pkcs8.fill(0);
  }
}

/**
 * Parses and checks a key file's text.
 * @param {string} fileText
 * @returns {{ format: string, personId: string, label: string, publicKey: string,
 *   kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: number, salt: string },
 *   cipher: { name: 'AES-GCM', iv: string }, privateKey: string }}
 */
export function readKeyFile(fileText) {
  if (typeof fileText !== 'string' || fileText.length > MAX_FILE_LENGTH) throw notKeyFile('it is not a text file of the right size');
  let file;
  try {
    file = JSON.parse(fileText);
  } catch {
    throw notKeyFile('it is not JSON');
  }
  if (typeof file !== 'object' || file === null || Array.isArray(file)) throw notKeyFile('it is not a JSON object');
  if (file.format !== KEY_FILE_FORMAT) throw notKeyFile(`its format is not ${KEY_FILE_FORMAT}`);
  for (const field of ['personId', 'label']) {
    if (typeof file[field] !== 'string' || file[field].length === 0) throw notKeyFile(`its ${field} is missing`);
  }
  const { kdf, cipher } = file;
  if (typeof kdf !== 'object' || kdf === null || kdf.name !== 'PBKDF2' || kdf.hash !== 'SHA-256') throw notKeyFile('its kdf is not PBKDF2 with SHA-256');
  if (!Number.isInteger(kdf.iterations) || kdf.iterations < MIN_ITERATIONS || kdf.iterations > MAX_ITERATIONS) throw notKeyFile('its kdf iterations are out of range');
  if (typeof cipher !== 'object' || cipher === null || cipher.name !== 'AES-GCM') throw notKeyFile('its cipher is not AES-GCM');
  if (decodedLength(kdf.salt) !== 16) throw notKeyFile('its salt is not 16 bytes of base64url');
  if (decodedLength(cipher.iv) !== 12) throw notKeyFile('its iv is not 12 bytes of base64url');
  if ((decodedLength(file.publicKey) ?? 0) < 32) throw notKeyFile('its public key is missing');
  // PKCS #8 of a P-256 key is well over 16 bytes, and the GCM tag alone is 16.
  if ((decodedLength(file.privateKey) ?? 0) <= 32) throw notKeyFile('its sealed private key is missing');
  return {
    format: file.format,
    personId: file.personId,
    label: file.label,
    publicKey: file.publicKey,
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: kdf.iterations, salt: kdf.salt },
    cipher: { name: 'AES-GCM', iv: cipher.iv },
    privateKey: file.privateKey,
  };
}

/**
 * Opens the key file with its password and signs a login challenge (ECDSA P-256 with SHA-256,
 * the raw 64-byte r|s that Web Crypto gives).
 * @param {string} fileText
 * @param {string} password
 * @param {string} challenge base64url, as the server sent it
 * @returns {Promise<string>} the signature, base64url
 */
export async function signChallenge(fileText, password, challenge) {
  const file = readKeyFile(fileText);
  if ((decodedLength(challenge) ?? 0) < 16) throw new Error('the login challenge is not base64url of at least 16 bytes');
  if (typeof password !== 'string' || password.length === 0) throw new Error('wrong key-file password');
  const aesKey = await passwordKey(password, fromBase64url(file.kdf.salt), file.kdf.iterations);
  let pkcs8;
  try {
    pkcs8 = new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64url(file.cipher.iv), additionalData: additionalData(file) }, aesKey, fromBase64url(file.privateKey)),
    );
  } catch {
    throw new Error('wrong key-file password');
  }
  let privateKey;
  try {
    privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  } catch {
    throw new Error('the key file holds no usable P-256 key');
  } finally {
    pkcs8.fill(0);
  }
  const message = new TextEncoder().encode(LOGIN_CONTEXT + challenge);
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, message);
  return toBase64url(new Uint8Array(signature));
}

async function passwordKey(password, salt, iterations) {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, material, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

function additionalData(file) {
  return new TextEncoder().encode(JSON.stringify([file.format, file.personId, file.label, file.publicKey]));
}

function requireText(value, name) {
  if (typeof value !== 'string' || value.length === 0) throw new Error(`a key file needs a ${name}`);
}

function notKeyFile(why) {
  return new Error(`this is not a noegleviser key file (nøglefil): ${why}`);
}

function toBase64url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text) {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The byte length of a base64url string, or undefined when it is not one. */
function decodedLength(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  return Math.floor((text.length * 3) / 4);
}

/**
 * The key-file pages' feedback on their fields (their forms are `novalidate`: no browser bubble
 * covers the rules text). Marks `atFault` invalid and described by the status line, which says
 * what is wrong as a live region, clears the mark from the other `inputs`, and puts the focus on
 * `atFault`, or on `fallback` when no field is at fault (null clears every mark).
 * @param {HTMLElement[]} inputs
 * @param {HTMLElement | null} atFault
 * @param {HTMLElement} status
 * @param {HTMLElement | null} [fallback]
 */
export function markFieldProblem(inputs, atFault, status, fallback = null) {
  for (const input of inputs) {
    const others = (input.getAttribute('aria-describedby') ?? '').split(/\s+/).filter((id) => id !== '' && id !== status.id);
    const describedBy = input === atFault ? [status.id, ...others] : others;
    if (describedBy.length > 0) input.setAttribute('aria-describedby', describedBy.join(' '));
    else input.removeAttribute('aria-describedby');
    if (input === atFault) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  const focus = atFault ?? fallback;
  if (focus) focus.focus();
}
