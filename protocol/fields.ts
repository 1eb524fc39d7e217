/**
 * Typed fields: each message's `key=value` pairs described once by a schema, so that the token's
 * parser and the host's encoder (and the reverse for replies) can never disagree.
 */
import { bytesToHex, hexToBytes } from './bytes.ts';
import type { Fields } from './message.ts';

/** A field's value to and from its text. Its functions never use `this`: `optional` copies them. */
export interface Codec<V> {
  readonly encode: (value: V) => string;
  /** undefined when the text is not a valid value. */
  readonly decode: (text: string) => V | undefined;
}

/**
 * A field of a schema is its codec, marked `optional` when the field may be absent. There is no
 * object per field: a schema names shared codecs, because the firmware keeps every object in RAM.
 */
export interface FieldSpec<V> extends Codec<V> {
  readonly optional?: true;
}

/** One spec per property of T; the property name is the wire key. */
export type Schema<T> = { readonly [K in keyof T]-?: FieldSpec<Exclude<T[K], undefined>> };

/** The same codec for a field that may be absent. */
export const optional = <V>(codec: Codec<V>): FieldSpec<V> => ({ encode: codec.encode, decode: codec.decode, optional: true });

/**
 * The codecs' encoders are shared functions, not a closure per codec: the firmware builds its
 * schemas at start-up, and an engine like QuickJS keeps every closure in RAM.
 */
const asText = <T extends string>(value: T): T => value;

export const uint = (min = 0, max = Number.MAX_SAFE_INTEGER): Codec<number> => ({
  encode: String,
  decode: (text) => {
    if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) return undefined;
    const value = Number(text);
    return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
  },
});

export const bool: Codec<boolean> = {
  encode: (value) => (value ? '1' : '0'),
  decode: (text) => (text === '1' ? true : text === '0' ? false : undefined),
};

/** A short identifier of at most `maxLength` characters: model names, serial numbers, versions. */
export const wordOf = (maxLength: number): Codec<string> => {
  const pattern = new RegExp(`^[A-Za-z0-9._:+-]{1,${maxLength}}$`);
  return {
    encode: asText,
    decode: (text) => (pattern.test(text) ? text : undefined),
  };
};

export const word: Codec<string> = wordOf(32);

/** A string of decimal digits of a given length range, kept as text (leading zeros matter in codes). */
export const digitString = (minLength: number, maxLength: number): Codec<string> => ({
  encode: asText,
  decode: (text) =>
    text.length >= minLength && text.length <= maxLength && /^[0-9]+$/.test(text) ? text : undefined,
});

export const hexBytes = (minBytes: number, maxBytes: number): Codec<Uint8Array> => ({
  encode: bytesToHex,
  decode: (text) => {
    const bytes = hexToBytes(text);
    return bytes && bytes.length >= minBytes && bytes.length <= maxBytes ? bytes : undefined;
  },
});

export const oneOf = <T extends string>(values: readonly T[]): Codec<T> => ({
  encode: asText,
  decode: (text) => (values as readonly string[]).includes(text) ? (text as T) : undefined,
});

export function encodeFields<T>(schema: Schema<T>, value: T): Fields {
  const fields: Record<string, string> = {};
  for (const key of Object.keys(schema) as (keyof T & string)[]) {
    const v = value[key];
    if (v === undefined) {
      if (!schema[key].optional) throw new RangeError(`field "${key}" is required`);
      continue;
    }
    fields[key] = schema[key].encode(v as Exclude<T[typeof key], undefined>);
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
      if (!schema[key].optional) return { ok: false, key };
      continue;
    }
    const v = schema[key].decode(text);
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
