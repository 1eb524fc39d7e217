/** The message layer: bodies encode and decode both ways, and every malformed body is refused with a named reason. */
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.ts';
import { decodeMessage, encodeMessage, errorResponse, MAX_REQUEST_ID, UNATTRIBUTED_ID, type Message } from './message.ts';
import { MAX_BODY_BYTES } from './version.ts';
import { uniform } from '../test/support/random.ts';

const SEED = 0x3e55a6e;
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const KEY_TAIL = LOWER + '0123456789_';
const NAME_TAIL = KEY_TAIL + '-';
/** Every character a value may hold: printable ASCII except space and '*'. */
const VALUE_CHARS = Array.from({ length: 0x7f - 0x21 }, (_, i) => String.fromCharCode(0x21 + i)).filter((c) => c !== '*').join('');

function pick(random: () => number, chars: string): string {
  return chars[Math.floor(random() * chars.length)]!;
}

function randomWord(random: () => number, first: string, tail: string, maxLength: number): string {
  let word = pick(random, first);
  const length = Math.floor(random() * maxLength);
  for (let i = 0; i < length; i++) word += pick(random, tail);
  return word;
}

/** Random fields that fit, together with a head of `headLength` characters, in one body. */
function randomFields(random: () => number, headLength: number): Record<string, string> {
  const fields: Record<string, string> = {};
  let length = headLength;
  const count = Math.floor(random() * 8);
  for (let i = 0; i < count; i++) {
    const key = randomWord(random, LOWER, KEY_TAIL, 16);
    const valueLength = 1 + Math.floor(random() * (random() < 0.2 ? 200 : 20));
    let value = '';
    for (let j = 0; j < valueLength; j++) value += pick(random, VALUE_CHARS);
    if (key in fields || length + 2 + key.length + value.length > MAX_BODY_BYTES) continue;
    fields[key] = value;
    length += 2 + key.length + value.length;
  }
  return fields;
}

function expectBadFrame(body: string, detail: string): void {
  let thrown: unknown;
  try {
    decodeMessage(body);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `decodeMessage(${JSON.stringify(body)}) should throw`).toBeInstanceOf(ProtocolError);
  expect({ body, code: (thrown as ProtocolError).code, detail: (thrown as ProtocolError).detail }).toEqual({ body, code: 'bad_frame', detail });
}

