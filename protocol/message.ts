/**
 * The message layer: what every framing carries. A message body is one line of printable ASCII:
 *
 *   request   >ID NAME key=value ...        ID 1..65535, chosen by the host
 *   response  <ID ok key=value ...           ID echoes the request; 0 when the request's ID was unreadable
 *             <ID err code=NAME [detail=WORD]
 *   event     !SEQ NAME key=value ...       pushed by the token, SEQ counts up from boot
 *
 * Framings (text lines, HID reports) add their own integrity check and bounds around this body.
 */
import { ProtocolError, type TokenErrorCode } from './errors.ts';
import { decodeValue, uint } from './fields.ts';
import { MAX_BODY_BYTES } from './version.ts';

export type Fields = Readonly<Record<string, string>>;

export type Message =
  | { readonly kind: 'request'; readonly id: number; readonly name: string; readonly fields: Fields }
  | { readonly kind: 'response'; readonly id: number; readonly ok: boolean; readonly fields: Fields }
  | { readonly kind: 'event'; readonly seq: number; readonly name: string; readonly fields: Fields };

export const MAX_REQUEST_ID = 0xffff;
/** Event sequence numbers count 0..MAX_EVENT_SEQ from boot, then start again at 0. */
export const MAX_EVENT_SEQ = 0xffffffff;
/** The ID a token answers with when it could not read the request's own. */
export const UNATTRIBUTED_ID = 0;

/** The longest command, event or field name. */
export const MAX_NAME_LENGTH = 16;
/** The longest field value. */
export const MAX_VALUE_LENGTH = 200;

// A field's key is a NAME without `-`; its value 1..MAX_VALUE_LENGTH characters of PRINTABLE
// without space and `*` (which the line framing reserves). Both are tested so, not by regular
// expressions of their own: the firmware keeps each loaded, text and compiled program.
const NAME = new RegExp(`^[a-z][a-z0-9_-]{0,${MAX_NAME_LENGTH - 1}}$`);
// A message's number and a request's id, read by fields.ts's uint codec (no sign, no leading zero)
// rather than by regular expressions, which the firmware keeps loaded, text and compiled program.
const NUMBER = uint(0, MAX_EVENT_SEQ);
const REQUEST_ID = uint(0, MAX_REQUEST_ID);

/** Printable ASCII, space included: what a body (and a whole line) may hold. */
export const PRINTABLE = /^[ -~]*$/;

export function encodeMessage(message: Message): string {
  const number = message.kind === 'event' ? message.seq : message.id;
  // Requests count from 1, responses from 0 (UNATTRIBUTED_ID); both up to MAX_REQUEST_ID.
  if (!Number.isInteger(number) || number < (message.kind === 'request' ? 1 : 0) || number > (message.kind === 'event' ? MAX_EVENT_SEQ : MAX_REQUEST_ID)) {
    throw new RangeError(`a ${message.kind} cannot carry the number ${number}`);
  }
  if (message.kind !== 'response' && !NAME.test(message.name)) throw new RangeError(`"${message.name}" is not a message name`);
  let body =
    message.kind === 'request' ? `>${number} ${message.name}` : message.kind === 'response' ? `<${number} ${message.ok ? 'ok' : 'err'}` : `!${number} ${message.name}`;
  for (const key of Object.keys(message.fields)) {
    const value = message.fields[key]!;
    if (!NAME.test(key) || key.indexOf('-') >= 0 || !(value.length > 0 && value.length <= MAX_VALUE_LENGTH && PRINTABLE.test(value) && value.indexOf(' ') < 0 && value.indexOf('*') < 0)) throw new RangeError(`field "${key}" cannot be encoded`);
    body += ` ${key}=${value}`;
  }
  if (body.length > MAX_BODY_BYTES) throw new RangeError(`message body of ${body.length} bytes exceeds ${MAX_BODY_BYTES}`);
  return body;
}

/** Parses a body that no framing has checked yet (HID carries bytes): length and charset first. */
export function decodeMessageText(body: string): Message {
  if (body.length > MAX_BODY_BYTES) throw new ProtocolError('too_long');
  if (!PRINTABLE.test(body)) throw new ProtocolError('bad_frame', 'charset');
  return decodeMessage(body);
}

/** Parses a body; throws ProtocolError('bad_frame', detail) naming the part that is wrong. */
export function decodeMessage(body: string): Message {
  const words = body.split(' ');
  const id = decodeValue(NUMBER, words[0]!.slice(1));
  if (id === undefined) throw new ProtocolError('bad_frame', 'id');
  const name = words[1];
  if (name === undefined || !NAME.test(name)) throw new ProtocolError('bad_frame', 'name');
  const fields: Record<string, string> = {};
  for (let i = 2; i < words.length; i++) {
    const word = words[i]!;
    const eq = word.indexOf('=');
    const key = word.slice(0, eq);
    const value = word.slice(eq + 1);
    if (eq <= 0 || !NAME.test(key) || key.indexOf('-') >= 0 || !(value.length > 0 && value.length <= MAX_VALUE_LENGTH && PRINTABLE.test(value) && value.indexOf(' ') < 0 && value.indexOf('*') < 0) || Object.prototype.hasOwnProperty.call(fields, key)) {
      throw new ProtocolError('bad_frame', 'field');
    }
    fields[key] = value;
  }
  switch (body[0]) {
    case '>':
      if (id < 1 || id > MAX_REQUEST_ID) throw new ProtocolError('bad_frame', 'id');
      return { kind: 'request', id, name, fields };
    case '<':
      if (id > MAX_REQUEST_ID) throw new ProtocolError('bad_frame', 'id');
      if (name !== 'ok' && name !== 'err') throw new ProtocolError('bad_frame', 'name');
      return { kind: 'response', id, ok: name === 'ok', fields };
    case '!':
      if (id > MAX_EVENT_SEQ) throw new ProtocolError('bad_frame', 'id');
      return { kind: 'event', seq: id, name, fields };
    default:
      throw new ProtocolError('bad_frame', 'kind');
  }
}

/**
 * The ID to answer a body with that passed its framing's check but did not parse: the request's
 * own when the body starts with `>`, a valid request ID and a space or its end; otherwise 0.
 */
export function readableRequestId(body: string): number {
  // The number after `>`, up to the first space or the end (0 itself is UNATTRIBUTED_ID).
  const end = body.indexOf(' ');
  return (body[0] === '>' && decodeValue(REQUEST_ID, body.slice(1, end < 0 ? body.length : end))) || UNATTRIBUTED_ID;
}

export function errorResponse(id: number, code: TokenErrorCode, detail?: string): Message {
  return { kind: 'response', id, ok: false, fields: detail ? { code, detail } : { code } };
}
