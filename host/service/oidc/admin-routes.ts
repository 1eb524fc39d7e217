/**
 * The operator's API for the provider, with the admin key: registering, listing and removing
 * sites (a site's secret is in the answer to its registration, once), and rotating the signing
 * key. Thin over SiteRegistry and OidcProvider.rotateKeys; the shapes are in host/api/oidc-clients.ts.
 */
import type { FastifyInstance } from 'fastify';
import { oidcAdminRoutes, type KeyRotationResponse, type SiteAddRequest, type SiteAddResponse, type SiteListResponse } from '../../api/oidc-clients.ts';
import { ADMIN_ONLY, keyActor as actorOf } from '../../server/http/access.ts';
import type { OidcProvider } from './oidc.ts';


export function registerOidcAdminRoutes(app: FastifyInstance, oidc: OidcProvider): void {
  app.post<{ Body: SiteAddRequest }>('/v1/oidc/sites', { ...ADMIN_ONLY, schema: oidcAdminRoutes.add }, async (request, reply): Promise<SiteAddResponse> => {
    const { clientId, backchannelLogoutUri, ...rest } = request.body;
    const added = await oidc.sites.add({ ...rest, ...(clientId === undefined ? {} : { id: clientId }), backchannelLogoutUri: backchannelLogoutUri ?? null }, actorOf(request));
    reply.status(201).header('cache-control', 'no-store');
    return added;
  });
  app.get('/v1/oidc/sites', { ...ADMIN_ONLY, schema: oidcAdminRoutes.list }, async (): Promise<SiteListResponse> => ({ sites: await oidc.sites.list() }));
  app.delete<{ Params: { clientId: string } }>('/v1/oidc/sites/:clientId', { ...ADMIN_ONLY, schema: oidcAdminRoutes.remove }, async (request, reply) => {
    await oidc.sites.remove(request.params.clientId, actorOf(request));
    return reply.status(204).send();
  });
  app.post('/v1/oidc/keys/rotate', { ...ADMIN_ONLY, schema: oidcAdminRoutes.rotate }, async (request, reply): Promise<KeyRotationResponse> => {
    reply.status(201);
    return oidc.rotateKeys(actorOf(request));
  });
}
