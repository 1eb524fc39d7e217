/** The bridge's side of the validation server's HTTP API. */
import type { Replacement, ResyncOutcome, TokenView, VerifyOutcome } from '../server/token-service.ts';
import type { viewAuditEntry } from '../server/http/app.ts';
import type { OrganisationRecord } from '../service/store/types.ts';
import type { viewPerson } from '../service/web/api-routes.ts';
import { CodedError } from '../../protocol/coded-error.ts';
import { readErrorEnvelope } from '../api/errors.ts';
import type { KeyRotationResponse, SiteAddRequest, SiteAddResponse, SiteListResponse, SiteView } from '../api/oidc-clients.ts';

/** An audit entry as the API sends it: time as an ISO string, the subject named by its kind. */
export type AuditView = ReturnType<typeof viewAuditEntry>;

/** What `GET /v1/audit` filters on. */
export interface AuditQuery {
  /** The subject's id: a token serial, a NemID number, a card serial, a key file's id. */
  readonly subject?: string;
  readonly action?: string;
  /** ISO 8601. */
  readonly since?: string;
  readonly order?: 'asc' | 'desc';
  readonly limit?: number;
}

/** A person of the login service as the operator API shows them (never a hash, a key or a password). */
export type PersonView = ReturnType<typeof viewPerson>;

/** What ordering a NemID sends: a CPR number or (without one) a birth date, and a card or an enrolled token. */
export interface PersonOrderRequest {
  readonly name: string;
  readonly cpr?: string;
  readonly birthDate?: string;
  readonly credential: 'card' | 'token';
  readonly tokenSerial?: string;
}

export interface ServerEndpoint {
  readonly url: string;
  readonly adminKey?: string;
  readonly clientKey?: string;
}

export interface TokenRegistration {
  readonly serial: string;
  readonly kind: 'hotp' | 'totp';
  readonly algorithm: string;
  readonly digits: number;
  readonly period?: number;
  readonly counter?: number;
  /** Hex; sent once, over the request body, and never logged. */
  readonly seed: string;
  readonly owner?: string | null;
  /** Register a seed under 16 bytes anyway (the server refuses it otherwise). */
  readonly allowShortSeed?: boolean;
}

export class ServerClient {
  readonly url: string;

  constructor(
    private readonly endpoint: ServerEndpoint,
    private readonly timeoutMs = 10_000,
  ) {
    this.url = endpoint.url.replace(/\/+$/, '');
  }

  async register(token: TokenRegistration): Promise<TokenView> {
    return (await this.call<{ token: TokenView }>('admin', 'POST', '/v1/tokens', token)).token;
  }

  async getToken(serial: string): Promise<TokenView | undefined> {
    try {
      return (await this.call<{ token: TokenView }>('admin', 'GET', `/v1/tokens/${encodeURIComponent(serial)}`)).token;
    } catch (error) {
      if (error instanceof CodedError && error.status === 404) return undefined;
      throw error;
    }
  }

  async listTokens(filter: { owner?: string; state?: string } = {}): Promise<TokenView[]> {
    const query = new URLSearchParams(Object.entries(filter).filter((entry): entry is [string, string] => entry[1] !== undefined));
    return (await this.call<{ tokens: TokenView[] }>('admin', 'GET', `/v1/tokens${query.size ? `?${query}` : ''}`)).tokens;
  }

  /** disable, enable, unlock or revoke. */
  async changeState(serial: string, action: 'disable' | 'enable' | 'unlock' | 'revoke'): Promise<TokenView> {
    return (await this.call<{ token: TokenView }>('admin', 'POST', `/v1/tokens/${encodeURIComponent(serial)}/${action}`, {})).token;
  }

  async reportLost(serial: string, options: { replacement: boolean; validDays?: number }): Promise<{ token: TokenView; replacement?: Replacement }> {
    return this.call('admin', 'POST', `/v1/tokens/${encodeURIComponent(serial)}/lost`, options);
  }

  async assign(serial: string, owner: string | null): Promise<TokenView> {
    return (await this.call<{ token: TokenView }>('admin', 'POST', `/v1/tokens/${encodeURIComponent(serial)}/assign`, { owner })).token;
  }

