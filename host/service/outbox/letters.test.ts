/**
 * The letters: what a person needs is on the page where tests and people find it (the temporary
 * password, the activation code, each card key by its number), the card is attached as a PDF whose
 * pages really hold its keys (inflated here with node:zlib), and nothing interpolated is raw HTML.
 */
import { randomInt } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CardPair } from '../code-card.ts';
import { employeeCardLetter, employeeWelcomeLetter, keyFileActivationLetter, newCardLetter, welcomeLetter, type LetterCard } from './letters.ts';

function testCard(serial = 'K123-456-789'): LetterCard {
  const numbers = new Set<string>();
  const keys = new Set<string>();
  while (numbers.size < 148) numbers.add(String(randomInt(10_000)).padStart(4, '0'));
  while (keys.size < 148) keys.add(String(randomInt(1_000_000)).padStart(6, '0'));
  const k = [...keys];
  const pairs: CardPair[] = [...numbers].map((number, i) => ({ number, key: k[i]! }));
  return { serial, pairs };
}

/** The text of a `data-secret` element, read the way a test or the lab page would. */
function secret(html: string, name: string): string | undefined {
  return new RegExp(`data-secret="${name}">([^<]*)<`).exec(html)?.[1];
}

/** The key a page shows beside a number. */
function keyFor(html: string, number: string): string[] {
  return [...html.matchAll(new RegExp(`data-number="${number}">([^<]*)<`, 'g'))].map((m) => m[1]!);
}

/** All text strings in a (compressed) pdfkit file's content streams, joined per TJ run. */
function pdfStrings(pdf: Uint8Array): string[] {
  const source = Buffer.from(pdf);
  const strings: string[] = [];
  let at = 0;
  for (;;) {
    // `stream` after a dictionary, not the tail of an `endstream`.
    const start = source.indexOf('>>\nstream\n', at) + '>>\n'.length;
    if (start < '>>\n'.length) break;
    const end = source.indexOf('\nendstream', start);
    if (end < 0) break;
    const dictionary = source.subarray(source.lastIndexOf('<<', start), start).toString('latin1');
    const data = source.subarray(start + 'stream\n'.length, end);
    at = end + 1;
    if (!dictionary.includes('/FlateDecode')) continue;
    let content: string;
    try {
      content = inflateSync(data).toString('latin1');
    } catch {
      continue; // a font or image stream, not a page
    }
    for (const run of content.matchAll(/\[([^\]]*)\] TJ/g)) {
      strings.push([...run[1]!.matchAll(/<([0-9a-f]*)>/g)].map((m) => Buffer.from(m[1]!, 'hex').toString('latin1')).join(''));
    }
  }
  return strings;
}

function expectCardOnPage(html: string, card: LetterCard): void {
  for (const { number, key } of card.pairs) expect(keyFor(html, number)).toEqual([key]);
}

function expectCardPdf(attachment: { name: string; contentType: string; bytes: Uint8Array } | undefined, card: LetterCard): void {
  expect(attachment?.name).toBe(`card-${card.serial}.pdf`);
  expect(attachment?.contentType).toBe('application/pdf');
  const bytes = attachment!.bytes;
  expect(Buffer.from(bytes.subarray(0, 5)).toString('latin1')).toBe('%PDF-');
  const strings = pdfStrings(bytes);
  for (const { number, key } of card.pairs) {
    expect(strings).toContain(number);
    expect(strings).toContain(key);
  }
}