describe('encodeMessage', () => {
  it('writes the documented wire forms', () => {
    expect(encodeMessage({ kind: 'request', id: 1, name: 'hello', fields: { proto: '1' } })).toBe('>1 hello proto=1');
    expect(encodeMessage({ kind: 'request', id: 65535, name: 'info', fields: {} })).toBe('>65535 info');
    expect(encodeMessage({ kind: 'response', id: 7, ok: true, fields: { clock: '123', push: '0' } })).toBe('<7 ok clock=123 push=0');
    expect(encodeMessage({ kind: 'response', id: 0, ok: false, fields: { code: 'bad_crc' } })).toBe('<0 err code=bad_crc');
    expect(encodeMessage({ kind: 'event', seq: 42, name: 'press', fields: { code: '755224', counter: '0' } })).toBe('!42 press code=755224 counter=0');
  });

  it('accepts a body of exactly MAX_BODY_BYTES and refuses one byte more', () => {
    const head = '>1 x';
    // body = head + ' v=' + 200 chars + ' w=' + the rest (a value holds at most 200 characters)
    const fieldsAt = (total: number): Record<string, string> => ({ v: 'a'.repeat(200), w: 'b'.repeat(total - head.length - 3 - 200 - 3) });
    const exact = encodeMessage({ kind: 'request', id: 1, name: 'x', fields: fieldsAt(MAX_BODY_BYTES) });
    expect(exact.length).toBe(MAX_BODY_BYTES);
    expect(decodeMessage(exact).kind).toBe('request');
    expect(() => encodeMessage({ kind: 'request', id: 1, name: 'x', fields: fieldsAt(MAX_BODY_BYTES + 1) })).toThrow(RangeError);
    expect(() => encodeMessage({ kind: 'event', seq: 1, name: 'x', fields: fieldsAt(MAX_BODY_BYTES + 1) })).toThrow(RangeError);
    expect(() => encodeMessage({ kind: 'response', id: 1, ok: true, fields: { v: 'a'.repeat(200), w: 'b'.repeat(100) } })).toThrow(RangeError);
    expect(MAX_BODY_BYTES).toBe(256 - 1 - 9);
  });

  it.each([
    ['upper-case key', { Key: 'v' }],
    ['key starting with a digit', { '1k': 'v' }],
    ['key starting with _', { _k: 'v' }],
    ['empty key', { '': 'v' }],
    ['key of 17 characters', { ['k'.repeat(17)]: 'v' }],
    ['key with a hyphen', { 'a-b': 'v' }],
    ['empty value', { k: '' }],
    ['value with a space', { k: 'a b' }],
    ['value with *', { k: 'a*b' }],
    ['value with a newline', { k: 'a\nb' }],
    ['value with a tab', { k: 'a\tb' }],
    ['value with DEL', { k: 'a\x7fb' }],
    ['value with a non-ASCII char', { k: 'blå' }],
    ['value of 201 characters', { k: 'v'.repeat(201) }],
  ])('refuses a field that cannot be encoded: %s', (_what, fields) => {
    expect(() => encodeMessage({ kind: 'request', id: 1, name: 'x', fields })).toThrow(RangeError);
    expect(() => encodeMessage({ kind: 'response', id: 1, ok: true, fields })).toThrow(RangeError);
  });

  it('accepts the extremes of what a field may be', () => {
    const key = 'k' + 'z9_'.repeat(5); // 16 characters
    expect(key.length).toBe(16);
    const body = encodeMessage({ kind: 'request', id: 1, name: 'x', fields: { [key]: '~'.repeat(200) } });
    expect(decodeMessage(body)).toEqual({ kind: 'request', id: 1, name: 'x', fields: { [key]: '~'.repeat(200) } });
    expect(decodeMessage(encodeMessage({ kind: 'request', id: 1, name: 'x', fields: { k: VALUE_CHARS.slice(0, 93) } })).kind).toBe('request');
  });
});

describe('round trips', () => {
  const random = uniform(SEED);
  const cases: Message[] = [];
  for (let i = 0; i < 3000; i++) {
    const kind = i % 4;
    if (kind === 0) {
      const id = 1 + Math.floor(random() * MAX_REQUEST_ID);
      const name = randomWord(random, LOWER, NAME_TAIL, 16);
      cases.push({ kind: 'request', id, name, fields: randomFields(random, `>${id} ${name}`.length) });
    } else if (kind === 1 || kind === 2) {
      const id = Math.floor(random() * (MAX_REQUEST_ID + 1));
      const ok = kind === 1;
      cases.push({ kind: 'response', id, ok, fields: randomFields(random, `<${id} ${ok ? 'ok' : 'err'}`.length) });
    } else {
      const seq = Math.floor(random() * 0x1_0000_0000);
      const name = randomWord(random, LOWER, NAME_TAIL, 16);
      cases.push({ kind: 'event', seq, name, fields: randomFields(random, `!${seq} ${name}`.length) });
    }
  }
  cases.push({ kind: 'request', id: 1, name: 'a', fields: {} });
  cases.push({ kind: 'request', id: MAX_REQUEST_ID, name: 'a'.repeat(16), fields: {} });
  cases.push({ kind: 'response', id: 0, ok: false, fields: { code: 'bad_frame', detail: 'id' } });
  cases.push({ kind: 'response', id: MAX_REQUEST_ID, ok: true, fields: {} });
  cases.push({ kind: 'event', seq: 0, name: 'boot', fields: { serial: '40000001' } });

  it(`decodes what it encodes, for ${cases.length} random requests, responses and events (seed ${SEED.toString(16)})`, () => {
    let fieldCount = 0;
    for (const message of cases) {
      const body = encodeMessage(message);
      expect(body.length).toBeLessThanOrEqual(MAX_BODY_BYTES);
      expect(body).toMatch(/^[\x20-\x7e]*$/);
      expect(body).not.toContain('*');
      const sigil = { request: '>', response: '<', event: '!' }[message.kind];
      expect(body.startsWith(sigil)).toBe(true);
      const decoded = decodeMessage(body);
      expect(decoded).toEqual(message);
      // field order survives, so re-encoding gives the same text
      expect(Object.keys(decoded.fields)).toEqual(Object.keys(message.fields));
      expect(encodeMessage(decoded)).toBe(body);
      // the body is the head then ` key=value` for each field, nothing else
      const expectedTail = Object.entries(message.fields).map(([k, v]) => ` ${k}=${v}`).join('');
      expect(body.endsWith(expectedTail)).toBe(true);
      fieldCount += Object.keys(message.fields).length;
    }
    expect(fieldCount).toBeGreaterThan(cases.length); // the generator really made fields
  });
});

