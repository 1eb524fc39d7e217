/** The part of `oidc-provider` (9.13, no types of its own) the login service's provider uses. */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  type Json = Record<string, unknown>;

  export interface AdapterPayload extends Json {
    readonly grantId?: string;
    readonly uid?: string;
    readonly userCode?: string;
    readonly consumed?: number;
    readonly clientId?: string;
    readonly accountId?: string;
    readonly jti?: string;
  }

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface ClientModel {
    readonly clientId: string;
    readonly clientName?: string;
    readonly sectorIdentifier?: string;
    readonly backchannelLogoutUri?: string;
    backchannelLogout(sub: string, sid: string): Promise<void>;
    readonly [key: string]: unknown;
  }

  export interface PromptDetail {
    readonly name: string;
    readonly reasons: readonly string[];
    readonly details: {
      readonly missingOIDCScope?: readonly string[];
      readonly missingOIDCClaims?: readonly string[];
      readonly missingResourceScopes?: Readonly<Record<string, readonly string[]>>;
      readonly [key: string]: unknown;
    };
  }

  export interface InteractionDetails {
    readonly uid: string;
    readonly prompt: PromptDetail;
    readonly params: Readonly<Record<string, unknown>> & { readonly client_id: string; readonly acr_values?: string; readonly scope?: string };
    readonly session?: { readonly accountId: string; readonly uid: string; readonly cookie: string };
    readonly grantId?: string;
    readonly exp: number;
  }

  export interface GrantInstance {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: readonly string[]): void;
    addResourceScope(indicator: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface SessionModel {
    readonly accountId?: string;
    readonly uid: string;
    readonly jti: string;
    readonly authorizations?: Readonly<Record<string, { readonly sid?: string; readonly grantId?: string }>>;
    destroy(): Promise<void>;
  }

  export interface KoaContextLike {
    readonly oidc: {
      readonly client?: ClientModel;
      readonly session?: { readonly accountId?: string; readonly authorizations?: Readonly<Record<string, { readonly grantId?: string }>> };
      readonly params?: Readonly<Record<string, unknown>>;
      readonly route?: string;
      readonly [key: string]: unknown;
    };
    readonly status?: number;
    readonly [key: string]: unknown;
  }

  export interface Account {
    readonly accountId: string;
    claims(use: string, scope: string, claims: unknown, rejected: readonly string[]): Promise<Json> | Json;
  }

  export type Configuration = Json;

  export class Provider {
    constructor(issuer: string, configuration: Configuration);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: Json, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
    interactionResult(req: IncomingMessage, res: ServerResponse, result: Json, options?: { mergeWithLastSubmission?: boolean }): Promise<string>;
    on(event: string, listener: (...args: never[]) => void): this;
    /** A Koa middleware around every request of the provider (after `next()`, `ctx.oidc` is the request's context). */
    use(middleware: (ctx: KoaContextLike, next: () => Promise<void>) => Promise<void>): this;
    readonly Grant: {
      new (properties: { accountId: string; clientId: string }): GrantInstance;
      find(id: string): Promise<GrantInstance | undefined>;
    };
    readonly Client: { find(id: string): Promise<ClientModel | undefined> };
    readonly Session: { find(id: string): Promise<SessionModel | undefined> };
  }

  export class OIDCProviderError extends Error {
    readonly error: string;
    readonly error_description?: string;
    readonly status: number;
  }

  export const errors: {
    readonly InvalidGrant: new (description: string) => OIDCProviderError;
    readonly AccessDenied: new (description: string) => OIDCProviderError;
    readonly InvalidRequest: new (description: string) => OIDCProviderError;
    readonly OIDCProviderError: typeof OIDCProviderError;
  };

  export class Check {
    constructor(reason: string, description: string, error: string, check: (ctx: KoaContextLike) => boolean | Promise<boolean>);
    constructor(reason: string, description: string, check: (ctx: KoaContextLike) => boolean | Promise<boolean>);
    static readonly REQUEST_PROMPT: true;
    static readonly NO_NEED_TO_PROMPT: false;
  }

  export interface PromptPolicy {
    readonly checks: { add(check: Check, index?: number): void; readonly [n: number]: Check };
  }

  export const interactionPolicy: {
    base(): { get(name: string): PromptPolicy; readonly [n: number]: PromptPolicy };
    readonly Check: typeof Check;
  };

  export default Provider;
}
