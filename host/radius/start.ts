/**
 * The RADIUS front as the host starts it: over the login service, with its per-client rate limit
 * the HTTP API's, and every decision and drop in the host's audit log (action `radius.access`:
 * client, user, outcome, reason; never a password, code or State).
 */
import type { TokenService } from '../server/token-service.ts';
import type { NemIdService } from '../service/service.ts';
import { auditEntry, type NewAuditEntry } from '../store/audit.ts';
import { RadiusFront, type RadiusClientConfig } from './front.ts';
import { LoginRadiusVerifier } from './login-verifier.ts';

export interface RadiusOptions {
  readonly host?: string;
  /** 0 for any free port. */
  readonly port: number;
  readonly clients: readonly RadiusClientConfig[];
}

export async function startRadiusFront(
  options: RadiusOptions,
  parts: { readonly service: NemIdService; readonly tokens: Pick<TokenService, 'list'>; readonly audit: { appendAudit(entry: NewAuditEntry): Promise<void> }; readonly host: string; readonly perSecond: number },
): Promise<RadiusFront> {
  return RadiusFront.start({
    host: options.host ?? parts.host,
    port: options.port,
    clients: options.clients,
    verifier: new LoginRadiusVerifier(parts.service, parts.tokens, parts.service.now),
    // 0 is "no limit" for the HTTP API's --rate-limit; the bucket takes a rate, so no limit is a very high one.
    rateLimit: { perSecond: parts.perSecond > 0 ? parts.perSecond : 1e9 },
    audit: (event) => {
      const detail = { client: event.client, user: event.user, ...(event.reason ? { reason: event.reason } : {}) };
      void parts.audit.appendAudit(auditEntry({ name: `radius:${event.client ?? 'unknown'}`, ip: event.address }, 'radius.access', null, event.outcome, detail, event.at)).catch(() => {});
    },
  });
}