describe('decodeMessage refuses malformed bodies with bad_frame and a named part', () => {
  it.each([
    ['?1 hello'],
    ['#1 hello'],
    ['=1 hello'],
    ['}1 hello k=v'],
    ['a1 hello'],
  ])('a bad sigil: %j → kind', (body) => expectBadFrame(body, 'kind'));

  it.each([
    ['>0 hello'], // request IDs start at 1
    ['>65536 hello'],
    ['>99999 hello'],
    ['>4294967296 hello'],
    ['<65536 ok'],
  ])('a request or response ID out of range: %j → id', (body) => expectBadFrame(body, 'id'));

  it.each([
    ['>a hello'],
    ['>1a hello'],
    ['>-1 hello'],
    ['>+1 hello'],
    ['>1.0 hello'],
    ['>1e3 hello'],
    ['>0x10 hello'],
    ['> 1 hello'],
    ['>'],
    [''],
    ['<x ok'],
    ['!-3 press'],
    ['>12345678901 hello'],
    ['!4294967296 press'],
    ['!9999999999 press'],
  ])('a non-decimal, missing or out-of-range ID: %j → id', (body) => expectBadFrame(body, 'id'));

  it.each([['>01 hello'], ['>00 hello'], ['>0001 hello'], ['<00 ok'], ['<01 ok'], ['!007 press']])(
    'an ID with leading zeros: %j → id',
    (body) => expectBadFrame(body, 'id'),
  );

  it.each([
    ['>1'],
    ['>1 '],
    ['>1 Hello'],
    ['>1 HELLO'],
    ['>1 1hello'],
    ['>1 _hello'],
    ['>1 -hello'],
    ['>1 hel*lo'],
    ['>1 hel.lo'],
    ['>1 ' + 'a'.repeat(17)],
    ['>1 k=v'],
    ['<1 yes'],
    ['<1 OK'],
    ['<1 okay'],
    ['<1 hello'],
    ['<1'],
    ['!1 Press'],
  ])('a bad or missing name: %j → name', (body) => expectBadFrame(body, 'name'));

  it.each([
    ['>1 hello proto'],
    ['>1 hello =1'],
    ['>1 hello proto='],
    ['>1 hello proto=1 proto=1'],
    ['>1 hello proto=1 proto=2'],
    ['>1 hello k=a b'],
    ['>1 hello k=a*b'],
    ['>1 hello k=*'],
    ['>1 hello K=v'],
    ['>1 hello 1k=v'],
    ['>1 hello _k=v'],
    ['>1 hello k-k=v'],
    ['>1 hello ' + 'k'.repeat(17) + '=v'],
    ['>1 hello k=' + 'v'.repeat(201)],
    ['>1 hello k=v\tw'],
    ['>1 hello k=blå'],
    ['>1 hello  k=v'], // two spaces: an empty word
    ['>1 hello k=v '], // a trailing space
    ['<1 ok clock'],
    ['<1 err code=bad_crc code=bad_crc'],
    ['!1 press code='],
  ])('a bad field: %j → field', (body) => expectBadFrame(body, 'field'));

  it('accepts the ID bounds and a 16-character name', () => {
    expect(decodeMessage('>1 a')).toEqual({ kind: 'request', id: 1, name: 'a', fields: {} });
    expect(decodeMessage('>65535 a')).toEqual({ kind: 'request', id: 65535, name: 'a', fields: {} });
    expect(decodeMessage('<0 ok')).toEqual({ kind: 'response', id: UNATTRIBUTED_ID, ok: true, fields: {} });
    expect(decodeMessage('<65535 err code=busy')).toEqual({ kind: 'response', id: 65535, ok: false, fields: { code: 'busy' } });
    expect(decodeMessage('!0 boot serial=1')).toEqual({ kind: 'event', seq: 0, name: 'boot', fields: { serial: '1' } });
    expect(decodeMessage('!4294967295 x')).toEqual({ kind: 'event', seq: 4294967295, name: 'x', fields: {} });
    const name16 = 'a0_-b1_-c2_-d3_-';
    expect(decodeMessage(`>9 ${name16}`)).toEqual({ kind: 'request', id: 9, name: name16, fields: {} });
  });

  it('keeps `=` inside a value and splits at the first one', () => {
    expect(decodeMessage('>1 x k=a=b')).toEqual({ kind: 'request', id: 1, name: 'x', fields: { k: 'a=b' } });
  });

  it('does not let a key named like an Object property through as a duplicate or a prototype write', () => {
    const decoded = decodeMessage('>1 x constructor=1 tostring=2');
    expect(decoded.fields).toEqual({ constructor: '1', tostring: '2' });
    expect(Object.getPrototypeOf(decoded.fields)).toBe(Object.prototype);
    expectBadFrame('>1 x constructor=1 constructor=2', 'field');
  });

  it('never throws anything but ProtocolError(bad_frame) on random printable junk', () => {
    const random = uniform(SEED + 1);
    const alphabet = ' >>>!<=ok err abcz019*_-=' + VALUE_CHARS;
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let body = '';
      const length = Math.floor(random() * 40);
      for (let j = 0; j < length; j++) body += pick(random, alphabet);
      try {
        const message = decodeMessage(body);
        accepted++;
        // whatever is accepted encodes back to the very same body
        expect(encodeMessage(message)).toBe(body);
      } catch (error) {
        expect(error, JSON.stringify(body)).toBeInstanceOf(ProtocolError);
        expect((error as ProtocolError).code).toBe('bad_frame');
        expect(['kind', 'id', 'name', 'field']).toContain((error as ProtocolError).detail);
      }
    }
    expect(accepted).toBeLessThan(20_000);
  });
});

describe('errorResponse', () => {
  it('builds an err response with a code and an optional detail', () => {
    expect(errorResponse(12, 'bad_argument', 'at')).toEqual({ kind: 'response', id: 12, ok: false, fields: { code: 'bad_argument', detail: 'at' } });
    expect(errorResponse(0, 'too_long')).toEqual({ kind: 'response', id: 0, ok: false, fields: { code: 'too_long' } });
    expect(encodeMessage(errorResponse(3, 'bad_frame', 'field'))).toBe('<3 err code=bad_frame detail=field');
  });
});

describe('encodeMessage refuses heads its own decoder would refuse', () => {
  it.each([
    { kind: 'request', id: 0, name: 'hello', fields: {} },
    { kind: 'request', id: 70_000, name: 'hello', fields: {} },
    { kind: 'request', id: 1.5, name: 'hello', fields: {} },
    { kind: 'request', id: 1, name: 'Hello World', fields: {} },
    { kind: 'response', id: -1, ok: true, fields: {} },
    { kind: 'event', seq: -1, name: 'press', fields: {} },
    { kind: 'event', seq: 1, name: '', fields: {} },
  ] as const)('%j', (message) => {
    expect(() => encodeMessage(message as Message)).toThrow(RangeError);
  });
});
