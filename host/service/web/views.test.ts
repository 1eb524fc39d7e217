/**
 * The service's pages, read back with a small independent HTML reader (tags, attributes, entity
 * decoding written here, not the views' own escaping): every value is escaped, every POST form
 * carries the CSRF token, the ids the browser tests use exist once, inputs are labelled, and the
 * state-dependent forms appear exactly where they make sense. Also the two browser scripts' flows,
 * with their effects (fetch, key-file crypto, download) replaced by recorders.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  activatePage,
  adminPage,
  cardStepPage,
  chooseCredentialsPage,
  confirmPage,
  keyFileLoginPage,
  loginPage,
  messagePage,
  selfServicePage,
  temporaryPasswordStepPage,
  tokenStepPage,
  type AdminView,
  type EmployeeRow,
  type SelfServiceView,
} from './views.ts';

// ---------------------------------------------------------------------------------------------
// A small HTML reader, independent of the code under test.

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === '#') {
      const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return NAMED[entity.toLowerCase()] ?? whole;
  });
}

interface Tag {
  readonly name: string;
  readonly attrs: ReadonlyMap<string, string>;
  /** Offset just after the opening tag. */
  readonly end: number;
  readonly start: number;
}

const TAG = /<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*\/?>/g;
const ATTR = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;

function tags(page: string): Tag[] {
  const out: Tag[] = [];
  for (const match of page.matchAll(TAG)) {
    const attrs = new Map<string, string>();
    for (const attr of (match[2] ?? '').matchAll(ATTR)) {
      attrs.set((attr[1] ?? '').toLowerCase(), decode(attr[2] ?? attr[3] ?? attr[4] ?? ''));
    }
    out.push({ name: (match[1] ?? '').toLowerCase(), attrs, start: match.index, end: match.index + match[0].length });
  }
  return out;
}

function byId(page: string, id: string): Tag {
  const found = tags(page).filter((tag) => tag.attrs.get('id') === id);
  expect(found, `exactly one #${id}`).toHaveLength(1);
  return found[0]!;
}

function hasId(page: string, id: string): boolean {
  return tags(page).some((tag) => tag.attrs.get('id') === id);
}

