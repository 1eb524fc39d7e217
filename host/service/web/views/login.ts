/**
 * The two-step login pages, as NemID had them: step 1 (trin 1) user-id and password; step 2
 * (trin 2) the key a code card (nøglekort) pairs with the number on screen, or the code a code
 * token (nøgleviser) shows; and, at first login, choosing one's own user-id and password.
 */
import { da, digits, fieldAttributes, html, layout, messages, postForm, type SafeHtml } from './layout.ts';

/**
 * The rules the service enforces, stated on the page beside their fields (each field described by
 * its rules text) and as input patterns. Where a browser's bubble would cover the rules text, the
 * form is `novalidate` and the service's answer says what is wrong.
 */
export const USER_ID_PATTERN = '[a-z][a-z0-9._\\-]{5,39}';
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 64;

function steps(current: 1 | 2): SafeHtml {
  const step = (n: 1 | 2, label: string) =>
    html`<li${n === current ? html` aria-current="step" class="current"` : ''}>Step ${n}${da(`trin ${n}`)}: ${label}</li>`;
  return html`<ol class="steps" aria-label="Login steps">${step(1, 'user-id and password')}${step(2, 'key or code')}</ol>`;
}

function cancelForm(csrf: string, flow = ''): SafeHtml {
  return postForm({
    csrf,
    action: `${flow}/logout`,
    id: 'cancel-form',
    className: 'cancel-form',
    body: html`<button type="submit" id="cancel-submit" class="link-button">Cancel${da('afbryd')}</button>`,
  });
}

export interface LoginView {
  readonly csrf: string;
  /** Where the login's forms post (a provider interaction's path); the service's own login when absent. */
  readonly flow?: string;
  readonly error?: string;
  /** E.g. that the session expired. */
  readonly notice?: string;
  /** Typed before, kept after a failed attempt. */
  readonly userId?: string;
}

/** Step 1: user-id and password. */
export function loginPage(view: LoginView): string {
  return layout({
    title: 'Log in',
    pageClass: 'narrow',
    body: html`<nav class="tabs" aria-label="Ways to log in">
<a href="${view.flow ?? ''}/login" aria-current="page" id="tab-login">Code card or code token${da('nøglekort / nøgleviser')}</a>
<a href="${view.flow ?? ''}/login/key-file" id="tab-key-file">Log in with key file${da('nøglefil')}</a>
</nav>
<h1>Log in${da('log på')}</h1>
${steps(1)}
<p class="explain" id="two-steps">Logging in takes two steps: first your user-id and password, then a one-time key from your code card${da('nøglekort')} or the code your code token${da('nøgleviser')} shows.</p>
${messages(view)}
${postForm({
  csrf: view.csrf,
  action: `${view.flow ?? ''}/login`,
  id: 'login-form',
  body: html`<div class="field"><label for="user-id">User-id${da('bruger-id')}</label>
<input id="user-id" name="userId" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" value="${view.userId ?? ''}"${fieldAttributes({ inError: Boolean(view.error), focus: true })}></div>
<div class="field"><label for="password">Password${da('adgangskode')}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="${PASSWORD_MAX}"${fieldAttributes({ inError: Boolean(view.error) })}></div>
<button type="submit" id="login-submit" class="primary">Next</button>`,
})}
<p class="hint">First time? Use the temporary password${da('midlertidig adgangskode')} from your welcome letter; you will then choose your own user-id and password.</p>
<p class="hint">Received a key-file activation letter as an employee${da('medarbejdersignatur')}? <a href="/activate" id="activate-link">Activate your key file</a>.</p>`,
  });
}

export interface CardStepView {
  readonly csrf: string;
  /** Where the login's forms post (a provider interaction's path); the service's own login when absent. */
  readonly flow?: string;
  /** The card the number is on, e.g. `K123-456-789`. */
  readonly cardSerial: string;
  /** The 4-digit number whose key is asked for. */
  readonly number: string;
  /** The person's other usable cards (a new or extra card) they may switch to. */
  readonly otherCards: readonly string[];
  readonly error?: string;
}

