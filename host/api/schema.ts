/**
 * The API's JSON schemas are its one source: each is written once, `as const`, and its TypeScript
 * type is derived from it here, so the server's validation and serialisation and the clients'
 * types cannot drift apart. Only the part of JSON Schema the API uses is understood: `type` (a name, or
 * a list of names), `enum`, `const`, `anyOf`, objects with `properties`, `required` and
 * `additionalProperties` (false, or a schema for a map), and arrays of `items` (a pair when
 * `minItems` and `maxItems` are both 2).
 */

/** The part of JSON Schema the API writes its schemas in. */
export type JsonSchema = { readonly [keyword: string]: unknown };

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type FromType<S> = S extends { readonly type: readonly (infer T)[] }
  ? T extends unknown
    ? FromType<{ readonly type: T }>
    : never
  : S extends { readonly type: 'string' }
  ? string
  : S extends { readonly type: 'integer' | 'number' }
    ? number
    : S extends { readonly type: 'boolean' }
      ? boolean
      : S extends { readonly type: 'null' }
        ? null
        : S extends { readonly type: 'array'; readonly items: infer I }
          ? S extends { readonly minItems: 2; readonly maxItems: 2 }
            ? readonly [FromSchema<I>, FromSchema<I>]
            : readonly FromSchema<I>[]
          : S extends { readonly type: 'object' }
            ? FromObject<S>
            : unknown;

type RequiredOf<S> = S extends { readonly required: readonly (infer K)[] } ? K : never;

type FromObject<S> = S extends { readonly properties: infer P }
  ? Simplify<
      { readonly [K in keyof P as K extends RequiredOf<S> ? K : never]: FromSchema<P[K]> } & {
        readonly [K in keyof P as K extends RequiredOf<S> ? never : K]?: FromSchema<P[K]>;
      }
    >
  : S extends { readonly additionalProperties: infer V extends JsonSchema }
    ? Readonly<Record<string, FromSchema<V>>>
    : Record<string, never>;

/** The TypeScript type of the values a schema admits (read-only: a value of the contract is sent or read, not changed). */
export type FromSchema<S> = S extends { readonly anyOf: readonly (infer Branch)[] }
  ? Branch extends unknown
    ? FromSchema<Branch>
    : never
  : S extends { readonly enum: readonly (infer E)[] }
    ? E
    : S extends { readonly const: infer C }
      ? C
      : FromType<S>;

/** A schema as fastify takes a route's: what each part of the request must be, and what each answer is. */
export interface RouteSchema {
  readonly params?: JsonSchema;
  readonly querystring?: JsonSchema;
  readonly body?: JsonSchema;
  /** By status code, or by class (`4xx`, `5xx`): an answer is written by its schema, and nothing it does not list goes out. */
  readonly response: Readonly<Record<string, JsonSchema>>;
}
