/**
 * The validation server's token API under /v1: what each route takes (its params, query and body,
 * unknown fields refused) and what it answers, as schemas, with the types derived from them.
 * Administrative routes need the admin key, verify and resync the client key.
 */
import { ERROR_ANSWERS } from './errors.ts';
import type { FromSchema } from './schema.ts';

// ---- the parts ----

const serial = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,32}$' } as const;
/** An owner as given: a NemID number or a user-id of the login service, or any name on a server without one. */
export const ownerSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f]+$' } as const;
/** Query strings arrive as text: whole numbers are checked as digits and converted by the route. */
export const wholeText = { type: 'string', pattern: '^[0-9]{1,9}$' } as const;
/** A code or temporary password: its exact form is checked against the token. */
const code = { type: 'string', minLength: 1, maxLength: 64 } as const;
const count = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

const TOKEN_KINDS = ['hotp', 'totp'] as const;
const ALGORITHMS = ['sha1', 'sha256', 'sha512'] as const;
export const TOKEN_STATES = ['active', 'disabled', 'locked', 'lost', 'revoked'] as const;

// ---- what the server answers ----

/** A token as the API shows it: everything but the seed. HOTP tokens have `counter`; TOTP tokens `period`, `lastStep` and `driftSteps`. */
export const tokenViewSchema = {
  type: 'object',
  properties: {
    serial: { type: 'string' },
    kind: { type: 'string', enum: TOKEN_KINDS },
    algorithm: { type: 'string', enum: ALGORITHMS },
    digits: { type: 'integer' },
    period: { type: 'integer' },
    counter: { type: 'integer' },
    lastStep: { type: 'integer' },
    driftSteps: { type: 'integer' },
    state: { type: 'string', enum: TOKEN_STATES },
    failCount: { type: 'integer' },
    owner: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    lastUsedAt: { type: ['string', 'null'] },
    /** When its seed last left in an export file: another verifier may accept its codes too. */
    exportedAt: { type: 'string' },
  },
  required: ['serial', 'kind', 'algorithm', 'digits', 'state', 'failCount', 'owner', 'createdAt', 'updatedAt', 'lastUsedAt'],
  additionalProperties: false,
} as const;
export type TokenView = FromSchema<typeof tokenViewSchema>;
export type TokenState = TokenView['state'];

const tokenAnswer = { type: 'object', properties: { token: tokenViewSchema }, required: ['token'], additionalProperties: false } as const;

