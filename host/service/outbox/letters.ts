/**
 * The letters the service posts to its outbox, as whole HTML pages: the welcome letter (with the
 * temporary password and the code card or the token's serial), a new or extra code card, an
 * employee's welcome letter and, separately, their code card, and a key file's activation code. English, with the NemID Danish
 * terms beside where they help.
 *
 * The secrets a letter carries are marked for tests and the lab: `data-secret="temporary-password"`,
 * `data-secret="activation-code"`, and each card key in an element `data-number="<its number>"`.
 * A code card is also attached as a PDF.
 */
import type { Scope } from '../store/types.ts';
import type { CardPair } from '../code-card.ts';
import { CodedError } from '../../../protocol/coded-error.ts';
import { CARD_CSS, cardPdfSync, cardSection } from './card-render.ts';
import { escapeHtml } from './html.ts';
import type { LetterAttachment, NewLetter } from './outbox.ts';

/** A letter before it is addressed: the caller adds the person's id when posting it. */
export type LetterDraft = Omit<NewLetter, 'personId'>;

export interface LetterCard {
  readonly serial: string;
  readonly pairs: readonly CardPair[];
}

export interface LetterOrganisation {
  readonly name: string;
  readonly cvr: string;
}

const LETTER_CSS = `
body { font-family: Georgia, "Times New Roman", serif; color: #111; background: #f4f4f0; margin: 0; }
.letter { max-width: 46rem; margin: 2rem auto; background: #fff; padding: 2.5rem 3rem; box-shadow: 0 1px 4px rgba(0,0,0,0.15); }
.sender { font-family: "Helvetica Neue", Arial, sans-serif; color: #0b3a6e; font-weight: 700; font-size: 1.4rem; margin: 0; }
.sender small { display: block; font-weight: 400; font-size: 0.8rem; color: #555; }
.subject { font-size: 1.2rem; margin-top: 2rem; }
.secret { font-family: "Courier New", monospace; font-weight: 700; font-size: 1.3rem; letter-spacing: 0.08em; border: 1px dashed #0b3a6e; padding: 0.1rem 0.5rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.4rem 1rem; }
dl.facts dt { font-weight: 700; }
dl.facts dd { margin: 0; }
ol.steps li { margin-bottom: 0.4rem; }
.warning { border-left: 4px solid #a33; padding-left: 0.8rem; color: #333; }
@media print { body { background: #fff; } .letter { box-shadow: none; margin: 0; } }
`;

const SCOPE_TEXT: Readonly<Record<Scope, string>> = {
  full: 'Your NemID works everywhere NemID is used: public self-service (borger.dk and others), your bank and other services.',
  'view-only':
    'As you are 13 to 15 years old, your NemID is for looking only (kontokig): you can see your accounts and your information, but not move money or sign anything. It becomes a full NemID when you turn 15 and order one.',
  'bank-only': 'As you have no CPR number, your NemID works with your bank only (NemID til bank).',
};

