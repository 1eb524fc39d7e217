/**
 * The key-file (nøglefil) pages of an employee signature (medarbejdersignatur): logging in by
 * signing the server's challenge in the browser, and activating a newly issued key file. The work
 * happens in /assets/key-file-login.js and /assets/activate.js; the private key never leaves the
 * browser, so without JavaScript these pages can only say so.
 *
 * Their forms are script-only: no method, no action, no CSRF field, and no input carries a `name`,
 * so a browser without the script (or before it is attached) has nothing to post — the key file,
 * its password and the activation code can never reach the service as form fields. The scripts
 * read the inputs by id and send only a signature or a public key, with the CSRF token (from
 * `data-csrf`) in the x-csrf-token header.
 */
import { da, html, layout, messages, type Interpolation, type SafeHtml } from './layout.ts';
import { PASSWORD_MAX, PASSWORD_MIN } from './login.ts';

/**
 * A form the browser can never submit to the service: its script handles `submit` itself, checks
 * the fields (no browser bubble), and marks the field at fault, described by the status line.
 */
function scriptForm(id: string, data: Readonly<Record<string, string>>, body: Interpolation): SafeHtml {
  const attrs = Object.entries(data).map(([name, value]) => html` data-${name}="${value}"`);
  return html`<form id="${id}"${attrs} novalidate>${body}</form>`;
}

const needsScript = html`<noscript><p class="error">This page needs JavaScript: your key file is opened and used in your browser, never sent to the service.</p></noscript>`;

export interface KeyFileLoginView {
  readonly csrf: string;
  /** Where the signature is posted and the tabs lead (a provider interaction's path); the service's own login when absent. */
  readonly flow?: string;
  /** The one-time challenge (base64url) the key file signs. */
  readonly challenge: string;
  readonly error?: string;
}

/** "Log in with key file": the browser signs the challenge, the service checks the signature. */
export function keyFileLoginPage(view: KeyFileLoginView): string {
  return layout({
    title: 'Log in with key file',
    pageClass: 'narrow',
    scripts: ['key-file-login.js'],
    body: html`<nav class="tabs" aria-label="Ways to log in">
<a href="${view.flow ?? ''}/login" id="tab-login">Code card or code token${da('nøglekort / nøgleviser')}</a>
<a href="${view.flow ?? ''}/login/key-file" aria-current="page" id="tab-key-file">Log in with key file${da('nøglefil')}</a>
</nav>
<h1>Log in with key file${da('nøglefil')}</h1>
<p class="explain">Choose your key file and type its password. Your browser signs a one-time challenge with it; the key itself never leaves your computer.</p>
${needsScript}
${messages(view)}
${scriptForm(
  'key-file-form',
  { challenge: view.challenge, csrf: view.csrf, endpoint: `${view.flow ?? ''}/login/key-file` },
  html`<div class="field"><label for="key-file-input">Key file${da('nøglefil')}</label>
<input id="key-file-input" type="file" accept=".nvkey,application/json" required autofocus></div>
<div class="field"><label for="key-file-password">Key-file password</label>
<input id="key-file-password" type="password" autocomplete="current-password" required></div>
<button type="submit" id="key-file-submit" class="primary">Log in</button>
<p id="key-file-status" class="status" role="status" aria-live="polite"></p>`,
)}
<p class="hint">New employee with an activation letter? <a href="/activate" id="activate-link">Activate your key file</a> first.</p>`,
  });
}

export interface ActivateView {
  readonly csrf: string;
  readonly error?: string;
}

/** Activating an employee key file: the key pair is made in the browser, the service gets the public key. */
export function activatePage(view: ActivateView): string {
  return layout({
    title: 'Activate key file',
    pageClass: 'narrow',
    scripts: ['activate.js'],
    body: html`<h1>Activate your key file${da('nøglefil')}</h1>
<p class="explain">Type the activation code from your letter and choose a password for your key file. Your browser makes the key and saves the key file on your computer; the service only ever receives its public half.</p>
${needsScript}
${messages(view)}
${scriptForm(
  'activate-form',
  { csrf: view.csrf },
  html`<div class="field"><label for="activation-code">Activation code${da('aktiveringskode')}</label>
<input id="activation-code" type="text" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" required autofocus></div>
<div class="field"><label for="key-file-new-password">Key-file password</label>
<p class="rules" id="key-file-password-rules">At least ${PASSWORD_MIN} characters. Nobody can reset it: without it the key file is useless.</p>
<input id="key-file-new-password" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}" aria-describedby="key-file-password-rules"></div>
<div class="field"><label for="key-file-new-password-again">Key-file password again</label>
<input id="key-file-new-password-again" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}"></div>
<button type="submit" id="activate-submit" class="primary">Make my key file</button>
<p id="activate-status" class="status" role="status" aria-live="polite"></p>`,
)}
<div id="activate-done" class="notice" hidden>
<p>Your key file is saved; keep it and its password — the service never had the key.</p>
<p><a id="key-file-download" href="#" download="nøglefil.nvkey">Save the key file again</a></p>
<p><a id="activate-login" href="/login/key-file">Log in with your key file</a></p>
</div>`,
  });
}