/** Why a code was refused. */
export const REJECT_REASONS = ['wrong_code', 'replayed', 'out_of_window', 'locked', 'disabled', 'lost', 'revoked', 'expired'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/**
 * In the answers that are one of several shapes (`anyOf`), a branch is picked by validating the
 * answer against it: its objects do not say `additionalProperties: false`, so that a field no
 * branch lists is left out of the answer (as everywhere else) rather than failing the request.
 */
export const verifyOutcomeSchema = {
  anyOf: [
    {
      type: 'object',
      properties: { result: { type: 'string', const: 'accepted' }, serial: { type: 'string' }, counter: { type: 'integer' }, step: { type: 'integer' } },
      required: ['result', 'serial'],
    },
    {
      type: 'object',
      properties: {
        result: { type: 'string', const: 'rejected' },
        serial: { type: 'string' },
        reason: { type: 'string', enum: REJECT_REASONS },
        failCount: { type: 'integer' },
        locked: { type: 'boolean' },
        /** What to do next, when something can be done: resync a token beyond the window, unlock a locked one. */
        hint: { type: 'string' },
      },
      required: ['result', 'serial', 'reason', 'failCount', 'locked'],
    },
  ],
} as const;
export type VerifyOutcome = FromSchema<typeof verifyOutcomeSchema>;

export const resyncOutcomeSchema = {
  anyOf: [
    {
      type: 'object',
      properties: {
        result: { type: 'string', const: 'resynced' },
        serial: { type: 'string' },
        counter: { type: 'integer' },
        lastStep: { type: 'integer' },
        driftSteps: { type: 'integer' },
        unlocked: { type: 'boolean' },
      },
      required: ['result', 'serial', 'unlocked'],
    },
    {
      type: 'object',
      properties: {
        result: { type: 'string', const: 'rejected' },
        serial: { type: 'string' },
        reason: { type: 'string', const: 'no_consecutive_codes' },
        failCount: { type: 'integer' },
      },
      required: ['result', 'serial', 'reason', 'failCount'],
    },
  ],
} as const;
export type ResyncOutcome = FromSchema<typeof resyncOutcomeSchema>;

/** A lost token's temporary replacement as issued: its password, shown this once. */
export const replacementSchema = {
  type: 'object',
  properties: { serial: { type: 'string' }, password: { type: 'string' }, validUntil: { type: 'string' } },
  required: ['serial', 'password', 'validUntil'],
  additionalProperties: false,
} as const;
export type Replacement = FromSchema<typeof replacementSchema>;

// ---- what each route takes ----

const serialParams = { type: 'object', properties: { serial }, required: ['serial'], additionalProperties: false } as const;
/** The actions that only change a token's state, each `POST /v1/tokens/:serial/<action>` with an empty body. */
export const STATE_ACTIONS = ['disable', 'enable', 'unlock', 'revoke'] as const;
export type StateAction = (typeof STATE_ACTIONS)[number];

const emptyBody = { anyOf: [{ type: 'object', additionalProperties: false }, { type: 'null' }] } as const;

export const enrollBodySchema = {
  type: 'object',
  properties: {
    serial,
    kind: { type: 'string', enum: TOKEN_KINDS },
    algorithm: { type: 'string', enum: ALGORITHMS },
    digits: { type: 'integer', minimum: 6, maximum: 8 },
    period: { type: 'integer', minimum: 1, maximum: 3600 },
    counter: count,
    /** Hex; sent once, in the request body, and never logged. */
    seed: { type: 'string', pattern: '^([0-9a-fA-F]{2}){1,64}$' },
    owner: { anyOf: [ownerSchema, { type: 'null' }] },
    /** Enrol a seed under RECOMMENDED_MIN_SECRET_BYTES anyway (the CLI's --allow-short-seed). */
    allowShortSeed: { type: 'boolean' },
  },
  required: ['serial', 'kind', 'seed'],
  additionalProperties: false,
} as const;
export type EnrollRequest = FromSchema<typeof enrollBodySchema>;

export const tokenListQuerySchema = {
  type: 'object',
  properties: { owner: ownerSchema, state: { type: 'string', enum: TOKEN_STATES }, limit: wholeText, offset: wholeText },
  additionalProperties: false,
} as const;
export type TokenListQuery = FromSchema<typeof tokenListQuerySchema>;

export const lostBodySchema = {
  anyOf: [
    {
      type: 'object',
      properties: { replacement: { type: 'boolean' }, validDays: { type: 'integer', minimum: 1, maximum: 90 } },
      additionalProperties: false,
    },
    { type: 'null' },
  ],
} as const;
export type LostRequest = FromSchema<typeof lostBodySchema>;

export const assignBodySchema = {
  type: 'object',
  properties: { owner: { anyOf: [ownerSchema, { type: 'null' }] } },
  required: ['owner'],
  additionalProperties: false,
} as const;

export const counterBodySchema = { type: 'object', properties: { counter: count }, required: ['counter'], additionalProperties: false } as const;

export const verifyBodySchema = {
  type: 'object',
  properties: { serial, user: ownerSchema, code },
  required: ['code'],
  additionalProperties: false,
} as const;
export type VerifyRequest = FromSchema<typeof verifyBodySchema>;

export const resyncBodySchema = {
  type: 'object',
  properties: { serial, codes: { type: 'array', items: code, minItems: 2, maxItems: 2 } },
  required: ['serial', 'codes'],
  additionalProperties: false,
} as const;
export type ResyncRequest = FromSchema<typeof resyncBodySchema>;

const lostAnswer = {
  type: 'object',
  properties: { token: tokenViewSchema, replacement: replacementSchema },
  required: ['token'],
  additionalProperties: false,
} as const;
export type LostAnswer = FromSchema<typeof lostAnswer>;

const counterAnswer = {
  type: 'object',
  properties: { token: tokenViewSchema, moved: { type: 'boolean' } },
  required: ['token', 'moved'],
  additionalProperties: false,
} as const;
export type CounterAnswer = FromSchema<typeof counterAnswer>;

const tokenListAnswer = { type: 'object', properties: { tokens: { type: 'array', items: tokenViewSchema } }, required: ['tokens'], additionalProperties: false } as const;

/** The token routes' schemas, as fastify takes them. */
export const tokenRoutes = {
  enroll: { body: enrollBodySchema, response: { 201: tokenAnswer, ...ERROR_ANSWERS } },
  list: { querystring: tokenListQuerySchema, response: { 200: tokenListAnswer, ...ERROR_ANSWERS } },
  get: { params: serialParams, response: { 200: tokenAnswer, ...ERROR_ANSWERS } },
  delete: { params: serialParams, response: { 204: { type: 'null' }, ...ERROR_ANSWERS } },
  changeState: { params: serialParams, body: emptyBody, response: { 200: tokenAnswer, ...ERROR_ANSWERS } },
  lost: { params: serialParams, body: lostBodySchema, response: { 200: lostAnswer, ...ERROR_ANSWERS } },
  assign: { params: serialParams, body: assignBodySchema, response: { 200: tokenAnswer, ...ERROR_ANSWERS } },
  counter: { params: serialParams, body: counterBodySchema, response: { 200: counterAnswer, ...ERROR_ANSWERS } },
  resetDrift: { params: serialParams, body: emptyBody, response: { 200: tokenAnswer, ...ERROR_ANSWERS } },
  verify: { body: verifyBodySchema, response: { 200: verifyOutcomeSchema, ...ERROR_ANSWERS } },
  resync: { body: resyncBodySchema, response: { 200: resyncOutcomeSchema, ...ERROR_ANSWERS } },
} as const;

/** `GET /health`: open, no key; answers once the store answers. */
export const healthRoute = {
  response: { 200: { type: 'object', properties: { status: { type: 'string', const: 'ok' } }, required: ['status'], additionalProperties: false }, ...ERROR_ANSWERS },
} as const;
