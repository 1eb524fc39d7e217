/** The bridge's side of the validation server's HTTP API: it compiles against host/api, the contract, and nothing of the server. */
import { CodedError } from '../../protocol/coded-error.ts';
import type { AuditQuery, AuditView } from '../api/audit.ts';
import { readErrorEnvelope } from '../api/errors.ts';
import type { IssuedAnswer, LettersAnswer, OrganisationAnswer, OrganisationOrder, PersonAnswer, PersonOrder, PersonView } from '../api/people.ts';
import type { CounterAnswer, EnrollRequest, LostAnswer, ResyncOutcome, StateAction, TokenView, VerifyOutcome } from '../api/tokens.ts';
import { EXPORT_ROUTE, IMPORT_ROUTE, type ExportAnswer, type ExportBody, type ImportAnswer, type ImportBody } from '../api/seed-files.ts';
import type { KeyRotationResponse, SiteAddRequest, SiteAddResponse, SiteListResponse, SiteView } from '../api/oidc-clients.ts';

export type { AuditView, PersonView };

/** What `GET /v1/audit` filters on, as the client takes it (a number where the query carries text). */
export type AuditFilter = Pick<AuditQuery, 'subject' | 'action' | 'since' | 'order'> & { readonly limit?: number };

export interface ServerEndpoint {
  readonly url: string;
  readonly adminKey?: string;
  readonly clientKey?: string;
}

/** A token to register: the seed in hex, sent once, in the request body, and never logged. */
export type TokenRegistration = EnrollRequest;

export class ServerClient {
  readonly url: string;

  constructor(
    private readonly endpoint: ServerEndpoint,
    private readonly timeoutMs = 10_000,
    /** How requests travel: the network by default; the simulation hands its server's in-process `inject`. */
    private readonly send: typeof fetch = (input, init) => fetch(input, init),
  ) {
    this.url = endpoint.url.replace(/\/+$/, '');
  }

  async register(token: TokenRegistration): Promise<TokenView> {
    return (await this.call<{ token: TokenView }>('admin', 'POST', '/v1/tokens', token)).token;
  }

  /** Imports a seed file (or, with dryRun, lists what it would import); the whole file or nothing. */
  async importSeedFile(body: ImportBody): Promise<ImportAnswer> {
    return this.call<ImportAnswer>('admin', 'POST', IMPORT_ROUTE, body);
  }

  /** Exports tokens to a seed file (the server must run with --allow-export). */
  async exportSeedFile(body: ExportBody): Promise<ExportAnswer> {
    return this.call<ExportAnswer>('admin', 'POST', EXPORT_ROUTE, body);
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
  async changeState(serial: string, action: StateAction): Promise<TokenView> {
    return (await this.call<{ token: TokenView }>('admin', 'POST', `/v1/tokens/${encodeURIComponent(serial)}/${action}`, {})).token;
  }

  async reportLost(serial: string, options: { replacement: boolean; validDays?: number }): Promise<LostAnswer> {
    return this.call('admin', 'POST', `/v1/tokens/${encodeURIComponent(serial)}/lost`, options);
  }

  async assign(serial: string, owner: string | null): Promise<TokenView> {
    return (await this.call<{ token: TokenView }>('admin', 'POST', `/v1/tokens/${encodeURIComponent(serial)}/assign`, { owner })).token;
  }

  async audit(filter: AuditFilter = {}): Promise<AuditView[]> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
    return (await this.call<{ entries: AuditView[] }>('admin', 'GET', `/v1/audit${query.size ? `?${query}` : ''}`)).entries;
  }

  async deleteToken(serial: string): Promise<void> {
    await this.call('admin', 'DELETE', `/v1/tokens/${encodeURIComponent(serial)}`);
  }

  async advanceCounter(serial: string, counter: number): Promise<CounterAnswer> {
    return this.call('admin', 'POST', `/v1/tokens/${encodeURIComponent(serial)}/counter`, { counter });
  }

  async resetDrift(serial: string): Promise<TokenView> {
    return (await this.call<{ token: TokenView }>('admin', 'POST', `/v1/tokens/${encodeURIComponent(serial)}/drift/reset`, {})).token;
  }

  /** Orders a NemID; the welcome letter (with the temporary password, never sent here) goes to the server's outbox. */
  async orderPerson(order: PersonOrder): Promise<IssuedAnswer> {
    return this.call('admin', 'POST', '/v1/people', order);
  }

  async getPerson(nemId: string): Promise<PersonView> {
    return (await this.call<PersonAnswer>('admin', 'GET', `/v1/people/${encodeURIComponent(nemId)}`)).person;
  }

  /** block, unblock or unlock a person. */
  async changePerson(nemId: string, action: 'block' | 'unblock' | 'unlock'): Promise<PersonView> {
    return (await this.call<PersonAnswer>('admin', 'POST', `/v1/people/${encodeURIComponent(nemId)}/${action}`, {})).person;
  }

  /** Re-issues a person's credential: the old ones are blocked, a new letter goes to the outbox (an employee's card in a letter of its own). */
  async reissuePerson(nemId: string): Promise<IssuedAnswer> {
    return this.call('admin', 'POST', `/v1/people/${encodeURIComponent(nemId)}/reissue`, {});
  }

  /** Extra code cards (at most 3 alive at a time); answers the outbox letter of each. */
  async orderExtraCards(nemId: string, count: number): Promise<readonly string[]> {
    return (await this.call<LettersAnswer>('admin', 'POST', `/v1/people/${encodeURIComponent(nemId)}/extra-cards`, { count })).letters;
  }

  /** An organisation (CVR checked) and its first administrator: the temporary password in `letter`, the code card in `cardLetter`. */
  async createOrganisation(input: OrganisationOrder): Promise<OrganisationAnswer> {
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
      response = await this.send(this.url + path, {
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