describe('welcomeLetter', () => {
  it('with a code card: the temporary password, the NemID number, the card inline and as a PDF', () => {
    const card = testCard();
    const letter = welcomeLetter({ recipient: 'Anna Hansen', nemIdNumber: 'PABCDEFGHJKLM', temporaryPassword: 'Xk7pQ2mZr9', card, scope: 'full' });
    expect(letter.kind).toBe('welcome');
    expect(letter.recipient).toBe('Anna Hansen');
    expect(letter.html.startsWith('<!doctype html>')).toBe(true);
    expect(secret(letter.html, 'temporary-password')).toBe('Xk7pQ2mZr9');
    expect(letter.html).toContain('data-field="nemid-number">PABCDEFGHJKLM<');
    expect(letter.html).toContain('midlertidig adgangskode');
    expect(letter.html).toContain('href="/login"');
    expectCardOnPage(letter.html, card);
    expect(letter.attachments).toHaveLength(1);
    expectCardPdf(letter.attachments[0], card);
  });

  it('with a code token: its serial, and no card', () => {
    const letter = welcomeLetter({ recipient: 'Bo Jensen', nemIdNumber: 'P1', temporaryPassword: 'Ab3dEf7hJk', token: { serial: 'NV00001234' }, scope: 'full' });
    expect(letter.html).toContain('data-token-serial="NV00001234">NV00001234<');
    expect(letter.html).toContain('nøgleviser');
    expect(letter.html).not.toContain('data-number=');
    expect(letter.attachments).toEqual([]);
    expect(secret(letter.html, 'temporary-password')).toBe('Ab3dEf7hJk');
  });

  it('with a code token speaks of the token throughout, never of a card', () => {
    const letter = welcomeLetter({ recipient: 'Bo Jensen', nemIdNumber: 'P1', temporaryPassword: 'Ab3dEf7hJk', token: { serial: 'NV00001234' }, scope: 'full' });
    const text = letter.html.replace(/<style>[\s\S]*?<\/style>/, '').replace(/<[^>]*>/g, ' ');
    expect(text).not.toMatch(/card|nøglekort/i);
    expect(text).toMatch(/If your code token is lost, block it/);
  });

  it('says what each scope allows', () => {
    const make = (scope: 'full' | 'view-only' | 'bank-only') =>
      welcomeLetter({ recipient: 'X', nemIdNumber: 'P1', temporaryPassword: 'Ab3dEf7hJk', token: { serial: 'T1' }, scope }).html;
    expect(make('view-only')).toContain('kontokig');
    expect(make('full')).not.toContain('kontokig');
    expect(make('bank-only')).toContain('bank only');
    expect(make('full')).not.toContain('bank only');
  });

  it('refuses a letter with neither or both of a card and a token', () => {
    const base = { recipient: 'X', nemIdNumber: 'P1', temporaryPassword: 'Ab3dEf7hJk', scope: 'full' as const };
    expect(() => welcomeLetter(base)).toThrow(expect.objectContaining({ code: 'NV_BAD_LETTER' }));
    expect(() => welcomeLetter({ ...base, card: testCard(), token: { serial: 'T1' } })).toThrow(expect.objectContaining({ code: 'NV_BAD_LETTER' }));
  });

  it('escapes the name, the password and the serials', () => {
    const letter = welcomeLetter({ recipient: '<script>x</script>', nemIdNumber: 'P<b>', temporaryPassword: 'a<i>b"c', card: testCard('K<1>'), scope: 'full' });
    expect(letter.html).not.toMatch(/<script>|<b>|<i>|<1>/);
    expect(letter.html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(secret(letter.html, 'temporary-password')).toBe('a&lt;i&gt;b&quot;c');
  });
});

describe('newCardLetter', () => {
  it.each([
    ['threshold', 'new-card'],
    ['extra', 'extra-card'],
    ['reissue', 'reissue'],
  ] as const)('for %s is a %s letter with the card inline and attached', (reason, kind) => {
    const card = testCard('K999-888-777');
    const letter = newCardLetter({ recipient: 'Anna Hansen', card, reason });
    expect(letter.kind).toBe(kind);
    expectCardOnPage(letter.html, card);
    expectCardPdf(letter.attachments[0], card);
    expect(letter.html).not.toContain('data-secret=');
  });

  it('marks an employee card Erhverv, and only that', () => {
    const card = testCard();
    expect(newCardLetter({ recipient: 'A', card, reason: 'extra', employee: true }).html).toContain('>Erhverv<');
    expect(newCardLetter({ recipient: 'A', card, reason: 'extra' }).html).not.toContain('>Erhverv<');
  });
});

describe('an employee’s letters', () => {
  const organisation = { name: 'Hansen & <Søn> ApS', cvr: '10103940' };

  it('the welcome letter names the organisation and carries the temporary password, and no card', () => {
    const letter = employeeWelcomeLetter({ recipient: 'Carl Nielsen', nemIdNumber: 'PXYZ', organisation, temporaryPassword: 'Pq4rSt8uVw', cardSerial: 'K123-456-789' });
    expect(letter.kind).toBe('employee-welcome');
    expect(secret(letter.html, 'temporary-password')).toBe('Pq4rSt8uVw');
    expect(letter.html).toContain('Hansen &amp; &lt;Søn&gt; ApS (CVR 10103940)');
    expect(letter.html).not.toContain('<Søn>');
    expect(letter.html).toContain('medarbejdersignatur');
    expect(letter.html, 'it says the card comes separately').toMatch(/K123-456-789<\/strong> comes in a separate letter/);
    expect(letter.html).not.toContain('data-number=');
    expect(letter.attachments).toEqual([]);
  });

  it('the card comes in a letter of its own, with no NemID number or password: an Erhverv card, inline and as a PDF', () => {
    const card = testCard();
    const letter = employeeCardLetter({ recipient: 'Carl Nielsen', organisation, card });
    expect(letter.kind).toBe('employee-card');
    expect(letter.html).not.toContain('data-secret=');
    expect(letter.html).not.toContain('data-field="nemid-number"');
    expect(letter.html).toContain('>Erhverv<');
    expect(letter.html).toContain('Hansen &amp; &lt;Søn&gt; ApS (CVR 10103940)');
    expectCardOnPage(letter.html, card);
    expectCardPdf(letter.attachments[0], card);
    expect(Buffer.from(letter.attachments[0]!.bytes).toString('latin1')).toContain('/FlateDecode');
  });
});

describe('keyFileActivationLetter', () => {
  it('carries the activation code and when it stops working, and no attachment', () => {
    const expiresAt = Date.UTC(2025, 11, 3, 14, 5);
    const letter = keyFileActivationLetter({ recipient: 'Dorte Madsen', organisation: { name: 'Firma A/S', cvr: '10103940' }, activationCode: 'ABCD-EFGH-JKLM', expiresAt: new Date(expiresAt).toISOString() });
    expect(letter.kind).toBe('key-file-activation');
    expect(secret(letter.html, 'activation-code')).toBe('ABCD-EFGH-JKLM');
    expect(letter.html).toContain('data-field="expires-at">2025-12-03 14:05 UTC<');
    expect(letter.html).toContain('href="/activate"');
    expect(letter.html).toContain('nøglefil');
    expect(letter.html).not.toContain('data-secret="temporary-password"');
    expect(letter.attachments).toEqual([]);
    expect(keyFileActivationLetter({ recipient: 'D', organisation: { name: 'F', cvr: '1' }, activationCode: 'C', expiresAt }).html).toContain('2025-12-03 14:05 UTC');
  });

  it('escapes the organisation and the code', () => {
    const letter = keyFileActivationLetter({ recipient: 'D', organisation: { name: '<img src=x>', cvr: '1' }, activationCode: '<b>', expiresAt: 0 });
    expect(letter.html).not.toMatch(/<img|<b>/);
    expect(secret(letter.html, 'activation-code')).toBe('&lt;b&gt;');
  });
});
