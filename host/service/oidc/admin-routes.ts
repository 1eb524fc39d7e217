/**
 * The operator's API for the provider, with the admin key: registering, listing and removing
 * sites (a site's secret is in the answer to its registration, once), and rotating the signing
 * key. Thin over SiteRegistry and OidcProvider.rotateKeys; the shapes are in host/api/oidc-clients.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CodedError } from '../../../protocol/coded-error.ts';
import { siteAddBody, siteParams, type KeyRotationResponse, type SiteAddRequest, type SiteAddResponse, type SiteListResponse } from '../../api/oidc-clients.ts';
import type { Actor } from '../../store/audit.ts';
import type { OidcProvider } from './oidc.ts';

/** Checked before the body is validated: without the admin key, a request learns nothing of the schema. */
function adminOnly(request: FastifyRequest, _reply: FastifyReply, done: (error?: CodedError) => void): void {
  if (!request.principal) return done(new CodedError('NV_UNAUTHORIZED', 'an API key is needed: Authorization: Bearer <key>', 401));
  if (request.principal.role !== 'admin') return done(new CodedError('NV_FORBIDDEN', 'this needs the admin key', 403));
  done();
}

const actorOf = (request: FastifyRequest): Actor => ({ name: request.principal?.id ?? 'anonymous', ip: request.ip });

export function registerOidcAdminRoutes(app: FastifyInstance, oidc: OidcProvider): void {
  app.post<{ Body: SiteAddRequest }>('/v1/oidc/sites', { preValidation: adminOnly, schema: { body: siteAddBody } }, async (request, reply): Promise<SiteAddResponse> => {
    const { clientId, backchannelLogoutUri, ...rest } = request.body;
    const added = await oidc.sites.add({ ...rest, ...(clientId === undefined ? {} : { id: clientId }), backchannelLogoutUri: backchannelLogoutUri ?? null }, actorOf(request));
    reply.status(201).header('cache-control', 'no-store');
    return added;
  });
  app.get('/v1/oidc/sites', { preValidation: adminOnly }, async (): Promise<SiteListResponse> => ({ sites: await oidc.sites.list() }));
  app.delete<{ Params: { clientId: string } }>('/v1/oidc/sites/:clientId', { preValidation: adminOnly, schema: { params: siteParams } }, async (request, reply) => {
    await oidc.sites.remove(request.params.clientId, actorOf(request));
    return reply.status(204).send();
  });
  app.post('/v1/oidc/keys/rotate', { preValidation: adminOnly }, async (request, reply): Promise<KeyRotationResponse> => {
    reply.status(201);
    return oidc.rotateKeys(actorOf(request));
  });
}
