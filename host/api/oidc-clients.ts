/**
 * The operator's API for the OpenID Connect provider (admin key): the sites registered with it
 * (`/v1/oidc/sites`) and the rotation of its signing key (`/v1/oidc/keys/rotate`). The request
 * schemas refuse unknown fields; the shapes here are what the server answers and the CLI reads.
 */
import { ERROR_ANSWERS } from './errors.ts';

export type SiteScope = 'full' | 'bank-only' | 'view-only';

/** A registered site as the operator sees it: never its secret. */
export interface SiteView {
  readonly clientId: string;
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  readonly backchannelLogoutUri: string | null;
  readonly acceptedScopes: readonly SiteScope[];
  readonly acrValues: readonly string[];
  readonly firstParty: boolean;
  readonly createdAt: string;
}

/** `POST /v1/oidc/sites`. */
export interface SiteAddRequest {
  readonly clientId?: string;
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  readonly backchannelLogoutUri?: string;
  readonly acceptedScopes?: readonly SiteScope[];
  readonly acrValues?: readonly string[];
  readonly firstParty?: boolean;
  /** Plain http on a loopback address (the lab's sites only). */
  readonly allowInsecureLoopback?: boolean;
}

/** The answer to `POST /v1/oidc/sites`: the secret is in this answer once, and kept only sealed. */
export interface SiteAddResponse {
  readonly site: SiteView;
  readonly clientSecret: string;
}

/** `GET /v1/oidc/sites`. */
export interface SiteListResponse {
  readonly sites: readonly SiteView[];
}

/** `POST /v1/oidc/keys/rotate`: the new key signs from now; the retired ones stay published until their ID tokens have expired. */
export interface KeyRotationResponse {
  readonly kid: string;
  readonly retired: readonly string[];
}

const uri = { type: 'string', minLength: 1, maxLength: 2000 } as const;

export const siteAddBody = {
  type: 'object',
  properties: {
    clientId: { type: 'string', pattern: '^[A-Za-z0-9_.-]{3,64}$' },
    name: { type: 'string', minLength: 1, maxLength: 100 },
    redirectUris: { type: 'array', items: uri, minItems: 1, maxItems: 10 },
    postLogoutRedirectUris: { type: 'array', items: uri, maxItems: 10 },
    backchannelLogoutUri: uri,
    acceptedScopes: { type: 'array', items: { enum: ['full', 'bank-only', 'view-only'] }, minItems: 1, maxItems: 3 },
    acrValues: { type: 'array', items: { type: 'string', maxLength: 200 }, minItems: 1, maxItems: 10 },
    firstParty: { type: 'boolean' },
    allowInsecureLoopback: { type: 'boolean' },
  },
  required: ['name', 'redirectUris'],
  additionalProperties: false,
} as const;

export const siteParams = {
  type: 'object',
  properties: { clientId: { type: 'string', pattern: '^[A-Za-z0-9_.-]{3,64}$' } },
  required: ['clientId'],
  additionalProperties: false,
} as const;

const strings = { type: 'array', items: { type: 'string' } } as const;

const siteViewSchema = {
  type: 'object',
  properties: {
    clientId: { type: 'string' },
    name: { type: 'string' },
    redirectUris: strings,
    postLogoutRedirectUris: strings,
    backchannelLogoutUri: { type: ['string', 'null'] },
    acceptedScopes: strings,
    acrValues: strings,
    firstParty: { type: 'boolean' },
    createdAt: { type: 'string' },
  },
  required: ['clientId', 'name', 'redirectUris', 'postLogoutRedirectUris', 'backchannelLogoutUri', 'acceptedScopes', 'acrValues', 'firstParty', 'createdAt'],
  additionalProperties: false,
} as const;

/** The routes' schemas: requests validated, answers written by them (nothing unlisted leaves). */
export const oidcAdminRoutes = {
  add: {
    body: siteAddBody,
    response: {
      201: { type: 'object', properties: { site: siteViewSchema, clientSecret: { type: 'string' } }, required: ['site', 'clientSecret'], additionalProperties: false },
      ...ERROR_ANSWERS,
    },
  },
  list: { response: { 200: { type: 'object', properties: { sites: { type: 'array', items: siteViewSchema } }, required: ['sites'], additionalProperties: false }, ...ERROR_ANSWERS } },
  remove: { params: siteParams, response: { 204: { type: 'null' }, ...ERROR_ANSWERS } },
  rotate: {
    response: {
      201: { type: 'object', properties: { kid: { type: 'string' }, retired: strings }, required: ['kid', 'retired'], additionalProperties: false },
      ...ERROR_ANSWERS,
    },
  },
} as const;