/** Step 2 with a code card: the number on screen, the key from the card. */
export function cardStepPage(view: CardStepView): string {
  const switchCard =
    view.otherCards.length > 0
      ? postForm({
          csrf: view.csrf,
          action: `${view.flow ?? ''}/login/card`,
          id: 'card-form',
          className: 'secondary-form',
          body: html`<div class="field"><label for="card-serial">Use another card (e.g. a new or extra card)</label>
<select id="card-serial" name="cardSerial">${view.otherCards.map((serial) => html`<option value="${serial}">${serial}</option>`)}</select></div>
<button type="submit" id="card-submit">Use this card</button>`,
        })
      : '';
  return layout({
    title: 'Enter key',
    pageClass: 'narrow',
    body: html`<h1>Enter the key${da('nøgle')}</h1>
${steps(2)}
${messages(view)}
<p class="card-line">Key card <strong id="key-card-serial">${view.cardSerial}</strong></p>
<p class="explain">Find this number on your code card${da('nøglekort')} and type the 6-digit key beside it.</p>
<p class="key-number" id="key-number" data-number="${view.number}">${digits(view.number)}</p>
${postForm({
  csrf: view.csrf,
  action: `${view.flow ?? ''}/login/key`,
  id: 'key-form',
  body: html`<div class="field"><label for="key">Key for number ${digits(view.number)}</label>
<p class="rules" id="key-rules">6 digits: the key beside this number on your code card.</p>
<input id="key" name="key" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required class="code-input"${fieldAttributes({ rules: 'key-rules', inError: Boolean(view.error), focus: true })}></div>
<button type="submit" id="key-submit" class="primary">Log in</button>`,
})}
${switchCard}
${cancelForm(view.csrf, view.flow)}`,
  });
}

export interface TokenStepView {
  readonly csrf: string;
  /** Where the login's forms post (a provider interaction's path); the service's own login when absent. */
  readonly flow?: string;
  readonly tokenSerial: string;
  readonly error?: string;
}

/** Step 2 with a code token: the code shown after pressing its button. */
export function tokenStepPage(view: TokenStepView): string {
  return layout({
    title: 'Enter code',
    pageClass: 'narrow',
    body: html`<h1>Enter the code from your code token${da('nøgleviser')}</h1>
${steps(2)}
${messages(view)}
<p class="card-line">Code token <strong id="token-serial">${view.tokenSerial}</strong></p>
<p class="explain">Press the button on your code token and type the code it shows.</p>
${postForm({
  csrf: view.csrf,
  action: `${view.flow ?? ''}/login/key`,
  id: 'key-form',
  body: html`<div class="field"><label for="code">Code${da('nøgle')}</label>
<p class="rules" id="code-rules">6 digits, as your code token shows them.</p>
<input id="code" name="code" type="text" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required class="code-input"${fieldAttributes({ rules: 'code-rules', inError: Boolean(view.error), focus: true })}></div>
<button type="submit" id="key-submit" class="primary">Log in</button>`,
})}
${cancelForm(view.csrf, view.flow)}`,
  });
}

export interface TemporaryPasswordStepView {
  readonly csrf: string;
  /** Where the login's forms post (a provider interaction's path); the service's own login when absent. */
  readonly flow?: string;
  /** The serial of the code token reported lost. */
  readonly lostToken: string;
  /** When the temporary password stops working, ISO 8601. */
  readonly validUntil: string;
  readonly error?: string;
}

