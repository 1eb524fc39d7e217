/**
 * The self-service page (selvbetjening): who is signed in and with what scope, the person's code
 * cards with keys left, code tokens and key files, blocking (spærring) any of them at once, the
 * new-card threshold and the password change.
 */
import type { TokenState } from '../../../server/store/types.ts';
import type { CardState, KeyFileState, OrganisationRole, Scope } from '../../store/types.ts';
import { CARD_KEYS } from '../../store/types.ts';
import { da, hidden, html, layout, messages, postForm, type SafeHtml } from './layout.ts';
import { PASSWORD_MAX, PASSWORD_MIN } from './login.ts';

export interface CardRow {
  readonly serial: string;
  readonly state: CardState;
  readonly keysLeft: number;
  /** Ordered by an administrator as an extra card. */
  readonly extra: boolean;
}

export interface TokenRow {
  readonly serial: string;
  readonly state: TokenState;
}

export interface KeyFileRow {
  readonly id: string;
  readonly state: KeyFileState;
}

export interface SelfServiceView {
  readonly csrf: string;
  readonly person: {
    readonly name: string;
    /** Null for a key-file employee, who has no user-id at the service. */
    readonly userId: string | null;
    readonly scope: Scope;
    readonly organisation?: { readonly name: string; readonly cvr: string };
    readonly role?: OrganisationRole;
    /** False for a key-file-only person: no password to change, so no password form. */
    readonly hasPassword: boolean;
  };
  readonly cards: readonly CardRow[];
  readonly tokens: readonly TokenRow[];
  readonly keyFiles: readonly KeyFileRow[];
  /** A new card is sent when the active card has this many keys left. */
  readonly threshold: number;
  readonly notice?: string;
  readonly error?: string;
}

export const SCOPE_LABELS: Readonly<Record<Scope, SafeHtml>> = {
  full: html`Full use — online bank and all other sites`,
  'view-only': html`View only${da('kontokig')} — looking at your accounts`,
  'bank-only': html`Online bank only${da('kun netbank')}`,
};

export const CARD_STATE_LABELS: Readonly<Record<CardState, SafeHtml>> = {
  issued: html`New, not yet used${da('udstedt')}`,
  active: html`In use${da('aktiv')}`,
  'used-up': html`Used up${da('opbrugt')}`,
  replaced: html`Replaced by a newer card${da('erstattet')}`,
  blocked: html`Blocked${da('spærret')}`,
};

export const TOKEN_STATE_LABELS: Readonly<Record<TokenState, SafeHtml>> = {
  active: html`In use${da('aktiv')}`,
  disabled: html`Disabled`,
  locked: html`Locked after wrong codes${da('låst')}`,
  lost: html`Blocked as lost${da('spærret')}`,
  revoked: html`Revoked`,
};

export const KEY_FILE_STATE_LABELS: Readonly<Record<KeyFileState, SafeHtml>> = {
  'awaiting-activation': html`Awaiting activation`,
  active: html`In use${da('aktiv')}`,
  blocked: html`Blocked${da('spærret')}`,
};

/** States in which blocking still changes something (a used-up or replaced card is no longer accepted anyway). */
export const BLOCKABLE_CARD_STATES: ReadonlySet<CardState> = new Set(['issued', 'active']);
export const BLOCKABLE_TOKEN_STATES: ReadonlySet<TokenState> = new Set(['active', 'disabled', 'locked']);
export const BLOCKABLE_KEY_FILE_STATES: ReadonlySet<KeyFileState> = new Set(['awaiting-activation', 'active']);

export const ROLE_LABELS: Readonly<Record<OrganisationRole, SafeHtml>> = {
  employee: html`Employee${da('medarbejder')}`,
  administrator: html`NemID administrator`,
};

type BlockKind = 'card' | 'token' | 'key-file';

