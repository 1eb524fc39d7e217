/**
 * The login's shapes: who logged in (the principal), the second step as asked, and /api/session
 * (the browser session's stage, CSRF token and principal, read by the service's own pages' origin).
 *
 * There is no JSON login for other sites: /api/login, /api/login/key and /api/logout took a person's
 * password on another site's behalf and are gone (they answer 404 NV_NO_ROUTE). Sites use the
 * service through OpenID Connect (README, "Other sites: OpenID Connect").
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

/** The session route's schema, as fastify takes it. */
export const loginRoutes = {
  session: { response: { 200: sessionAnswer, ...ERROR_ANSWERS } },
} as const;