/** Step 2 while a code token is lost: the temporary password issued in its place, instead of a code. */
export function temporaryPasswordStepPage(view: TemporaryPasswordStepView): string {
  const until = Number.isNaN(Date.parse(view.validUntil)) ? view.validUntil : `${new Date(view.validUntil).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return layout({
    title: 'Enter temporary password',
    pageClass: 'narrow',
    body: html`<h1>Enter the temporary password for your lost code token</h1>
${steps(2)}
${messages(view)}
<p class="card-line">Code token <strong id="lost-token-serial">${view.lostToken}</strong>: blocked as lost${da('spærret')}</p>
<p class="explain" id="temporary-password-explain">Type the temporary password${da('midlertidig adgangskode')} you were given when your code token was reported lost: 12 letters and digits. It works until <time id="temporary-password-valid-until" datetime="${view.validUntil}">${until}</time>, instead of a code from the token.</p>
${postForm({
  csrf: view.csrf,
  action: `${view.flow ?? ''}/login/key`,
  id: 'key-form',
  body: html`<div class="field"><label for="temporary-password">Temporary password</label>
<p class="rules" id="temporary-password-rules">12 letters and digits.</p>
<input id="temporary-password" name="code" type="text" autocomplete="off" autocapitalize="none" spellcheck="false" pattern="[A-Za-z0-9]{12}" maxlength="12" required class="code-input"${fieldAttributes({ rules: 'temporary-password-rules', inError: Boolean(view.error), focus: true })}></div>
<button type="submit" id="key-submit" class="primary">Log in</button>`,
})}
${cancelForm(view.csrf, view.flow)}`,
  });
}

export interface ChooseCredentialsView {
  readonly csrf: string;
  /** The person's name, to greet them. */
  readonly name: string;
  readonly error?: string;
  /** The error's code (`NV_…`): which field it is about. */
  readonly errorCode?: string;
  /** The user-id typed before, kept after a refusal (the passwords are not). */
  readonly userId?: string;
}

type ChooseField = 'user-id' | 'password' | 'password-again';

/** The field of the first-login form an error is about; none (the focus goes to the error) for any other. */
const CHOOSE_ERROR_FIELDS: ReadonlyMap<string, ChooseField> = new Map([
  ['NV_BAD_USER_ID', 'user-id'],
  ['NV_USER_ID_TAKEN', 'user-id'],
  ['NV_WEAK_PASSWORD', 'password'],
  ['NV_PASSWORDS_DIFFER', 'password-again'],
]);

/** First login: the person replaces the temporary password with their own user-id and password. */
export function chooseCredentialsPage(view: ChooseCredentialsView): string {
  const atFault = view.error ? CHOOSE_ERROR_FIELDS.get(view.errorCode ?? '') : undefined;
  const state = (field: ChooseField, rules?: string) =>
    fieldAttributes({ rules, inError: atFault === field, focus: view.error ? atFault === field : field === 'user-id' });
  return layout({
    title: 'Choose user-id and password',
    pageClass: 'narrow',
    body: html`<h1>Choose your user-id and password</h1>
<p>Welcome, <strong id="person-name">${view.name}</strong>. This is your first login: choose your own user-id${da('bruger-id')} and personal password${da('personlig adgangskode')}. The temporary password${da('midlertidig adgangskode')} stops working once you have.</p>
${messages(view, view.error && !atFault ? 'error' : undefined)}
${postForm({
  csrf: view.csrf,
  action: '/login/choose',
  id: 'choose-form',
  noValidate: true,
  body: html`<div class="field"><label for="new-user-id">User-id</label>
<p class="rules" id="user-id-rules">6–40 characters of a–z, 0–9, dot, underscore and hyphen (. _ -), starting with a letter.</p>
<input id="new-user-id" name="userId" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required minlength="6" maxlength="40" pattern="${USER_ID_PATTERN}" value="${view.userId ?? ''}"${state('user-id', 'user-id-rules')}></div>
<div class="field"><label for="new-password">Password</label>
<p class="rules" id="password-rules">${PASSWORD_MIN}–${PASSWORD_MAX} characters, with at least one letter and one digit.</p>
<input id="new-password" name="password" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}"${state('password', 'password-rules')}></div>
<div class="field"><label for="new-password-again">Password again</label>
<p class="rules" id="password-again-rules">The same password once more.</p>
<input id="new-password-again" name="passwordAgain" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}"${state('password-again', 'password-again-rules')}></div>
<button type="submit" id="choose-submit" class="primary">Save and continue</button>`,
})}`,
  });
}