function page(title: string, body: string, withCard: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${LETTER_CSS}${withCard ? CARD_CSS : ''}</style>
</head>
<body>
<article class="letter">
<p class="sender">NemID<small>noegleviser · the NemID-style service (lab)</small></p>
${body}
<p>Kind regards,<br>NemID</p>
</article>
</body>
</html>
`;
}

function cardAttachment(card: LetterCard, holder: string, employee: boolean): LetterAttachment {
  return { name: `card-${card.serial}.pdf`, contentType: 'application/pdf', bytes: cardPdfSync({ ...card, holder, employee }) };
}

function cardBlock(card: LetterCard, holder: string, employee: boolean): string {
  return `<p>Your code card (nøglekort) no. <strong data-card-serial="${escapeHtml(card.serial)}">${escapeHtml(card.serial)}</strong> is enclosed
(card-${escapeHtml(card.serial)}.pdf, to print) and shown below.</p>
${cardSection({ ...card, holder, employee })}`;
}

function firstLoginSteps(loginHint: string, secondStep: string): string {
  return `<h2>Your first login</h2>
<ol class="steps">
<li>Open the login page (<a href="/login">/login</a>).</li>
<li>${loginHint}</li>
<li>${secondStep}</li>
<li>Choose your own user-id (bruger-id) and a personal password (adgangskode). From then on you log in with those, and the temporary password no longer works.</li>
</ol>`;
}

/** The closing warning, about the credential the letter is for. */
function warning(credential: 'code card' | 'code token' | 'key file'): string {
  return `<p class="warning">NemID never asks for your password or your keys by e-mail, text message or phone. Keep this letter, your password and your ${credential} apart.
If your ${credential} is lost, block it (spær) at once in self-service.</p>`;
}

/** The welcome letter of a new NemID: the temporary password and either a code card or a code token. */
export function welcomeLetter(input: {
  readonly recipient: string;
  /** What the person types as user-id at the first login (NemID-nummer). */
  readonly nemIdNumber: string;
  readonly temporaryPassword: string;
  readonly card?: LetterCard;
  readonly token?: { readonly serial: string };
  readonly scope: Scope;
}): LetterDraft {
  if ((input.card === undefined) === (input.token === undefined)) throw new CodedError('NV_BAD_LETTER', 'a welcome letter carries either a code card or a code token', 500);
  const recipient = escapeHtml(input.recipient);
  const secondStep = input.card
    ? 'The page then shows a 4-digit number: find it on your code card and type the 6-digit key (nøgle) beside it. Each key works once.'
    : 'The page then asks for a code: press the button on your code token (nøgleviser) and type the 6 digits it shows.';
  const credential = input.card
    ? cardBlock(input.card, input.recipient, false)
    : `<p>Your code token (nøgleviser) with serial number <strong data-token-serial="${escapeHtml(input.token!.serial)}">${escapeHtml(input.token!.serial)}</strong> is registered to you. Press its button for a new code each time you log in.</p>`;
  const body = `<h1 class="subject">Welcome to NemID (Velkommen til NemID)</h1>
<p>Dear ${recipient},</p>
<p>Your NemID is ready. ${escapeHtml(SCOPE_TEXT[input.scope])}</p>
<dl class="facts">
<dt>NemID number (NemID-nummer)</dt><dd><strong data-field="nemid-number">${escapeHtml(input.nemIdNumber)}</strong></dd>
<dt>Temporary password (midlertidig adgangskode)</dt><dd><span class="secret" data-secret="temporary-password">${escapeHtml(input.temporaryPassword)}</span></dd>
</dl>
${firstLoginSteps('Type your NemID number as user-id and the temporary password above.', secondStep)}
${credential}
${warning(input.card ? 'code card' : 'code token')}`;
  return {
    kind: 'welcome',
    recipient: input.recipient,
    subject: 'Welcome to NemID (Velkommen til NemID)',
    html: page('Welcome to NemID', body, input.card !== undefined),
    attachments: input.card ? [cardAttachment(input.card, input.recipient, false)] : [],
  };
}

const NEW_CARD: Readonly<Record<'threshold' | 'extra' | 'reissue', { kind: NewLetter['kind']; subject: string; text: string }>> = {
  threshold: {
    kind: 'new-card',
    subject: 'Your new code card (nyt nøglekort)',
    text: 'Your code card is running out of keys, so here is your next one. Keep using your current card until it asks for a key you no longer have; the new card becomes active the first time you log in with one of its keys, and from then on the old card no longer works.',
  },
  extra: {
    kind: 'extra-card',
    subject: 'Your extra code card (ekstra nøglekort)',
    text: 'An extra code card was ordered for you. At the key step of a login, choose “Use another card” and pick this card’s number to log in with it.',
  },
  reissue: {
    kind: 'reissue',
    subject: 'Your NemID was re-issued: a new code card',
    text: 'Your NemID was re-issued. Here is your new code card; the cards you had before are blocked (spærret) and no longer work.',
  },
};

/** A code card on its own: the threshold successor, an extra card, or a re-issued card. */
export function newCardLetter(input: {
  readonly recipient: string;
  readonly card: LetterCard;
  readonly reason: 'threshold' | 'extra' | 'reissue';
  /** An employee's card carries the "Erhverv" mark. */
  readonly employee?: boolean;
}): LetterDraft {
  const employee = input.employee ?? false;
  const what = NEW_CARD[input.reason];
  const body = `<h1 class="subject">${escapeHtml(what.subject)}</h1>
<p>Dear ${escapeHtml(input.recipient)},</p>
<p>${escapeHtml(what.text)}</p>
${cardBlock(input.card, input.recipient, employee)}
${warning('code card')}`;
  return {
    kind: what.kind,
    recipient: input.recipient,
    subject: what.subject,
    html: page(what.subject, body, true),
    attachments: [cardAttachment(input.card, input.recipient, employee)],
  };
}

/**
 * An employee's credential with a code card (medarbejdersignatur), issued by the organisation's
 * administrator: the NemID number and temporary password. The card goes in a letter of its own
 * (`employeeCardLetter`), as NemID sent them, so one lost letter does not give both.
 */
export function employeeWelcomeLetter(input: {
  readonly recipient: string;
  readonly nemIdNumber: string;
  readonly organisation: LetterOrganisation;
  readonly temporaryPassword: string;
  /** The serial of the card sent in the other letter. */
  readonly cardSerial: string;
}): LetterDraft {
  const organisation = `${escapeHtml(input.organisation.name)} (CVR ${escapeHtml(input.organisation.cvr)})`;
  const subject = `Your employee signature (medarbejdersignatur) at ${input.organisation.name}`;
  const body = `<h1 class="subject">${escapeHtml(subject)}</h1>
<p>Dear ${escapeHtml(input.recipient)},</p>
<p>The NemID administrator of ${organisation} has issued you an employee signature (medarbejdersignatur), for logging in on behalf of ${escapeHtml(input.organisation.name)}. It belongs to the organisation: your administrator can block or re-issue it.</p>
<dl class="facts">
<dt>Organisation</dt><dd data-field="organisation">${organisation}</dd>
<dt>NemID number (NemID-nummer)</dt><dd><strong data-field="nemid-number">${escapeHtml(input.nemIdNumber)}</strong></dd>
<dt>Temporary password (midlertidig adgangskode)</dt><dd><span class="secret" data-secret="temporary-password">${escapeHtml(input.temporaryPassword)}</span></dd>
</dl>
<p>Your code card (nøglekort) no. <strong data-card-serial="${escapeHtml(input.cardSerial)}">${escapeHtml(input.cardSerial)}</strong> comes in a separate letter. You need both for your first login.</p>
${firstLoginSteps(
  'Type your NemID number as user-id and the temporary password above.',
  'The page then shows a 4-digit number: find it on your code card (marked Erhverv, from the other letter) and type the 6-digit key beside it. Each key works once.',
)}
${warning('code card')}`;
  return {
    kind: 'employee-welcome',
    recipient: input.recipient,
    subject,
    html: page(subject, body, false),
    attachments: [],
  };
}

/** The code card of an employee signature, in a letter of its own: no NemID number, no password. */
export function employeeCardLetter(input: { readonly recipient: string; readonly organisation: LetterOrganisation; readonly card: LetterCard }): LetterDraft {
  const organisation = `${escapeHtml(input.organisation.name)} (CVR ${escapeHtml(input.organisation.cvr)})`;
  const subject = `Your code card (nøglekort) for your employee signature at ${input.organisation.name}`;
  const body = `<h1 class="subject">${escapeHtml(subject)}</h1>
<p>Dear ${escapeHtml(input.recipient)},</p>
<p>Here is the code card for the employee signature (medarbejdersignatur) the NemID administrator of ${organisation} has issued you. Your NemID number and temporary password come in a separate letter.</p>
${cardBlock(input.card, input.recipient, true)}
${warning('code card')}`;
  return {
    kind: 'employee-card',
    recipient: input.recipient,
    subject,
    html: page(subject, body, true),
    attachments: [cardAttachment(input.card, input.recipient, true)],
  };
}

/** An employee's key file (nøglefil): the one-time activation code with which their browser makes it. */
export function keyFileActivationLetter(input: {
  readonly recipient: string;
  readonly organisation: LetterOrganisation;
  readonly activationCode: string;
  /** When the code stops working: ISO 8601 or Unix ms. */
  readonly expiresAt: string | number;
}): LetterDraft {
  const expires = new Date(input.expiresAt);
  const until = Number.isNaN(expires.getTime()) ? String(input.expiresAt) : `${expires.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const organisation = `${escapeHtml(input.organisation.name)} (CVR ${escapeHtml(input.organisation.cvr)})`;
  const subject = `Activate your key file (nøglefil) for ${input.organisation.name}`;
  const body = `<h1 class="subject">${escapeHtml(subject)}</h1>
<p>Dear ${escapeHtml(input.recipient)},</p>
<p>The NemID administrator of ${organisation} has issued you an employee signature (medarbejdersignatur) as a key file (nøglefil): a private key that lives in a file on your computer, protected by a password you choose.</p>
<dl class="facts">
<dt>Activation code (aktiveringskode)</dt><dd><span class="secret" data-secret="activation-code">${escapeHtml(input.activationCode)}</span></dd>
<dt>Valid until</dt><dd data-field="expires-at">${escapeHtml(until)}</dd>
</dl>
<h2>How to activate it</h2>
<ol class="steps">
<li>Open the activation page (<a href="/activate">/activate</a>) on the computer where you will keep the key file.</li>
<li>Type the activation code above, and choose a password for your key file (at least 8 characters; you need it at every login).</li>
<li>Your browser makes the key and saves the key file. Keep the file and its password: the service only ever sees the public half of the key, so it cannot recover a lost file or password; your administrator can issue a new one.</li>
<li>Log in with the key file (<a href="/login/key-file">/login/key-file</a>).</li>
</ol>
<p>The activation code works once, until the time above.</p>
${warning('key file')}`;
  return {
    kind: 'key-file-activation',
    recipient: input.recipient,
    subject,
    html: page(subject, body, false),
    attachments: [],
  };
}