/** The id a row's name cell carries, so its block button can point at it (aria-describedby). */
function rowLabelId(kind: BlockKind, id: string): string {
  return `${kind}-label-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

function blockForm(csrf: string, kind: BlockKind, id: string): SafeHtml {
  return postForm({
    csrf,
    action: '/self-service/block',
    className: 'block-form',
    body: html`${hidden('kind', kind)}${hidden('id', id)}<button type="submit" class="block-button danger" data-id="${id}" aria-describedby="${rowLabelId(kind, id)}">Block${da('spær')}</button>`,
  });
}

function cardsSection(view: SelfServiceView): SafeHtml | '' {
  if (view.cards.length === 0) return '';
  const rows = view.cards.map(
    (card) => html`<tr data-card="${card.serial}" data-state="${card.state}">
<th scope="row" id="${rowLabelId('card', card.serial)}">${card.serial}${card.extra ? html` <span class="tag">extra</span>` : ''}</th>
<td>${CARD_STATE_LABELS[card.state]}</td>
<td class="keys-left">${card.keysLeft}</td>
<td>${BLOCKABLE_CARD_STATES.has(card.state) ? blockForm(view.csrf, 'card', card.serial) : ''}</td>
</tr>`,
  );
  return html`<section aria-labelledby="cards-heading">
<h2 id="cards-heading">Code cards${da('nøglekort')}</h2>
<table id="cards">
<thead><tr><th scope="col">Card</th><th scope="col">State</th><th scope="col">Keys left (of ${CARD_KEYS})</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>${rows}</tbody>
</table>
${postForm({
  csrf: view.csrf,
  action: '/self-service/threshold',
  id: 'threshold-form',
  className: 'threshold-form',
  body: html`<label for="threshold">A new card is sent when this many keys are left</label>
<div class="input-row"><input id="threshold" name="threshold" type="number" inputmode="numeric" min="0" max="${CARD_KEYS - 1}" step="1" required value="${view.threshold}">
<button type="submit" id="threshold-submit">Save</button></div>`,
})}
</section>`;
}

function tokensSection(view: SelfServiceView): SafeHtml | '' {
  if (view.tokens.length === 0) return '';
  const rows = view.tokens.map(
    (token) => html`<tr data-token="${token.serial}" data-state="${token.state}">
<th scope="row" id="${rowLabelId('token', token.serial)}">${token.serial}</th>
<td>${TOKEN_STATE_LABELS[token.state]}</td>
<td>${BLOCKABLE_TOKEN_STATES.has(token.state) ? blockForm(view.csrf, 'token', token.serial) : ''}</td>
</tr>`,
  );
  return html`<section aria-labelledby="tokens-heading">
<h2 id="tokens-heading">Code tokens${da('nøgleviser')}</h2>
<table id="tokens">
<thead><tr><th scope="col">Token</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>${rows}</tbody>
</table>
</section>`;
}

function keyFilesSection(view: SelfServiceView): SafeHtml | '' {
  if (view.keyFiles.length === 0) return '';
  const rows = view.keyFiles.map(
    (keyFile) => html`<tr data-key-file="${keyFile.id}" data-state="${keyFile.state}">
<th scope="row" id="${rowLabelId('key-file', keyFile.id)}">${keyFile.id}</th>
<td>${KEY_FILE_STATE_LABELS[keyFile.state]}</td>
<td>${BLOCKABLE_KEY_FILE_STATES.has(keyFile.state) ? blockForm(view.csrf, 'key-file', keyFile.id) : ''}</td>
</tr>`,
  );
  return html`<section aria-labelledby="key-files-heading">
<h2 id="key-files-heading">Key files${da('nøglefiler')}</h2>
<table id="key-files">
<thead><tr><th scope="col">Key file</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>${rows}</tbody>
</table>
</section>`;
}

function passwordSection(view: SelfServiceView): SafeHtml | '' {
  if (!view.person.hasPassword) return '';
  return html`<section aria-labelledby="password-heading">
<h2 id="password-heading">Change password${da('skift adgangskode')}</h2>
${postForm({
  csrf: view.csrf,
  action: '/self-service/password',
  id: 'password-form',
  className: 'narrow-form',
  body: html`<div class="field"><label for="current-password">Current password</label>
<input id="current-password" name="current" type="password" autocomplete="current-password" required maxlength="${PASSWORD_MAX}"></div>
<div class="field"><label for="changed-password">New password</label>
<input id="changed-password" name="password" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}" aria-describedby="changed-password-rules">
<p class="rules" id="changed-password-rules">${PASSWORD_MIN}–${PASSWORD_MAX} characters, with at least one letter and one digit.</p></div>
<div class="field"><label for="changed-password-again">New password again</label>
<input id="changed-password-again" name="passwordAgain" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN}" maxlength="${PASSWORD_MAX}"></div>
<button type="submit" id="password-submit">Change password</button>`,
})}
</section>`;
}

export function selfServicePage(view: SelfServiceView): string {
  const { person } = view;
  const none = view.cards.length + view.tokens.length + view.keyFiles.length === 0;
  return layout({
    title: 'Self-service',
    signedIn: { name: person.name, csrf: view.csrf },
    body: html`<h1>Self-service${da('selvbetjening')}</h1>
${messages(view)}
<dl class="who" id="who">
<dt>Name</dt><dd id="person-name">${person.name}</dd>
${person.userId !== null ? html`<dt>User-id${da('bruger-id')}</dt><dd id="person-user-id">${person.userId}</dd>` : ''}
<dt>Scope</dt><dd id="scope" data-scope="${person.scope}">${SCOPE_LABELS[person.scope]}</dd>
${person.organisation ? html`<dt>Organisation</dt><dd id="organisation" data-cvr="${person.organisation.cvr}">${person.organisation.name} (CVR ${person.organisation.cvr})</dd>` : ''}
${person.role ? html`<dt>Role</dt><dd id="role" data-role="${person.role}">${ROLE_LABELS[person.role]}</dd>` : ''}
</dl>
${person.role === 'administrator' ? html`<p><a href="/admin" id="admin-link">Administer employee signatures${da('medarbejdersignaturer')}</a></p>` : ''}
${none ? html`<p id="no-credentials">You have no code card, code token or key file.</p>` : ''}
${cardsSection(view)}
${tokensSection(view)}
${keyFilesSection(view)}
${passwordSection(view)}
<p class="hint">Lost a card or token, or suspect misuse? Block${da('spær')} it here at once${person.organisation ? ', and tell your NemID administrator' : ''}.</p>`,
  });
}
