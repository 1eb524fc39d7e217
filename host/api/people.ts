/**
 * The login service's operator API under /v1 (support, with the admin key): ordering people and
 * organisations, extra cards, block, unblock, unlock, re-issue. What each route takes (unknown
 * fields refused, as on the token routes) and answers, as schemas with their types.
 */
import { ERROR_ANSWERS } from './errors.ts';
import type { FromSchema } from './schema.ts';

/** At most this many extra code cards alive at a time, as the seed says (the service's default policy). */
export const MAX_EXTRA_CARDS = 3;

/** Free text of an order (a name, a CPR number): its form is the service's to check, with its own codes. */
const text = { type: 'string', maxLength: 200 } as const;
const nullableText = { type: ['string', 'null'] } as const;

// ---- what the service answers ----

/** A person as the operator API shows them: never a hash, a key or a password. */
export const personViewSchema = {
  type: 'object',
  properties: {
    nemIdNumber: { type: 'string' },
    userId: nullableText,
    name: { type: 'string' },
    scope: { type: 'string', enum: ['full', 'view-only', 'bank-only'] },
    state: { type: 'string', enum: ['pending', 'active', 'locked', 'blocked'] },
    organisationId: nullableText,
    role: { anyOf: [{ type: 'string', enum: ['employee', 'administrator'] }, { type: 'null' }] },
    failCount: { type: 'integer' },
    cardThreshold: { type: 'integer' },
    createdAt: { type: 'string' },
    lastLoginAt: nullableText,
  },
  required: ['nemIdNumber', 'userId', 'name', 'scope', 'state', 'organisationId', 'role', 'failCount', 'cardThreshold', 'createdAt', 'lastLoginAt'],
  additionalProperties: false,
} as const;
export type PersonView = FromSchema<typeof personViewSchema>;

/** An organisation as the API shows it: its time in ISO 8601, like every other view. */
export const organisationViewSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, cvr: { type: 'string' }, name: { type: 'string' }, createdAt: { type: 'string' } },
  required: ['id', 'cvr', 'name', 'createdAt'],
  additionalProperties: false,
} as const;
export type OrganisationView = FromSchema<typeof organisationViewSchema>;

// ---- what each route takes ----

const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 64 } }, required: ['id'], additionalProperties: false } as const;
const emptyBody = { anyOf: [{ type: 'object', additionalProperties: false }, { type: 'null' }] } as const;

/** Ordering a NemID: a CPR number or (without one) a birth date, and a code card (the default) or an enrolled token. */
export const personOrderSchema = {
  type: 'object',
  properties: {
    name: text,
    cpr: text,
    /** YYYY-MM-DD, for an order without a CPR number. */
    birthDate: text,
    credential: { type: 'string', enum: ['card', 'token'] },
    /** The enrolled token, with `"credential": "token"`. */
    tokenSerial: text,
  },
  required: ['name'],
  // A token credential names its token.
  if: { properties: { credential: { const: 'token' } }, required: ['credential'] },
  then: { required: ['tokenSerial'] },
  additionalProperties: false,
} as const;
export type PersonOrder = FromSchema<typeof personOrderSchema>;

export const extraCardsSchema = {
  anyOf: [{ type: 'object', properties: { count: { type: 'integer' } }, additionalProperties: false }, { type: 'null' }],
} as const;
export type ExtraCardsRequest = FromSchema<typeof extraCardsSchema>;

export const organisationOrderSchema = {
  type: 'object',
  properties: { cvr: text, name: text, administrator: text },
  required: ['cvr', 'name', 'administrator'],
  additionalProperties: false,
} as const;
export type OrganisationOrder = FromSchema<typeof organisationOrderSchema>;

// ---- the answers ----

const personAnswer = { type: 'object', properties: { person: personViewSchema }, required: ['person'], additionalProperties: false } as const;
export type PersonAnswer = FromSchema<typeof personAnswer>;

/** A person issued a credential: the outbox letter with the temporary password, and an employee's code card in a letter of its own. */
const issuedAnswer = {
  type: 'object',
  properties: { person: personViewSchema, letter: { type: 'string' }, cardLetter: { type: 'string' } },
  required: ['person', 'letter'],
  additionalProperties: false,
} as const;
export type IssuedAnswer = FromSchema<typeof issuedAnswer>;

const lettersAnswer = { type: 'object', properties: { letters: { type: 'array', items: { type: 'string' } } }, required: ['letters'], additionalProperties: false } as const;
export type LettersAnswer = FromSchema<typeof lettersAnswer>;

const organisationAnswer = {
  type: 'object',
  properties: { organisation: organisationViewSchema, administrator: personViewSchema, letter: { type: 'string' }, cardLetter: { type: 'string' } },
  required: ['organisation', 'administrator', 'letter', 'cardLetter'],
  additionalProperties: false,
} as const;
export type OrganisationAnswer = FromSchema<typeof organisationAnswer>;

/** The actions that change a person's state, each `POST /v1/people/:id/<action>` with an empty body. */
export const PERSON_ACTIONS = ['block', 'unblock', 'unlock'] as const;
export type PersonAction = (typeof PERSON_ACTIONS)[number];

/** The operator routes' schemas, as fastify takes them. */
export const peopleRoutes = {
  order: { body: personOrderSchema, response: { 201: issuedAnswer, ...ERROR_ANSWERS } },
  get: { params: idParams, response: { 200: personAnswer, ...ERROR_ANSWERS } },
  extraCards: { params: idParams, body: extraCardsSchema, response: { 201: lettersAnswer, ...ERROR_ANSWERS } },
  changeState: { params: idParams, body: emptyBody, response: { 201: personAnswer, ...ERROR_ANSWERS } },
  reissue: { params: idParams, body: emptyBody, response: { 201: issuedAnswer, ...ERROR_ANSWERS } },
  createOrganisation: { body: organisationOrderSchema, response: { 201: organisationAnswer, ...ERROR_ANSWERS } },
} as const;
