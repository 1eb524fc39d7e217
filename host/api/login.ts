/**
 * The login service as JSON, for relying parties (a bank's own front end): /api/session,
 * /api/login, /api/login/key, /api/logout. The same two steps, sessions, CSRF and lockout as the
 * pages: a state-changing call carries the session's token in `x-csrf-token`.
 */
import { ERROR_ANSWERS } from './errors.ts';
import type { FromSchema } from './schema.ts';

export const LOGIN_METHODS = ['card', 'token', 'temporary-password', 'key-file'] as const;

/** Who logged in, as a relying party sees it: the scope travels with every login. */
export const principalSchema = {
  type: 'object',
  properties: {
    nemIdNumber: { type: 'string' },
    userId: { type: ['string', 'null'] },
    name: { type: 'string' },
    scope: { type: 'string', enum: ['full', 'view-only', 'bank-only'] },
    /** How this login was made (absent when a session is read back later). */
    method: { type: 'string', enum: LOGIN_METHODS },
    organisation: {
      anyOf: [{ type: 'object', properties: { cvr: { type: 'string' }, name: { type: 'string' } }, required: ['cvr', 'name'] }, { type: 'null' }],
    },
    role: { anyOf: [{ type: 'string', enum: ['employee', 'administrator'] }, { type: 'null' }] },
  },
  required: ['nemIdNumber', 'userId', 'name', 'scope', 'organisation', 'role'],
  additionalProperties: false,
} as const;
/** The session's CSRF token, for a call that does not send it as the `x-csrf-token` header (a form). */
const csrf = { type: 'string', maxLength: 200 } as const;

export type LoginPrincipal = FromSchema<typeof principalSchema>;

/** Step 2 as asked: for a card, the key number shown and the person's other cards; for a temporary password, the lost token and until when it works. */
export const secondStepSchema = {
  anyOf: [
    {
      type: 'object',
      properties: {
        method: { type: 'string', const: 'card' },
        cardSerial: { type: 'string' },
        number: { type: 'string' },
        otherCards: { type: 'array', items: { type: 'string' } },
      },
      required: ['method', 'cardSerial', 'number', 'otherCards'],
    },
    {
      type: 'object',
      properties: { method: { type: 'string', const: 'token' }, tokenSerial: { type: 'string' } },
      required: ['method', 'tokenSerial'],
    },
    {
      type: 'object',
      properties: {
        method: { type: 'string', const: 'temporary-password' },
        tokenSerial: { type: 'string' },
        lostToken: { type: 'string' },
        validUntil: { type: 'string' },
      },
      required: ['method', 'tokenSerial', 'lostToken', 'validUntil'],
    },
  ],
} as const;
export type SecondStep = FromSchema<typeof secondStepSchema>;

const sessionAnswer = {
  type: 'object',
  properties: {
    stage: { type: 'string', enum: ['anonymous', 'second-step', 'choose-credentials', 'authenticated'] },
    csrfToken: { type: 'string' },
    principal: { anyOf: [principalSchema, { type: 'null' }] },
  },
  required: ['stage', 'csrfToken', 'principal'],
  additionalProperties: false,
} as const;
export type SessionAnswer = FromSchema<typeof sessionAnswer>;

/** Step 1: the user-id (or NemID number) and the password. */
export const passwordStepSchema = {
  type: 'object',
  properties: { userId: { type: 'string', maxLength: 200 }, password: { type: 'string', maxLength: 200 }, _csrf: csrf },
  required: ['userId', 'password'],
  additionalProperties: false,
} as const;
export type PasswordStep = FromSchema<typeof passwordStepSchema>;

const passwordStepAnswer = {
  type: 'object',
  properties: { next: { type: 'string', const: 'second-step' }, csrfToken: { type: 'string' }, step: secondStepSchema },
  required: ['next', 'csrfToken', 'step'],
  additionalProperties: false,
} as const;
export type PasswordStepAnswer = FromSchema<typeof passwordStepAnswer>;

/** Step 2: the card's key, the token's code or the temporary password. */
export const keyStepSchema = {
  type: 'object',
  properties: { key: { type: 'string', maxLength: 20 }, _csrf: csrf },
  required: ['key'],
  additionalProperties: false,
} as const;
export type KeyStep = FromSchema<typeof keyStepSchema>;

const keyStepAnswer = {
  anyOf: [
    {
      type: 'object',
      properties: { next: { type: 'string', const: 'choose-credentials' }, message: { type: 'string' } },
      required: ['next', 'message'],
    },
    {
      type: 'object',
      properties: { next: { type: 'string', const: 'done' }, principal: principalSchema },
      required: ['next', 'principal'],
    },
  ],
} as const;
export type KeyStepAnswer = FromSchema<typeof keyStepAnswer>;

const logoutAnswer = { type: 'object', properties: { next: { type: 'string', const: 'signed-out' } }, required: ['next'], additionalProperties: false } as const;
export type LogoutAnswer = FromSchema<typeof logoutAnswer>;

const logoutSchema = { anyOf: [{ type: 'object', properties: { _csrf: csrf }, additionalProperties: false }, { type: 'null' }] } as const;

/** The relying-party routes' schemas, as fastify takes them. */
export const loginRoutes = {
  session: { response: { 200: sessionAnswer, ...ERROR_ANSWERS } },
  password: { body: passwordStepSchema, response: { 200: passwordStepAnswer, ...ERROR_ANSWERS } },
  key: { body: keyStepSchema, response: { 200: keyStepAnswer, ...ERROR_ANSWERS } },
  logout: { body: logoutSchema, response: { 200: logoutAnswer, ...ERROR_ANSWERS } },
} as const;