  async audit(filter: AuditQuery = {}): Promise<AuditView[]> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
    return (await this.call<{ entries: AuditView[] }>('admin', 'GET', `/v1/audit${query.size ? `?${query}` : ''}`)).entries;
  }

  async deleteToken(serial: string): Promise<void> {
    await this.call('admin', 'DELETE', `/v1/tokens/${encodeURIComponent(serial)}`);
  }

  async advanceCounter(serial: string, counter: number): Promise<{ token: TokenView; moved: boolean }> {
    return this.call('admin', 'POST', `/v1/tokens/${encodeURIComponent(serial)}/counter`, { counter });
  }

  async resetDrift(serial: string): Promise<TokenView> {
    return (await this.call<{ token: TokenView }>('admin', 'POST', `/v1/tokens/${encodeURIComponent(serial)}/drift/reset`, {})).token;
  }

  /** Orders a NemID; the welcome letter (with the temporary password, never sent here) goes to the server's outbox. */
  async orderPerson(order: PersonOrderRequest): Promise<{ person: PersonView; letter: string }> {
    return this.call('admin', 'POST', '/v1/people', order);
  }

  async getPerson(nemId: string): Promise<PersonView> {
    return (await this.call<{ person: PersonView }>('admin', 'GET', `/v1/people/${encodeURIComponent(nemId)}`)).person;
  }

  /** block, unblock or unlock a person. */
  async changePerson(nemId: string, action: 'block' | 'unblock' | 'unlock'): Promise<PersonView> {
    return (await this.call<{ person: PersonView }>('admin', 'POST', `/v1/people/${encodeURIComponent(nemId)}/${action}`, {})).person;
  }

  /** Re-issues a person's credential: the old ones are blocked, a new letter goes to the outbox (an employee's card in a letter of its own). */
  async reissuePerson(nemId: string): Promise<{ person: PersonView; letter: string; cardLetter?: string }> {
    return this.call('admin', 'POST', `/v1/people/${encodeURIComponent(nemId)}/reissue`, {});
  }

  /** Extra code cards (at most 3 alive at a time); answers the outbox letter of each. */
  async orderExtraCards(nemId: string, count: number): Promise<string[]> {
    return (await this.call<{ letters: string[] }>('admin', 'POST', `/v1/people/${encodeURIComponent(nemId)}/extra-cards`, { count })).letters;
  }

  /** An organisation (CVR checked) and its first administrator: the temporary password in `letter`, the code card in `cardLetter`. */
  async createOrganisation(input: { cvr: string; name: string; administrator: string }): Promise<{ organisation: OrganisationRecord; administrator: PersonView; letter: string; cardLetter: string }> {
    return this.call('admin', 'POST', '/v1/organisations', input);
  }

  /** Registers a site with the OpenID Connect provider; its secret is in this answer only. */
  async addSite(site: SiteAddRequest): Promise<SiteAddResponse> {
    return this.call('admin', 'POST', '/v1/oidc/sites', site);
  }

  async listSites(): Promise<SiteView[]> {
    return [...(await this.call<SiteListResponse>('admin', 'GET', '/v1/oidc/sites')).sites];
  }

  /** Removes a site and every grant, code and token the provider holds for it. */
  async removeSite(clientId: string): Promise<void> {
    await this.call('admin', 'DELETE', `/v1/oidc/sites/${encodeURIComponent(clientId)}`);
  }

  /** A new signing key for the provider's ID tokens; the retired one stays published until its tokens have expired. */
  async rotateOidcKeys(): Promise<KeyRotationResponse> {
    return this.call('admin', 'POST', '/v1/oidc/keys/rotate', {});
  }

  async verify(serial: string, code: string): Promise<VerifyOutcome> {
    return this.call('client', 'POST', '/v1/verify', { serial, code });
  }

  async resync(serial: string, codes: [string, string]): Promise<ResyncOutcome> {
    return this.call('client', 'POST', '/v1/resync', { serial, codes });
  }

  private async call<T>(role: 'admin' | 'client', method: string, path: string, body?: unknown): Promise<T> {
    const key = role === 'admin' ? this.endpoint.adminKey : (this.endpoint.clientKey ?? this.endpoint.adminKey);
    if (!key) {
      throw new CodedError('NV_NO_API_KEY', `this needs the server's ${role} API key (--${role}-key, NOEGLEVISER_${role.toUpperCase()}_KEY or the config file)`);
    }
    let response: Response;
    try {
      response = await fetch(this.url + path, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new CodedError('NV_SERVER_UNREACHABLE', `the server at ${this.url} could not be reached (${cause})`);
    }
    const text = await response.text();
    if (response.ok) return (text ? JSON.parse(text) : {}) as T;
    const failure = readErrorEnvelope(response.status, text, response.statusText);
    throw new CodedError(failure.code, `the server refused: ${failure.message}`, failure.status);
  }
}