/** The text of an element (its markup up to its own closing tag, tags removed, entities decoded). */
function textOf(page: string, tag: Tag): string {
  const close = page.indexOf(`</${tag.name}>`, tag.end);
  expect(close).toBeGreaterThan(-1);
  return decode(page.slice(tag.end, close).replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim();
}

/** Top-level forms with their opening tag and the markup inside. */
function forms(page: string): { tag: Tag; inner: string }[] {
  return tags(page)
    .filter((tag) => tag.name === 'form')
    .map((tag) => {
      const close = page.indexOf('</form>', tag.end);
      expect(close, 'every form is closed').toBeGreaterThan(-1);
      return { tag, inner: page.slice(tag.end, close) };
    });
}

function formByAction(page: string, action: string): { tag: Tag; inner: string }[] {
  return forms(page).filter((form) => form.tag.attrs.get('action') === action);
}

function hiddenValue(inner: string, name: string): string | undefined {
  return tags(inner).find((tag) => tag.name === 'input' && tag.attrs.get('type') === 'hidden' && tag.attrs.get('name') === name)?.attrs.get('value');
}

/** The text of an element as a screen reader reads it: what is aria-hidden left out. */
function spokenText(page: string, tag: Tag): string {
  const close = page.indexOf(`</${tag.name}>`, tag.end);
  return decode(page.slice(tag.end, close).replace(/<span aria-hidden="true">[^<]*<\/span>/g, '').replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim();
}

/** The text of an element as it is seen: what is visually hidden left out. */
function shownText(page: string, tag: Tag): string {
  const close = page.indexOf(`</${tag.name}>`, tag.end);
  return decode(page.slice(tag.end, close).replace(/<span class="visually-hidden">[^<]*<\/span>/g, '').replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim();
}

function labelOf(page: string, id: string): Tag {
  const found = tags(page).filter((tag) => tag.name === 'label' && tag.attrs.get('for') === id);
  expect(found, `exactly one label for #${id}`).toHaveLength(1);
  return found[0]!;
}

/** The ids an element is described by. */
function describedBy(page: string, id: string): string[] {
  return (byId(page, id).attrs.get('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
}

/** The ids of the elements that take the focus when the page loads. */
function autofocused(page: string): string[] {
  return tags(page).filter((tag) => tag.attrs.has('autofocus')).map((tag) => tag.attrs.get('id') ?? `<${tag.name}>`);
}

function invalid(page: string): string[] {
  return tags(page).filter((tag) => tag.attrs.get('aria-invalid') === 'true').map((tag) => tag.attrs.get('id') ?? `<${tag.name}>`);
}

// ---------------------------------------------------------------------------------------------
// Hostile values: markup, quotes to break out of attributes, an ampersand, Danish letters.

const EVIL = `<script>alert("x")</script>" onmouseover="steal()' & æøå`;
const EVIL_CSRF = `c"srf<'&>token`;

function card(serial: string, state: EmployeeRow['cards'][number]['state'], keysLeft: number, extra = false) {
  return { serial, state, keysLeft, extra };
}

function selfServiceView(overrides: Partial<SelfServiceView> = {}): SelfServiceView {
  return {
    csrf: EVIL_CSRF,
    person: { name: EVIL, userId: EVIL, scope: 'full', organisation: { name: EVIL, cvr: '12345674' }, role: 'administrator', hasPassword: true },
    cards: [card('K111-111-111', 'active', 57), card('K222-222-222', 'issued', 148, true), card('K333-333-333', 'blocked', 90), card('K444-444-444', 'used-up', 0)],
    tokens: [
      { serial: 'NV0000001', state: 'active' },
      { serial: 'NV0000002', state: 'lost' },
    ],
    keyFiles: [
      { id: 'F1', state: 'active' },
      { id: 'F2', state: 'blocked' },
    ],
    threshold: 20,
    notice: EVIL,
    error: EVIL,
    ...overrides,
  };
}

function adminView(employees: readonly EmployeeRow[]): AdminView {
  return { csrf: EVIL_CSRF, organisation: { name: EVIL, cvr: '12345674' }, admin: { name: EVIL, id: 'PSELF' }, employees, maxExtraCards: 3, notice: EVIL, error: EVIL };
}

const employees: EmployeeRow[] = [
  { id: 'PACTIVE', name: EVIL, userId: 'anna.b', role: 'employee', state: 'active', cards: [card('K500-000-001', 'active', 100)], keyFiles: [], extraCardsAllowed: 3 },
  { id: 'PLOCKED', name: 'Bo', userId: null, role: 'administrator', state: 'locked', cards: [card('K500-000-002', 'active', 80)], keyFiles: [], extraCardsAllowed: 2 },
  { id: 'PBLOCKED', name: 'Cai', userId: 'cai', role: 'employee', state: 'blocked', cards: [card('K500-000-003', 'blocked', 80)], keyFiles: [], extraCardsAllowed: 0 },
  { id: 'PKEYFILE', name: 'Dana', userId: null, role: 'employee', state: 'pending', cards: [], keyFiles: [{ id: 'F9', state: 'awaiting-activation' }], extraCardsAllowed: 0 },
  {
    id: 'PTWOEXTRA',
    name: 'Eli',
    userId: 'eli',
    role: 'employee',
    state: 'active',
    cards: [card('K600-000-001', 'active', 30), card('K600-000-002', 'issued', 148, true), card('K600-000-003', 'issued', 148, true)],
    keyFiles: [],
    extraCardsAllowed: 1,
  },
  {
    id: 'PTHREEEXTRA',
    name: 'Fie',
    userId: 'fie',
    role: 'employee',
    state: 'active',
    cards: [card('K700-000-001', 'active', 30), card('K700-000-002', 'issued', 148, true), card('K700-000-003', 'issued', 148, true), card('K700-000-004', 'issued', 148, true)],
    keyFiles: [],
    extraCardsAllowed: 0,
  },
  { id: 'P<bad>"id', name: 'Gry', userId: 'gry', role: 'employee', state: 'active', cards: [], keyFiles: [], extraCardsAllowed: 0 },
  { id: 'PSELF', name: 'Ada', userId: 'ada', role: 'administrator', state: 'active', cards: [card('K800-000-001', 'active', 90)], keyFiles: [], extraCardsAllowed: 3 },
];

interface PageCase {
  readonly name: string;
  readonly page: string;
  readonly ids: readonly string[];
  readonly scripts?: readonly string[];
  readonly signedIn?: boolean;
  /** Forms handled only by the page's script: the browser must have nothing to post from them. */
  readonly scriptForms?: readonly string[];
  /** False for a page that never shows an error (a question). */
  readonly showsErrors?: boolean;
}

const pages: PageCase[] = [
  { name: 'login', page: loginPage({ csrf: EVIL_CSRF, error: EVIL, userId: EVIL }), ids: ['login-form', 'user-id', 'password', 'login-submit'] },
  {
    name: 'card step',
    page: cardStepPage({ csrf: EVIL_CSRF, cardSerial: EVIL, number: '0427', otherCards: ['K987-654-321', EVIL], error: EVIL }),
    ids: ['key-number', 'key-form', 'key', 'key-submit', 'card-form', 'card-serial', 'cancel-form'],
  },
  { name: 'token step', page: tokenStepPage({ csrf: EVIL_CSRF, tokenSerial: EVIL, error: EVIL }), ids: ['key-form', 'code', 'key-submit', 'cancel-form'] },
  {
    name: 'temporary-password step',
    page: temporaryPasswordStepPage({ csrf: EVIL_CSRF, lostToken: EVIL, validUntil: EVIL, error: EVIL }),
    ids: ['key-form', 'temporary-password', 'key-submit', 'cancel-form', 'lost-token-serial'],
  },
  {
    name: 'choose credentials',
    page: chooseCredentialsPage({ csrf: EVIL_CSRF, name: EVIL, error: EVIL, userId: EVIL }),
    ids: ['choose-form', 'new-user-id', 'new-password', 'new-password-again', 'choose-submit'],
  },
  {
    name: 'key-file login',
    page: keyFileLoginPage({ csrf: EVIL_CSRF, challenge: EVIL, error: EVIL }),
    ids: ['key-file-form', 'key-file-input', 'key-file-password', 'key-file-submit', 'key-file-status'],
    scripts: ['/assets/key-file-login.js'],
    scriptForms: ['key-file-form'],
  },
  {
    name: 'activate',
    page: activatePage({ csrf: EVIL_CSRF, error: EVIL }),
    ids: ['activate-form', 'activation-code', 'key-file-new-password', 'key-file-new-password-again', 'activate-submit', 'activate-status', 'key-file-download'],
    scripts: ['/assets/activate.js'],
    scriptForms: ['activate-form'],
  },
  {
    name: 'self-service',
    page: selfServicePage(selfServiceView()),
    ids: ['scope', 'cards', 'tokens', 'threshold-form', 'threshold', 'password-form', 'current-password', 'changed-password', 'changed-password-again', 'logout-form'],
    signedIn: true,
  },
  {
    name: 'admin',
    page: adminPage(adminView(employees)),
    ids: ['issue-form', 'employee-name', 'employee-credential', 'employee-role', 'issue-submit', 'employees', 'logout-form'],
    signedIn: true,
  },
  { name: 'message', page: messagePage({ title: EVIL, message: EVIL, status: 423 }), ids: ['error'] },
  {
    name: 'confirm',
    page: confirmPage({ csrf: EVIL_CSRF, name: EVIL, question: EVIL, consequence: EVIL, action: '/self-service/block', fields: { kind: 'card', id: EVIL }, confirmLabel: EVIL, back: '/self-service' }),
    ids: ['confirm-question', 'confirm-consequence', 'confirm-form', 'confirm-submit', 'confirm-cancel', 'logout-form'],
    signedIn: true,
    showsErrors: false,
  },
];

describe.each(pages)('the $name page', ({ page, ids, scripts = [], signedIn = false, scriptForms = [], showsErrors = true }) => {
  it('is a whole HTML document with the stylesheet and exactly one h1', () => {
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain('</html>');
    const all = tags(page);
    expect(all.filter((tag) => tag.name === 'h1')).toHaveLength(1);
    expect(all.some((tag) => tag.name === 'link' && tag.attrs.get('rel') === 'stylesheet' && tag.attrs.get('href') === '/assets/service.css')).toBe(true);
    expect(all.find((tag) => tag.name === 'html')?.attrs.get('lang')).toBe('en');
  });

  it('never lets an interpolated value out as markup or as an attribute', () => {
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain(EVIL);
    expect(page).not.toContain(EVIL_CSRF);
    for (const tag of tags(page)) {
      for (const name of tag.attrs.keys()) expect(name, `<${tag.name}> has no event handler attribute`).not.toMatch(/^on/);
    }
    // What a reader sees is the value itself, decoded.
    expect(decode(page.replace(/<[^>]*>/g, ''))).toContain(EVIL);
  });

  it('has no inline script or style (the pages are served with a strict CSP)', () => {
    const scriptTags = tags(page).filter((tag) => tag.name === 'script');
    expect(scriptTags.map((tag) => tag.attrs.get('src'))).toEqual(scripts);
    for (const tag of scriptTags) {
      expect(tag.attrs.get('type')).toBe('module');
      expect(page.slice(tag.end, tag.end + '</script>'.length)).toBe('</script>');
    }
    expect((page.match(/<script\b/gi) ?? []).length).toBe(scripts.length);
    expect(page).not.toMatch(/<style\b/i);
    expect(tags(page).some((tag) => tag.attrs.has('style'))).toBe(false);
  });

  it('puts the CSRF token into every POST form, urlencoded', () => {
    const all = forms(page).filter(({ tag }) => !scriptForms.includes(tag.attrs.get('id') ?? ''));
    expect(all.length + scriptForms.length).toBe(forms(page).length);
    for (const { tag, inner } of all) {
      expect(tag.attrs.get('method')).toBe('post');
      expect(tag.attrs.get('enctype') ?? 'application/x-www-form-urlencoded').toBe('application/x-www-form-urlencoded');
      expect(hiddenValue(inner, '_csrf'), `form ${tag.attrs.get('action')}`).toBe(EVIL_CSRF);
      expect(inner).not.toContain('<form');
    }
  });

  it('has the ids the browser tests use, each once, and no id twice', () => {
    for (const id of ids) byId(page, id);
    const seen = tags(page).map((tag) => tag.attrs.get('id')).filter((id): id is string => id !== undefined);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('labels every input and select', () => {
    const labelled = new Set(tags(page).filter((tag) => tag.name === 'label').map((tag) => tag.attrs.get('for')));
    for (const tag of tags(page)) {
      if (tag.name !== 'input' && tag.name !== 'select') continue;
      if (tag.attrs.get('type') === 'hidden') continue;
      expect(labelled.has(tag.attrs.get('id')), `label for ${tag.attrs.get('id') ?? tag.attrs.get('name')}`).toBe(true);
    }
  });

  it(showsErrors ? 'announces its error in a role=alert .error element' : 'has no error to announce', () => {
    const alerts = tags(page).filter((tag) => tag.attrs.get('role') === 'alert');
    expect(alerts).toHaveLength(showsErrors ? 1 : 0);
    if (!showsErrors) return;
    expect(alerts[0]!.attrs.get('class')?.split(' ')).toContain('error');
    expect(textOf(page, alerts[0]!)).toBe(EVIL);
  });

  it(signedIn ? 'says who is signed in and can log out' : 'has no log-out form before login', () => {
    const logout = formByAction(page, '/logout').filter((form) => form.tag.attrs.get('id') === 'logout-form');
    expect(logout).toHaveLength(signedIn ? 1 : 0);
    expect(hasId(page, 'signed-in-as')).toBe(signedIn);
  });
});

describe('login pages', () => {
  it('step 1 posts user-id and password with the right autocomplete hints and keeps the typed user-id', () => {
    const page = loginPage({ csrf: 't', userId: 'anna"b' });
    expect(byId(page, 'login-form').attrs.get('action')).toBe('/login');
    expect(byId(page, 'user-id').attrs.get('name')).toBe('userId');
    expect(byId(page, 'user-id').attrs.get('autocomplete')).toBe('username');
    expect(byId(page, 'user-id').attrs.get('value')).toBe('anna"b');
    expect(byId(page, 'password').attrs.get('name')).toBe('password');
    expect(byId(page, 'password').attrs.get('type')).toBe('password');
    expect(byId(page, 'password').attrs.get('autocomplete')).toBe('current-password');
    expect(tags(page).some((tag) => tag.name === 'a' && tag.attrs.get('href') === '/login/key-file' && textOf(page, tag).includes('nøglefil'))).toBe(true);
    expect(hasId(page, 'error')).toBe(false);
  });

  it('step 2 with a card shows the card and the number, and asks for a 6-digit key', () => {
    const page = cardStepPage({ csrf: 't', cardSerial: 'K123-456-789', number: '0042', otherCards: [] });
    expect(spokenText(page, byId(page, 'key-number')), 'a screen reader reads the number digit by digit').toBe('0 0 4 2');
    expect(shownText(page, byId(page, 'key-number'))).toBe('0042');
    expect(spokenText(page, labelOf(page, 'key'))).toBe('Key for number 0 0 4 2');
    expect(byId(page, 'key-number').attrs.get('data-number')).toBe('0042');
    expect(decode(page.replace(/<[^>]*>/g, ''))).toContain('Key card K123-456-789');
    const key = byId(page, 'key');
    expect(key.attrs.get('name')).toBe('key');
    expect(key.attrs.get('inputmode')).toBe('numeric');
    expect(key.attrs.get('autocomplete')).toBe('one-time-code');
    const pattern = new RegExp(`^(?:${key.attrs.get('pattern')})$`, 'v');
    expect(pattern.test('012345')).toBe(true);
    expect(pattern.test('12345')).toBe(false);
    expect(pattern.test('12345a')).toBe(false);
    expect(byId(page, 'key-form').attrs.get('action')).toBe('/login/key');
    expect(byId(page, 'cancel-form').attrs.get('action')).toBe('/logout');
    expect(hasId(page, 'card-form')).toBe(false);
  });

  it('offers the other cards when there are some', () => {
    const page = cardStepPage({ csrf: 't', cardSerial: 'K1', number: '1111', otherCards: ['K2', 'K3'] });
    expect(byId(page, 'card-form').attrs.get('action')).toBe('/login/card');
    expect(byId(page, 'card-serial').attrs.get('name')).toBe('cardSerial');
    const options = tags(page).filter((tag) => tag.name === 'option').map((tag) => tag.attrs.get('value'));
    expect(options).toEqual(['K2', 'K3']);
  });

  it('step 2 with a token asks for the code it shows', () => {
    const page = tokenStepPage({ csrf: 't', tokenSerial: 'NV0001' });
    expect(byId(page, 'key-form').attrs.get('action')).toBe('/login/key');
    expect(byId(page, 'code').attrs.get('name')).toBe('code');
    expect(byId(page, 'code').attrs.get('inputmode')).toBe('numeric');
    expect(byId(page, 'code').attrs.get('autocomplete')).toBe('one-time-code');
    expect(textOf(page, byId(page, 'token-serial'))).toBe('NV0001');
    expect(page).toContain('Press the button on your code token');
  });

  it('step 2 for a lost token asks for its temporary password, says which token and until when', () => {
    const page = temporaryPasswordStepPage({ csrf: 't', lostToken: 'NV0001', validUntil: '2026-03-09T08:00:00.000Z' });
    expect(byId(page, 'key-form').attrs.get('action')).toBe('/login/key');
    const input = byId(page, 'temporary-password');
    expect([input.attrs.get('name'), input.attrs.get('maxlength'), input.attrs.get('pattern'), input.attrs.get('inputmode')]).toEqual(['code', '12', '[A-Za-z0-9]{12}', undefined]);
    expect(textOf(page, byId(page, 'lost-token-serial'))).toBe('NV0001');
    expect(textOf(page, byId(page, 'temporary-password-valid-until'))).toBe('2026-03-09 08:00 UTC');
    expect(page).toContain('Type the temporary password');
  });

  it('a confirmation posts the same fields again with confirm=yes, and offers the way back', () => {
    const page = confirmPage({ csrf: 't', name: 'Anna', question: 'Block code card K1?', consequence: 'Never again.', action: '/self-service/block', fields: { kind: 'card', id: 'K1' }, confirmLabel: 'Yes, block', back: '/self-service' });
    const form = byId(page, 'confirm-form');
    expect([form.attrs.get('method'), form.attrs.get('action')]).toEqual(['post', '/self-service/block']);
    const fields = tags(page).filter((tag) => tag.name === 'input' && tag.start > form.start).map((tag) => [tag.attrs.get('name'), tag.attrs.get('value')]);
    expect(fields).toEqual(expect.arrayContaining([['_csrf', 't'], ['kind', 'card'], ['id', 'K1'], ['confirm', 'yes']]));
    expect(byId(page, 'confirm-cancel').attrs.get('href')).toBe('/self-service');
    expect(tags(page).some((tag) => tag.name === 'script'), 'it needs no script').toBe(false);
  });

  it('the first-login page states the rules and its user-id pattern follows them', () => {
    const page = chooseCredentialsPage({ csrf: 't', name: 'Anna' });
    expect(byId(page, 'choose-form').attrs.get('action')).toBe('/login/choose');
    expect(byId(page, 'new-user-id').attrs.get('name')).toBe('userId');
    expect(byId(page, 'new-password').attrs.get('name')).toBe('password');
    expect(byId(page, 'new-password-again').attrs.get('name')).toBe('passwordAgain');
    expect(byId(page, 'new-password').attrs.get('autocomplete')).toBe('new-password');
    expect(byId(page, 'new-password').attrs.get('minlength')).toBe('8');
    expect(byId(page, 'new-password').attrs.get('maxlength')).toBe('64');
    // Browsers compile `pattern` with the v flag, anchored.
    const pattern = new RegExp(`^(?:${byId(page, 'new-user-id').attrs.get('pattern')})$`, 'v');
    for (const good of ['anna.b', 'a_1-2.x', 'a'.repeat(40)]) expect(pattern.test(good), good).toBe(true);
    for (const bad of ['anna', '1annab', 'anna b', 'anna@b', 'a'.repeat(41), '_annab']) expect(pattern.test(bad), bad).toBe(false);
    const text = decode(page.replace(/<[^>]*>/g, ''));
    expect(text).toContain('6–40');
    expect(text).toContain('8–64');
  });

  it('the key-file login page hands the challenge and the CSRF token to its script', () => {
    const page = keyFileLoginPage({ csrf: 'csrf-1', challenge: 'ch_allenge-1' });
    const form = byId(page, 'key-file-form');
    expect(form.attrs.get('data-challenge')).toBe('ch_allenge-1');
    expect(form.attrs.get('data-csrf')).toBe('csrf-1');
    expect(byId(page, 'key-file-input').attrs.get('type')).toBe('file');
    expect(byId(page, 'key-file-password').attrs.get('autocomplete')).toBe('current-password');
    expect(byId(page, 'key-file-status').attrs.get('role')).toBe('status');
  });

  it('the activation page gives its script what it needs', () => {
    const page = activatePage({ csrf: 'csrf-2' });
    expect(byId(page, 'activate-form').attrs.get('data-csrf')).toBe('csrf-2');
    expect(byId(page, 'key-file-new-password').attrs.get('autocomplete')).toBe('new-password');
    expect(byId(page, 'key-file-new-password-again').attrs.get('autocomplete')).toBe('new-password');
    expect(byId(page, 'activate-status').attrs.get('role')).toBe('status');
    expect(byId(page, 'key-file-download').attrs.has('download')).toBe(true);
    expect(byId(page, 'activate-done').attrs.has('hidden')).toBe(true);
  });

  // The key and its password (and the activation code) must never leave the browser: even with the
  // script off or not yet attached, submitting these forms must post nothing to the service.
  it.each([
    { name: 'key-file login', page: keyFileLoginPage({ csrf: 'csrf-1', challenge: 'ch-1' }), form: 'key-file-form', csrf: 'csrf-1' },
    { name: 'activation', page: activatePage({ csrf: 'csrf-2' }), form: 'activate-form', csrf: 'csrf-2' },
  ])('the $name page has no form the browser could post, and nothing named to post', ({ page, form, csrf }) => {
    const all = forms(page);
    expect(all.map(({ tag }) => tag.attrs.get('id'))).toEqual([form]);
    const { tag, inner } = all[0]!;
    expect(tag.attrs.has('method')).toBe(false);
    expect(tag.attrs.has('action')).toBe(false);
    expect(tag.attrs.has('enctype')).toBe(false);
    expect(tag.attrs.get('data-csrf')).toBe(csrf);
    expect(page).not.toMatch(/method\s*=\s*["']?post/i);
    expect(page).not.toMatch(/\saction\s*=/i);
    // No submittable control anywhere on the page has a name (so no hidden _csrf either).
    const controls = tags(page).filter((t) => ['input', 'select', 'textarea', 'button'].includes(t.name));
    expect(controls.length).toBeGreaterThan(0);
    for (const control of controls) expect(control.attrs.has('name'), `<${control.name} id=${control.attrs.get('id')}>`).toBe(false);
    // The inputs the scripts read by id are all inside that form.
    const inputs = tags(inner).filter((t) => t.name === 'input').map((t) => t.attrs.get('id'));
    expect(inputs).toEqual(form === 'key-file-form' ? ['key-file-input', 'key-file-password'] : ['activation-code', 'key-file-new-password', 'key-file-new-password-again']);
  });

  it('the message page says what happened and leads back to the login', () => {
    const page = messagePage({ title: 'Locked (spærret)', message: 'Too many wrong attempts.' });
    expect(textOf(page, tags(page).find((tag) => tag.name === 'h1')!)).toBe('Locked (spærret)');
    expect(textOf(page, byId(page, 'error'))).toBe('Too many wrong attempts.');
    expect(byId(page, 'back-to-login').attrs.get('href')).toBe('/login');
  });
});

describe('self-service', () => {
  const page = selfServicePage(selfServiceView());

  it('shows who is signed in and the scope', () => {
    expect(textOf(page, byId(page, 'person-name'))).toBe(EVIL);
    expect(textOf(page, byId(page, 'signed-in-as'))).toContain(EVIL);
    expect(byId(page, 'scope').attrs.get('data-scope')).toBe('full');
    const viewOnly = selfServicePage(selfServiceView({ person: { name: 'Ida', userId: 'ida123', scope: 'view-only', hasPassword: true } }));
    expect(byId(viewOnly, 'scope').attrs.get('data-scope')).toBe('view-only');
    expect(textOf(viewOnly, byId(viewOnly, 'scope'))).toContain('kontokig');
    expect(hasId(viewOnly, 'organisation')).toBe(false);
    expect(hasId(viewOnly, 'admin-link')).toBe(false);
    expect(byId(page, 'organisation').attrs.get('data-cvr')).toBe('12345674');
  });

  it('lists each card with its keys left', () => {
    const rows = tags(page).filter((tag) => tag.name === 'tr' && tag.attrs.has('data-card'));
    expect(rows.map((row) => row.attrs.get('data-card'))).toEqual(['K111-111-111', 'K222-222-222', 'K333-333-333', 'K444-444-444']);
    const keysLeft = rows.map((row) => {
      const cell = tags(page.slice(row.start)).find((tag) => tag.name === 'td' && tag.attrs.get('class') === 'keys-left')!;
      return textOf(page.slice(row.start), cell);
    });
    expect(keysLeft).toEqual(['57', '148', '90', '0']);
  });

  it('offers to block only what can still be used, each form naming its kind and id', () => {
    const blocks = formByAction(page, '/self-service/block').map(({ inner }) => ({
      kind: hiddenValue(inner, 'kind'),
      id: hiddenValue(inner, 'id'),
      button: tags(inner).find((tag) => tag.name === 'button')!,
      text: textOf(inner, tags(inner).find((tag) => tag.name === 'button')!),
    }));
    expect(blocks.map(({ kind, id }) => `${kind}:${id}`).sort()).toEqual(['card:K111-111-111', 'card:K222-222-222', 'key-file:F1', 'token:NV0000001'].sort());
    for (const block of blocks) {
      expect(block.text).toBe('Block (spær)');
      expect(block.button.attrs.get('class')?.split(' ')).toContain('block-button');
      expect(block.button.attrs.get('data-id')).toBe(block.id);
    }
    for (const { tag } of formByAction(page, '/self-service/block')) expect(tag.attrs.get('class')).toBe('block-form');
  });

  it('sets the threshold within 0–147, showing the current one', () => {
    expect(byId(page, 'threshold-form').attrs.get('action')).toBe('/self-service/threshold');
    const threshold = byId(page, 'threshold');
    expect(threshold.attrs.get('name')).toBe('threshold');
    expect(threshold.attrs.get('min')).toBe('0');
    expect(threshold.attrs.get('max')).toBe('147');
    expect(threshold.attrs.get('value')).toBe('20');
  });

  it('changes the password with the current one, and has no password form for a key-file-only person', () => {
    expect(byId(page, 'password-form').attrs.get('action')).toBe('/self-service/password');
    expect(byId(page, 'current-password').attrs.get('name')).toBe('current');
    expect(byId(page, 'current-password').attrs.get('autocomplete')).toBe('current-password');
    expect(byId(page, 'changed-password').attrs.get('name')).toBe('password');
    expect(byId(page, 'changed-password-again').attrs.get('name')).toBe('passwordAgain');
    expect(byId(page, 'changed-password').attrs.get('autocomplete')).toBe('new-password');
    const keyFileOnly = selfServicePage(
      selfServiceView({
        person: { name: 'Jo', userId: null, scope: 'full', organisation: { name: 'Org', cvr: '12345674' }, role: 'employee', hasPassword: false },
        cards: [],
        tokens: [],
      }),
    );
    expect(hasId(keyFileOnly, 'password-form')).toBe(false);
    expect(hasId(keyFileOnly, 'current-password')).toBe(false);
    expect(hasId(keyFileOnly, 'cards')).toBe(false);
    expect(hasId(keyFileOnly, 'threshold-form')).toBe(false);
    expect(byId(keyFileOnly, 'logout-form').attrs.get('action')).toBe('/logout');
  });
});

describe('administration', () => {
  const page = adminPage(adminView(employees));

  /** The actions offered in one employee's row: `block`, `unlock`… from the forms' URLs, with each button's class. */
  function actionsOf(id: string): Map<string, { classes: string[]; inner: string }> {
    const row = tags(page).find((tag) => tag.name === 'tr' && tag.attrs.get('data-person') === id)!;
    expect(row, `row of ${id}`).toBeDefined();
    const rowHtml = page.slice(row.start, page.indexOf('</tr>', row.start));
    const prefix = `/admin/employees/${encodeURIComponent(id)}/`;
    const out = new Map<string, { classes: string[]; inner: string }>();
    for (const { tag, inner } of forms(rowHtml)) {
      const action = tag.attrs.get('action') ?? '';
      expect(action.startsWith(prefix), action).toBe(true);
      const button = tags(inner).find((t) => t.name === 'button')!;
      expect(button.attrs.get('data-id')).toBe(id);
      out.set(action.slice(prefix.length), { classes: (button.attrs.get('class') ?? '').split(' '), inner });
    }
    return out;
  }

  it('issues an employee signature with a card or a key file, as employee or administrator', () => {
    expect(byId(page, 'issue-form').attrs.get('action')).toBe('/admin/employees');
    expect(byId(page, 'employee-name').attrs.get('name')).toBe('name');
    expect(byId(page, 'employee-credential').attrs.get('name')).toBe('credential');
    expect(byId(page, 'employee-role').attrs.get('name')).toBe('role');
    const values = tags(page).filter((tag) => tag.name === 'option').map((tag) => tag.attrs.get('value'));
    expect(values).toEqual(['card', 'key-file', 'employee', 'administrator']);
    expect(textOf(page, byId(page, 'organisation'))).toContain(EVIL);
  });

  it('offers block to an active employee, with re-issue and extra cards', () => {
    const actions = actionsOf('PACTIVE');
    expect([...actions.keys()].sort()).toEqual(['block', 'extra-cards', 'reissue']);
    expect(actions.get('block')!.classes).toContain('block-employee');
    expect(actions.get('reissue')!.classes).toContain('reissue-employee');
    expect(actions.get('extra-cards')!.classes).toContain('extra-cards');
  });

  it('offers no block on the administrator’s own row', () => {
    expect([...actionsOf('PSELF').keys()].sort()).toEqual(['extra-cards', 'reissue']);
  });

  it('offers unlock only to a locked employee and unblock only to a blocked one', () => {
    expect([...actionsOf('PLOCKED').keys()].sort()).toEqual(['block', 'extra-cards', 'reissue', 'unlock']);
    expect(actionsOf('PLOCKED').get('unlock')!.classes).toContain('unlock-employee');
    expect([...actionsOf('PBLOCKED').keys()].sort()).toEqual(['reissue', 'unblock']);
  });

  it("offers as many extra cards as the server allows, and no form when it allows none", () => {
    const count = (id: string) => {
      const inner = actionsOf(id).get('extra-cards')?.inner;
      if (inner === undefined) return undefined;
      const input = tags(inner).find((tag) => tag.name === 'input' && tag.attrs.get('name') === 'count')!;
      return { min: input.attrs.get('min'), max: input.attrs.get('max') };
    };
    for (const employee of employees) {
      expect(count(employee.id), employee.id).toEqual(employee.extraCardsAllowed > 0 ? { min: '1', max: String(employee.extraCardsAllowed) } : undefined);
    }
    expect(count('PACTIVE')).toEqual({ min: '1', max: '3' });
    expect(count('PLOCKED')).toEqual({ min: '1', max: '2' });
    expect(count('PTWOEXTRA')).toEqual({ min: '1', max: '1' });
    expect(count('PTHREEEXTRA')).toBeUndefined();
    expect(count('PKEYFILE')).toBeUndefined();
  });

  it('decides nothing itself: the allowance given is shown as is, whatever the cards look like', () => {
    // Two extra cards issued and one in use, yet the server says 2 more: the page follows the server.
    const row: EmployeeRow = {
      id: 'PSERVER',
      name: 'Hal',
      userId: 'hal',
      role: 'employee',
      state: 'active',
      cards: [card('K800-000-001', 'active', 30), card('K800-000-002', 'issued', 148, true), card('K800-000-003', 'issued', 148, true), card('K800-000-004', 'active', 148, true)],
      keyFiles: [],
      extraCardsAllowed: 2,
    };
    const max = (view: AdminView) => {
      const input = tags(adminPage(view)).find((tag) => tag.name === 'input' && tag.attrs.get('name') === 'count');
      return input?.attrs.get('max');
    };
    expect(max(adminView([row]))).toBe('2');
    expect(max(adminView([{ ...row, extraCardsAllowed: 0 }]))).toBeUndefined();
    expect(max(adminView([{ ...row, cards: [], extraCardsAllowed: 5 }]))).toBe('5');
  });

  it("states the server's extra-card limit in its hint", () => {
    const text = (view: AdminView) => decode(adminPage(view).replace(/<[^>]*>/g, ''));
    expect(text({ ...adminView([]), maxExtraCards: 7 })).toMatch(/at most 7 extra cards/);
    expect(text({ ...adminView([]), maxExtraCards: 2 })).toMatch(/at most 2 extra cards/);
  });

  it('puts an employee id into the form URLs percent-encoded', () => {
    const actions = actionsOf('P<bad>"id');
    expect(actions.has('block')).toBe(true);
    expect(page).not.toContain('/admin/employees/P<bad>');
  });

  it('lists each employee with their credentials', () => {
    const rows = tags(page).filter((tag) => tag.name === 'tr' && tag.attrs.has('data-person'));
    expect(rows.map((row) => row.attrs.get('data-person'))).toEqual(employees.map((employee) => employee.id));
    expect(page).toContain('data-card="K600-000-003"');
    expect(page).toContain('data-key-file="F9"');
  });
});

// ---------------------------------------------------------------------------------------------
// The browser scripts, with key-file.js (another module) replaced: their own flow is what is tested.

vi.mock('./assets/key-file.js', () => ({
  readKeyFile: () => {
    throw new Error('the real key-file module is not used here');
  },
  signChallenge: () => Promise.reject(new Error('the real key-file module is not used here')),
  createKeyFile: () => Promise.reject(new Error('the real key-file module is not used here')),
}));

interface Sent {
  readonly url: string;
  readonly method: string | undefined;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

function recordingFetch(answers: readonly { status: number; body: unknown }[]) {
  const sent: Sent[] = [];
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    sent.push({ url, method: init.method, headers: init.headers as Record<string, string>, body: JSON.parse(String(init.body)) });
    const answer = answers[sent.length - 1];
    if (!answer) throw new Error(`unexpected request ${sent.length} to ${url}`);
    return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'content-type': 'application/json' } });
  };
  return { sent, fetch };
}

interface LoginScript {
  logInWithKeyFile(
    input: { fileText: string; password: string; challenge: string; csrf: string },
    effects: {
      readKeyFile: (fileText: string) => { personId: string };
      signChallenge: (fileText: string, password: string, challenge: string) => Promise<string>;
      fetch: (url: string, init: RequestInit) => Promise<Response>;
    },
  ): Promise<string>;
}

interface ActivateScript {
  activateKeyFile(
    input: { activationCode: string; password: string; passwordAgain: string; csrf: string },
    effects: {
      createKeyFile: (input: { personId: string; label: string; password: string }) => Promise<{ fileText: string; publicKey: string }>;
      fetch: (url: string, init: RequestInit) => Promise<Response>;
      offerDownload: (fileText: string, fileName: string) => void;
    },
  ): Promise<{ next: string; fileName: string }>;
  keyFileName(label: string): string;
}

// Imported through a variable: the scripts are plain browser JavaScript without type declarations.
const loginScriptPath = './assets/key-file-login.js';
const activateScriptPath = './assets/activate.js';

describe('key-file-login.js', () => {
  const fileText = '{"format":"noegleviser-key-file/1"}';
  const keyFile = (signature: string) => ({
    readKeyFile: (text: string) => {
      expect(text).toBe(fileText);
      return { personId: 'P123' };
    },
    signChallenge: async (text: string, password: string, challenge: string) => {
      if (password !== 'right password') throw new Error('wrong key-file password');
      return `${signature}:${text.length}:${challenge}`;
    },
  });

  it('sends only the person id and the signature of the challenge, with the CSRF header, and goes where it is told', async () => {
    const script = (await import(/* @vite-ignore */ loginScriptPath)) as LoginScript;
    const { sent, fetch } = recordingFetch([{ status: 200, body: { next: '/self-service' } }]);
    const next = await script.logInWithKeyFile({ fileText, password: 'right password', challenge: 'CH1', csrf: 'tok' }, { ...keyFile('sig'), fetch });
    expect(next).toBe('/self-service');
    expect(sent).toEqual([
      { url: '/login/key-file', method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': 'tok' }, body: { personId: 'P123', signature: `sig:${fileText.length}:CH1` } },
    ]);
  });

  it('sends nothing when the key-file password is wrong', async () => {
    const script = (await import(/* @vite-ignore */ loginScriptPath)) as LoginScript;
    const { sent, fetch } = recordingFetch([]);
    await expect(script.logInWithKeyFile({ fileText, password: 'guess', challenge: 'CH1', csrf: 'tok' }, { ...keyFile('sig'), fetch })).rejects.toThrow(
      'wrong key-file password',
    );
    expect(sent).toEqual([]);
  });

  it("shows the service's coded error message", async () => {
    const script = (await import(/* @vite-ignore */ loginScriptPath)) as LoginScript;
    const { fetch } = recordingFetch([{ status: 401, body: { error: { code: 'NV_LOGIN_FAILED', message: 'the key file was not accepted' } } }]);
    await expect(script.logInWithKeyFile({ fileText, password: 'right password', challenge: 'CH1', csrf: 'tok' }, { ...keyFile('sig'), fetch })).rejects.toThrow(
      'the key file was not accepted',
    );
  });
});

describe('activate.js', () => {
  const made = { fileText: '{"privateKey":"sealed"}', publicKey: 'PUBLIC-KEY-B64URL' };

  it('checks the code, makes the key, offers the file, then sends only the public key', async () => {
    const script = (await import(/* @vite-ignore */ activateScriptPath)) as ActivateScript;
    const { sent, fetch } = recordingFetch([
      { status: 200, body: { personId: 'P77', label: 'Anna Berg' } },
      { status: 200, body: { next: '/login/key-file' } },
    ]);
    const events: string[] = [];
    const created: { personId: string; label: string; password: string }[] = [];
    const result = await script.activateKeyFile(
      { activationCode: 'ACT-1', password: 'sekret-123', passwordAgain: 'sekret-123', csrf: 'tok' },
      {
        fetch: (url, init) => (events.push(`fetch ${url}`), fetch(url, init)),
        createKeyFile: async (input) => (events.push('create'), created.push(input), made),
        offerDownload: (fileText, fileName) => events.push(`download ${fileName} ${fileText}`),
      },
    );
    expect(events).toEqual(['fetch /activate/begin', 'create', `download nøglefil-Anna-Berg.nvkey ${made.fileText}`, 'fetch /activate/complete']);
    expect(created).toEqual([{ personId: 'P77', label: 'Anna Berg', password: 'sekret-123' }]);
    expect(sent.map((request) => request.body)).toEqual([{ activationCode: 'ACT-1' }, { activationCode: 'ACT-1', publicKey: made.publicKey }]);
    for (const request of sent) {
      expect(request.method).toBe('POST');
      expect(request.headers['x-csrf-token']).toBe('tok');
      expect(JSON.stringify(request.body)).not.toContain('sekret-123');
      expect(JSON.stringify(request.body)).not.toContain('sealed');
    }
    expect(result).toEqual({ next: '/login/key-file', fileName: 'nøglefil-Anna-Berg.nvkey' });
  });

  it('sends nothing when the passwords differ or are too short', async () => {
    const script = (await import(/* @vite-ignore */ activateScriptPath)) as ActivateScript;
    const { sent, fetch } = recordingFetch([]);
    const effects = { fetch, createKeyFile: async () => made, offerDownload: () => undefined };
    await expect(script.activateKeyFile({ activationCode: 'A', password: 'sekret-123', passwordAgain: 'sekret-124', csrf: 't' }, effects)).rejects.toThrow(/differ/);
    await expect(script.activateKeyFile({ activationCode: 'A', password: 'short1', passwordAgain: 'short1', csrf: 't' }, effects)).rejects.toThrow(/at least 8/);
    expect(sent).toEqual([]);
  });

  it('stops at a refused activation code, making no key', async () => {
    const script = (await import(/* @vite-ignore */ activateScriptPath)) as ActivateScript;
    const { sent, fetch } = recordingFetch([{ status: 404, body: { error: { code: 'NV_BAD_ACTIVATION', message: 'unknown or expired activation code' } } }]);
    let createdKeys = 0;
    await expect(
      script.activateKeyFile(
        { activationCode: 'nope', password: 'sekret-123', passwordAgain: 'sekret-123', csrf: 't' },
        { fetch, createKeyFile: async () => (createdKeys++, made), offerDownload: () => undefined },
      ),
    ).rejects.toThrow('unknown or expired activation code');
    expect(createdKeys).toBe(0);
    expect(sent).toHaveLength(1);
  });

  it('names the field at fault in its refusal, for the page to mark and focus', async () => {
    const script = (await import(/* @vite-ignore */ activateScriptPath)) as ActivateScript;
    const effects = (fetch: (url: string, init: RequestInit) => Promise<Response>) => ({ fetch, createKeyFile: async () => made, offerDownload: () => undefined });
    const fieldOf = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: { field?: string }) => error.field ?? 'none');
    const none = recordingFetch([]).fetch;
    expect(await fieldOf(script.activateKeyFile({ activationCode: '', password: 'sekret-123', passwordAgain: 'sekret-123', csrf: 't' }, effects(none)))).toBe('activation-code');
    expect(await fieldOf(script.activateKeyFile({ activationCode: 'A', password: 'short1', passwordAgain: 'short1', csrf: 't' }, effects(none)))).toBe('password');
    expect(await fieldOf(script.activateKeyFile({ activationCode: 'A', password: 'sekret-123', passwordAgain: 'sekret-124', csrf: 't' }, effects(none)))).toBe('password-again');
    const refused = recordingFetch([{ status: 404, body: { error: { code: 'NV_BAD_ACTIVATION', message: 'This activation code is unknown, used or expired' } } }]).fetch;
    expect(await fieldOf(script.activateKeyFile({ activationCode: 'nope', password: 'sekret-123', passwordAgain: 'sekret-123', csrf: 't' }, effects(refused)))).toBe('activation-code');
  });

  it('makes a safe download name from any label', async () => {
    const script = (await import(/* @vite-ignore */ activateScriptPath)) as ActivateScript;
    expect(script.keyFileName('Søren Ærø')).toBe('nøglefil-Søren-Ærø.nvkey');
    const name = script.keyFileName('../../etc/passwd <x>');
    expect(name).not.toMatch(/[/\\<> ]/);
    expect(name.startsWith('nøglefil-')).toBe(true);
    expect(name.endsWith('.nvkey')).toBe(true);
  });
});

describe('focus, errors tied to their fields, rules text (WCAG)', () => {
  it('puts the focus on the first field of each login step, and nowhere else', () => {
    expect(autofocused(loginPage({ csrf: 't' }))).toEqual(['user-id']);
    expect(autofocused(cardStepPage({ csrf: 't', cardSerial: 'K1', number: '1234', otherCards: ['K2'] }))).toEqual(['key']);
    expect(autofocused(tokenStepPage({ csrf: 't', tokenSerial: 'NV1' }))).toEqual(['code']);
    expect(autofocused(temporaryPasswordStepPage({ csrf: 't', lostToken: 'NV1', validUntil: '2030-01-01T00:00:00Z' }))).toEqual(['temporary-password']);
    expect(autofocused(chooseCredentialsPage({ csrf: 't', name: 'Anna' }))).toEqual(['new-user-id']);
    expect(autofocused(keyFileLoginPage({ csrf: 't', challenge: 'c' }))).toEqual(['key-file-input']);
    expect(autofocused(activatePage({ csrf: 't' }))).toEqual(['activation-code']);
  });

  it('ties a step\'s error to its field: invalid, described by the error (and its rules), focused', () => {
    const card = cardStepPage({ csrf: 't', cardSerial: 'K1', number: '1234', otherCards: [], error: 'The key is wrong.' });
    expect(invalid(card)).toEqual(['key']);
    expect(describedBy(card, 'key')).toEqual(['error', 'key-rules']);
    expect(byId(card, 'error').attrs.get('role')).toBe('alert');
    expect(autofocused(card)).toEqual(['key']);
    expect(invalid(cardStepPage({ csrf: 't', cardSerial: 'K1', number: '1234', otherCards: [] }))).toEqual([]);
    const token = tokenStepPage({ csrf: 't', tokenSerial: 'NV1', error: 'The code is wrong.' });
    expect([invalid(token), describedBy(token, 'code')]).toEqual([['code'], ['error', 'code-rules']]);
    const temporary = temporaryPasswordStepPage({ csrf: 't', lostToken: 'NV1', validUntil: 'x', error: 'wrong' });
    expect([invalid(temporary), describedBy(temporary, 'temporary-password')]).toEqual([['temporary-password'], ['error', 'temporary-password-rules']]);
    const login = loginPage({ csrf: 't', error: 'The user-id or password is wrong' });
    expect(invalid(login)).toEqual(['user-id', 'password']);
    expect(describedBy(login, 'password')).toEqual(['error']);
    expect(autofocused(login)).toEqual(['user-id']);
  });

  it('first login: the rules text stands before its field, which it describes; no browser bubble (novalidate); the error goes to the field it is about', () => {
    const page = chooseCredentialsPage({ csrf: 't', name: 'Anna' });
    expect(byId(page, 'choose-form').attrs.has('novalidate')).toBe(true);
    for (const [field, rules] of [['new-user-id', 'user-id-rules'], ['new-password', 'password-rules'], ['new-password-again', 'password-again-rules']] as const) {
      expect(describedBy(page, field)).toEqual([rules]);
      expect(byId(page, rules).start, `#${rules} comes before #${field}`).toBeLessThan(byId(page, field).start);
    }
    const cases: [string, string][] = [
      ['NV_BAD_USER_ID', 'new-user-id'],
      ['NV_USER_ID_TAKEN', 'new-user-id'],
      ['NV_WEAK_PASSWORD', 'new-password'],
      ['NV_PASSWORDS_DIFFER', 'new-password-again'],
    ];
    for (const [code, field] of cases) {
      const refused = chooseCredentialsPage({ csrf: 't', name: 'Anna', error: 'no', errorCode: code });
      expect([code, invalid(refused), autofocused(refused)]).toEqual([code, [field], [field]]);
      expect(describedBy(refused, field)[0]).toBe('error');
    }
    const other = chooseCredentialsPage({ csrf: 't', name: 'Anna', error: 'no', errorCode: 'NV_CONFLICT' });
    expect([invalid(other), autofocused(other)], 'an error of no field: the focus goes to the error').toEqual([[], ['error']]);
    expect(byId(other, 'error').attrs.get('tabindex')).toBe('-1');
  });

  it('self-service: the failed form\'s field gets the error and the focus; a notice takes the focus after a change', () => {
    const base = { notice: undefined, error: 'no' };
    const cases: [Partial<SelfServiceView>, string][] = [
      [{ errorForm: 'threshold', errorCode: 'NV_BAD_FIELD' }, 'threshold'],
      [{ errorForm: 'password', errorCode: 'NV_WRONG_PASSWORD' }, 'current-password'],
      [{ errorForm: 'password', errorCode: 'NV_WEAK_PASSWORD' }, 'changed-password'],
      [{ errorForm: 'password', errorCode: 'NV_PASSWORDS_DIFFER' }, 'changed-password-again'],
      [{ errorForm: 'blocked', errorCode: 'NV_NOT_FOUND' }, 'error'],
    ];
    for (const [overrides, focused] of cases) {
      const page = selfServicePage(selfServiceView({ ...base, ...overrides }));
      expect(autofocused(page), JSON.stringify(overrides)).toEqual([focused]);
      expect(invalid(page)).toEqual(focused === 'error' ? [] : [focused]);
      if (focused !== 'error') expect(describedBy(page, focused)[0]).toBe('error');
    }
    const done = selfServicePage(selfServiceView({ error: undefined, notice: 'Blocked.' }));
    expect(autofocused(done)).toEqual(['notice']);
    expect(byId(done, 'notice').attrs.get('role')).toBe('status');
    const plain = selfServicePage(selfServiceView({ error: undefined, notice: undefined }));
    expect(autofocused(plain)).toEqual([]);
    expect(byId(plain, 'password-form').attrs.has('novalidate')).toBe(true);
    expect(describedBy(plain, 'changed-password')).toEqual(['changed-password-rules']);
    expect(describedBy(plain, 'threshold')).toEqual(['threshold-rules']);
  });

  it('administration: a refused issue marks the name; another refusal focuses the error; a notice takes the focus', () => {
    const view = adminView(employees);
    const issue = adminPage({ ...view, notice: undefined, errorForm: 'issued' });
    expect([invalid(issue), autofocused(issue), describedBy(issue, 'employee-name')]).toEqual([['employee-name'], ['employee-name'], ['error', 'employee-name-rules']]);
    const action = adminPage({ ...view, notice: undefined, errorForm: 'employee-blocked' });
    expect([invalid(action), autofocused(action)]).toEqual([[], ['error']]);
    expect(autofocused(adminPage({ ...view, error: undefined }))).toEqual(['notice']);
  });

  it('the question of a confirmation and the message of a stop page take the focus', () => {
    const confirm = confirmPage({ csrf: 't', name: 'A', question: 'Block?', consequence: 'c', action: '/x', fields: {}, confirmLabel: 'Yes', back: '/self-service' });
    expect(autofocused(confirm)).toEqual(['confirm-question']);
    expect(byId(confirm, 'confirm-question').attrs.get('tabindex')).toBe('-1');
    expect(autofocused(messagePage({ title: 'Stopped', message: 'Locked' }))).toEqual(['error']);
  });

  it('the key-file forms leave checking to their scripts (novalidate)', () => {
    expect(byId(keyFileLoginPage({ csrf: 't', challenge: 'c' }), 'key-file-form').attrs.has('novalidate')).toBe(true);
    expect(byId(activatePage({ csrf: 't' }), 'activate-form').attrs.has('novalidate')).toBe(true);
  });
});
