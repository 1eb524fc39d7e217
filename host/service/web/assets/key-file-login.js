/**
 * "Log in with key file" (nøglefil) in the browser: opens the chosen key file with its password,
 * signs the service's one-time challenge and sends only the signature. The private key and its
 * password never leave the page; a wrong password is reported here and nothing is sent.
 * `logInWithKeyFile` is the flow with its effects passed in (so it can be tested without a
 * browser); the bottom of the module wires it to `form#key-file-form` when there is a document.
 */
import { markFieldProblem, readKeyFile, signChallenge } from './key-file.js';

/**
 * @typedef {{ fileText: string, password: string, challenge: string, csrf: string, endpoint?: string }} KeyFileLoginInput
 * @typedef {{
 *   readKeyFile: (fileText: string) => { personId: string },
 *   signChallenge: (fileText: string, password: string, challenge: string) => Promise<string>,
 *   fetch: (url: string, init: RequestInit) => Promise<Response>,
 * }} KeyFileLoginEffects
 */

/** @type {KeyFileLoginEffects} */
const browserEffects = { readKeyFile, signChallenge, fetch: (url, init) => fetch(url, init) };

/** The message of a coded error answer `{ error: { code, message } }`, or a plain one. */
export function errorMessage(body, status) {
  const message = body && typeof body === 'object' && body.error && typeof body.error.message === 'string' ? body.error.message : null;
  return message ?? `The service refused the login (HTTP ${status}).`;
}

/** The service answered with an error; `challenge` is a fresh one when the answer carried it. */
export class LoginRefused extends Error {
  /** @param {string} message @param {string | null} challenge */
  constructor(message, challenge) {
    super(message);
    this.name = 'LoginRefused';
    this.challenge = challenge;
  }
}

/**
 * Signs the challenge and sends the signature; resolves to the page to go to next, rejects with an
 * Error whose message is meant for the person.
 * @param {KeyFileLoginInput} input
 * @param {KeyFileLoginEffects} [effects]
 * @returns {Promise<string>}
 */
export async function logInWithKeyFile(input, effects = browserEffects) {
  const { personId } = effects.readKeyFile(input.fileText);
  const signature = await effects.signChallenge(input.fileText, input.password, input.challenge);
  let response;
  try {
    response = await effects.fetch(input.endpoint ?? '/login/key-file', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': input.csrf },
      body: JSON.stringify({ personId, signature }),
    });
  } catch {
    throw new Error('The service could not be reached; try again.');
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const challenge = body && typeof body.challenge === 'string' ? body.challenge : null;
    throw new LoginRefused(errorMessage(body, response.status), challenge);
  }
  return body && typeof body.next === 'string' ? body.next : '/self-service';
}

/** @param {HTMLFormElement} form */
function wire(form) {
  const fileInput = /** @type {HTMLInputElement} */ (document.getElementById('key-file-input'));
  const passwordInput = /** @type {HTMLInputElement} */ (document.getElementById('key-file-password'));
  const status = /** @type {HTMLElement} */ (document.getElementById('key-file-status'));
  const submit = /** @type {HTMLButtonElement} */ (document.getElementById('key-file-submit'));
  const fields = [fileInput, passwordInput];
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = fileInput.files && fileInput.files[0];
    if (!file) {
      status.textContent = 'Choose your key file (nøglefil) first.';
      markFieldProblem(fields, fileInput, status);
      return;
    }
    if (passwordInput.value === '') {
      status.textContent = 'Type the password of your key file.';
      markFieldProblem(fields, passwordInput, status);
      return;
    }
    markFieldProblem(fields, null, status);
    submit.disabled = true;
    status.textContent = 'Signing in…';
    try {
      const next = await logInWithKeyFile({
        fileText: await file.text(),
        password: passwordInput.value,
        challenge: form.dataset.challenge ?? '',
        csrf: form.dataset.csrf ?? '',
        endpoint: form.dataset.endpoint ?? '/login/key-file',
      });
      status.textContent = 'Signed in.';
      location.assign(next);
    } catch (error) {
      let message = error instanceof Error ? error.message : String(error);
      // The challenge is good for one attempt: take a fresh one if the answer had it, else the page must be reloaded.
      if (error instanceof LoginRefused) {
        if (error.challenge) form.dataset.challenge = error.challenge;
        else if (!/reload/i.test(message)) message += ' Reload the page to try again.';
      }
      status.textContent = message;
      submit.disabled = false;
      // A wrong password is the password's fault; a file that does not open or is refused, the file's;
      // a service out of reach, no field's (the focus goes back to the button).
      const unreachable = /could not be reached/.test(message);
      const atFault = unreachable ? null : /password/i.test(message) && !(error instanceof LoginRefused) ? passwordInput : fileInput;
      markFieldProblem(fields, atFault, status, submit);
    }
  });
}

if (typeof document !== 'undefined') {
  const form = document.getElementById('key-file-form');
  if (form) wire(/** @type {HTMLFormElement} */ (form));
}
