/**
 * Activating an employee key file (nøglefil) in the browser: the activation code is checked by the
 * service, the key pair is made here and sealed under the password the employee chose, the key
 * file is offered as a download, and only then is the public key sent to complete the activation.
 * The password and the private key never leave the page. `activateKeyFile` is the flow with its
 * effects passed in (testable without a browser); the bottom wires it to `form#activate-form`.
 */
import { createKeyFile, markFieldProblem } from './key-file.js';

export const MIN_PASSWORD = 8;

/**
 * @typedef {{ activationCode: string, password: string, passwordAgain: string, csrf: string }} ActivateInput
 * @typedef {{
 *   createKeyFile: (input: { personId: string, label: string, password: string }) => Promise<{ fileText: string, publicKey: string }>,
 *   fetch: (url: string, init: RequestInit) => Promise<Response>,
 *   offerDownload: (fileText: string, fileName: string) => void,
 *   progress?: (message: string) => void,
 * }} ActivateEffects
 */

/** The download name for a key file: `nøglefil-<label>.nvkey`, the label made safe for a file name. */
export function keyFileName(label) {
  const safe = String(label)
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._-]+/gu, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 60);
  return `nøglefil-${safe || 'key'}.nvkey`;
}

/** What is wrong with the chosen password, or null. */
export function passwordProblem(password, passwordAgain) {
  if (password.length < MIN_PASSWORD) return `The key-file password must have at least ${MIN_PASSWORD} characters.`;
  if (password !== passwordAgain) return 'The two passwords differ.';
  return null;
}

/** An activation refused because of one field: `activation-code`, `password` or `password-again`. */
export class ActivationProblem extends Error {
  /** @param {string} message @param {'activation-code' | 'password' | 'password-again'} field */
  constructor(message, field) {
    super(message);
    this.name = 'ActivationProblem';
    this.field = field;
  }
}

async function postJson(effects, url, csrf, payload) {
  let response;
  try {
    response = await effects.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(payload),
    });
  } catch {
    throw new Error('The service could not be reached; try again.');
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const message = body && body.error && typeof body.error.message === 'string' ? body.error.message : null;
    throw new Error(message ?? `The service refused the activation (HTTP ${response.status}).`);
  }
  return body ?? {};
}

/**
 * Runs the activation; resolves to `{ next, fileName }` (where to log in), rejects with an Error
 * whose message is meant for the person. Nothing is sent when the passwords are not acceptable.
 * @param {ActivateInput} input
 * @param {ActivateEffects} effects
 * @returns {Promise<{ next: string, fileName: string }>}
 */
export async function activateKeyFile(input, effects) {
  if (input.activationCode === '') throw new ActivationProblem('Type the activation code from your letter.', 'activation-code');
  const problem = passwordProblem(input.password, input.passwordAgain);
  if (problem) throw new ActivationProblem(problem, input.password.length < MIN_PASSWORD ? 'password' : 'password-again');
  const progress = effects.progress ?? (() => {});
  progress('Checking the activation code…');
  const begun = await postJson(effects, '/activate/begin', input.csrf, { activationCode: input.activationCode }).catch((error) => {
    throw error instanceof Error && /activation code/i.test(error.message) ? new ActivationProblem(error.message, 'activation-code') : error;
  });
  if (typeof begun.personId !== 'string' || typeof begun.label !== 'string') throw new Error('The service gave an unexpected answer.');
  progress('Making your key (this takes a moment)…');
  const { fileText, publicKey } = await effects.createKeyFile({ personId: begun.personId, label: begun.label, password: input.password });
  const fileName = keyFileName(begun.label);
  effects.offerDownload(fileText, fileName);
  progress('Completing the activation…');
  const done = await postJson(effects, '/activate/complete', input.csrf, { activationCode: input.activationCode, publicKey });
  return { next: typeof done.next === 'string' ? done.next : '/login/key-file', fileName };
}

function wire(form) {
  const codeInput = /** @type {HTMLInputElement} */ (document.getElementById('activation-code'));
  const passwordInput = /** @type {HTMLInputElement} */ (document.getElementById('key-file-new-password'));
  const againInput = /** @type {HTMLInputElement} */ (document.getElementById('key-file-new-password-again'));
  const status = /** @type {HTMLElement} */ (document.getElementById('activate-status'));
  const submit = /** @type {HTMLButtonElement} */ (document.getElementById('activate-submit'));
  const done = /** @type {HTMLElement} */ (document.getElementById('activate-done'));
  const download = /** @type {HTMLAnchorElement} */ (document.getElementById('key-file-download'));
  const loginLink = /** @type {HTMLAnchorElement} */ (document.getElementById('activate-login'));

  const offerDownload = (fileText, fileName) => {
    const url = URL.createObjectURL(new Blob([fileText], { type: 'application/json' }));
    download.href = url;
    download.download = fileName;
    download.click();
  };

  const fields = { 'activation-code': codeInput, password: passwordInput, 'password-again': againInput };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    markFieldProblem(Object.values(fields), null, status);
    submit.disabled = true;
    try {
      const { next } = await activateKeyFile(
        { activationCode: codeInput.value.trim(), password: passwordInput.value, passwordAgain: againInput.value, csrf: form.dataset.csrf ?? '' },
        { createKeyFile, fetch: (url, init) => fetch(url, init), offerDownload, progress: (message) => (status.textContent = message) },
      );
      passwordInput.value = '';
      againInput.value = '';
      loginLink.href = next;
      status.textContent = 'Activation complete.';
      // The form stays (its status line says what happened) but cannot be sent again: the code is used.
      for (const input of [codeInput, passwordInput, againInput]) input.disabled = true;
      done.hidden = false;
    } catch (error) {
      status.textContent = error instanceof Error ? error.message : String(error);
      submit.disabled = false;
      markFieldProblem(Object.values(fields), error instanceof ActivationProblem ? fields[error.field] : null, status, submit);
    }
  });
}

if (typeof document !== 'undefined') {
  const form = document.getElementById('activate-form');
  if (form) wire(form);
}
