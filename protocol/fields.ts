/**
 * Typed fields: each message's `key=value` pairs described once by a schema, so that the token's
 * parser and the host's encoder (and the reverse for replies) can never disagree.
 *
 * A codec is a short descriptor string, not an object with functions: the firmware keeps every
 * object and function it builds in RAM, and a schema names dozens of codecs. One encoder and one
 * decoder read the descriptor, words separated by spaces:
 *
 *   uint MIN MAX       a decimal integer MIN..MAX, no sign, no leading zero
 *   bool               1 or 0
 *   word MIN MAX       MIN..MAX characters of letters, digits and . _ : + -
 *   digits MIN MAX     MIN..MAX decimal digits, kept as text (leading zeros matter in codes)
 *   hex MIN MAX        MIN..MAX bytes as hex digits, two a byte (any case in, lower case out)
 *   oneOf A B ...      exactly one of the listed words
 *
 * and `? ` before any of them marks a field that may be absent. Build them with the functions
 * below (uint, wordOf, optional…), which carry the value's type; they run once, at start-up.
 */
import type { Fields } from './message.ts';

declare const VALUE: unique symbol;

/** A field's value to and from its text: a descriptor string typed by the value it reads. */
export type Codec<V> = string & { readonly [VALUE]?: V };

/** A field of a schema: its codec, which says whether the field may be absent. */
export type FieldSpec<V> = Codec<V>;

/** One spec per property of T; the property name is the wire key. */
export type Schema<T> = { readonly [K in keyof T]-?: FieldSpec<Exclude<T[K], undefined>> };

/** The same codec for a field that may be absent. */
export const optional = <V>(codec: Codec<V>): FieldSpec<V> => `? ${codec}`;

export const uint = (min = 0, max = Number.MAX_SAFE_INTEGER): Codec<number> => `uint ${min} ${max}`;

export const bool: Codec<boolean> = 'bool';

/** A short identifier of at most `maxLength` characters: model names, serial numbers, versions. */
export const wordOf = (maxLength: number): Codec<string> => `word 1 ${maxLength}`;

export const word: Codec<string> = wordOf(32);

/** A string of decimal digits of a given length range, kept as text (leading zeros matter in codes). */
export const digitString = (minLength: number, maxLength: number): Codec<string> => `digits ${minLength} ${maxLength}`;

export const hexBytes = (minBytes: number, maxBytes: number): Codec<Uint8Array> => `hex ${minBytes} ${maxBytes}`;

/** One of `values`, words without spaces. */
export const oneOf = <T extends string>(values: readonly T[]): Codec<T> => `oneOf ${values.join(' ')}`;

/**
 * The characters of a value, each kind's a prefix: digits the first 10, hex the first 22 (a hex
 * digit's value is its index, less 6 for A-F), a word all of them.
 */
const CHARACTERS = '0123456789abcdefABCDEFghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ._:+-';

/** undefined when `text` is not a valid value of `codec`. */
export function decodeValue<V>(codec: Codec<V>, text: string): V | undefined {
  const words = codec.split(' ');
  const at = words[0] === '?' ? 1 : 0;
  const min = Number(words[at + 1]);
  const max = Number(words[at + 2]);
  let value: unknown;
  switch (words[at]) {
    case 'uint': {
      // Its own decimal text: no sign, no leading zero, no exponent, no blank (a safe integer has
      // at most 16 digits) — a comparison rather than a regular expression, which the firmware
      // keeps loaded as its text and its compiled program.
      value = Number(text);
      if (String(value) !== text || !Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) value = undefined;
      break;
    }
    case 'bool':
      value = text === '1' ? true : text === '0' ? false : undefined;
      break;
    case 'word':
    case 'digits':
    case 'hex': {
      // One loop over the characters, each looked up in CHARACTERS, rather than regular
      // expressions, which the firmware keeps loaded, each as its text and its compiled program.
      // Hex is two digits a byte, read as they are checked (bytes.ts's hexToBytes is this codec).
      const hex = words[at] === 'hex';
      const length = hex ? text.length / 2 : text.length;
      // A word or digits has at least one character; hex a whole number of bytes.
      if (length < min || length > max || length % 1 || (!hex && !length)) break;
      const bytes = new Uint8Array(hex ? length : 0);
      const allowed = hex ? 22 : words[at] === 'digits' ? 10 : CHARACTERS.length;
      value = hex ? bytes : text;
      for (let i = 0, c; i < text.length; i++) {
        c = CHARACTERS.indexOf(text[i]!) >>> 0; // not found: above every allowed index
        if (c >= allowed) {
          value = undefined;
          break;
        }
        if (hex) bytes[i >> 1] = (bytes[i >> 1]! << 4) | (c < 16 ? c : c - 6);
      }
      break;
    }
    case 'oneOf':
      // The values are the words after the kind; a text equal to the kind itself is not one of them.
      if (words.indexOf(text, at + 1) > at) value = text;
      break;
  }
  return value as V | undefined;
}

/** A value's text by its codec (encodeFields for a single value). */
export function encodeValue<V>(codec: Codec<V>, value: V): string {
  return encodeFields({ value: codec as Codec<Exclude<V, undefined>> }, { value }).value!;
}

export function encodeFields<T>(schema: Schema<T>, value: T): Fields {
  const fields: Record<string, string> = {};
  for (const key of Object.keys(schema) as (keyof T & string)[]) {
    const words = (schema[key] as string).split(' ');
    const v: unknown = value[key];
    if (v === undefined) {
      if (words[0] !== '?') throw new RangeError(`field "${key}" is required`);
      continue;
    }
    let text: string;
    switch (words[words[0] === '?' ? 1 : 0]) {
      case 'uint':
        text = String(v);
        break;
      case 'bool':
        text = v ? '1' : '0';
        break;
      case 'hex':
        // Lower case, two digits a byte. bytes.ts's bytesToHex is this codec, not a function of its own.
        text = '';
        for (const b of v as Uint8Array) text += b.toString(16).padStart(2, '0');
        break;
      default:
        // word, digits, oneOf: the value is its text.
        text = v as string;
    }
    fields[key] = text;
  }
  return fields;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; key: string };

/**
 * Decodes fields by a schema. `strict` refuses keys the schema does not name (a token receiving a
 * request); without it unknown keys are ignored (a host reading a reply from a newer firmware).
 */
export function decodeFields<T>(schema: Schema<T>, fields: Fields, strict: boolean): DecodeResult<T> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(schema) as (keyof T & string)[]) {
    const text = fields[key];
    if (text === undefined) {
      if (!schema[key].startsWith('? ')) return { ok: false, key };
      continue;
    }
    const v = decodeValue(schema[key], text);
    if (v === undefined) return { ok: false, key };
    out[key] = v;
  }
  if (strict) {
    for (const key of Object.keys(fields)) {
      if (!Object.prototype.hasOwnProperty.call(schema, key)) return { ok: false, key };
    }
  }
  return { ok: true, value: out as T };
}
