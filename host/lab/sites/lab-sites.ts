/**
 * The seed's three sites in the lab, beside the login service: the net bank, the tax office and
 * the debt-collection portal, each a relying party on a loopback address of its own (so each is
 * its own sector for pairwise `sub`) on the lab's port. Each is registered with the provider once;
 * its client id and secret are kept in the lab folder (sites.json, mode 0600), and registered
 * again only when its address changed (another port) or the provider no longer knows it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { OidcProvider } from '../../service/oidc/oidc.ts';
import { escapeHtml } from '../../service/outbox/html.ts';
import type { Scope } from '../../service/store/types.ts';
import { ensurePrivateFile } from '../../store/private-files.ts';
import { startSite, type RunningSite, type SiteKind } from './relying-party.ts';

interface LabSiteSpec {
  readonly kind: SiteKind;
  readonly title: string;
  readonly host: string;
  readonly acceptedScopes: readonly Scope[];
  readonly firstParty: boolean;
}

export const LAB_SITES: readonly LabSiteSpec[] = [
  { kind: 'net-bank', title: 'Net bank', host: '127.0.0.2', acceptedScopes: ['full', 'bank-only', 'view-only'], firstParty: true },
  { kind: 'tax-office', title: 'Tax office (se din skattebillet)', host: '127.0.0.3', acceptedScopes: ['full'], firstParty: false },
  { kind: 'debt-portal', title: 'Debt-collection portal (send dit krav til inkasso)', host: '127.0.0.4', acceptedScopes: ['full', 'bank-only'], firstParty: false },
];

interface Saved {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
}

function readSaved(file: string): Partial<Record<SiteKind, Saved>> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Record<SiteKind, Saved>>;
  } catch {
    return {};
  }
}

/** Starts the three sites on `port` (the lab's) and registers each that is not registered yet. */
export async function startLabSites(options: { dir: string; port: number; oidc: OidcProvider }): Promise<RunningSite[]> {
  const file = path.join(options.dir, 'sites.json');
  const saved = readSaved(file);
  const running: RunningSite[] = [];
  const actor = { name: 'lab' };
  try {
    for (const spec of LAB_SITES) {
      running.push(
        await startSite({
          kind: spec.kind,
          title: spec.title,
          host: spec.host,
          port: options.port,
          issuer: options.oidc.issuer()!,
          register: async (urls) => {
            const known = saved[spec.kind];
            if (known && known.redirectUri === urls.redirectUri && (await options.oidc.sites.get(known.clientId))) return known;
            if (known && (await options.oidc.sites.get(known.clientId))) await options.oidc.sites.remove(known.clientId, actor);
            const { site, clientSecret } = await options.oidc.sites.add(
              {
                name: spec.title,
                redirectUris: [urls.redirectUri],
                postLogoutRedirectUris: [urls.postLogoutRedirectUri],
                backchannelLogoutUri: urls.backchannelLogoutUri,
                acceptedScopes: spec.acceptedScopes,
                firstParty: spec.firstParty,
                allowInsecureLoopback: true,
              },
              actor,
            );
            saved[spec.kind] = { clientId: site.clientId, clientSecret, redirectUri: urls.redirectUri };
            ensurePrivateFile(file);
            fs.writeFileSync(file, JSON.stringify(saved, null, 2) + '\n', { mode: 0o600 });
            return saved[spec.kind]!;
          },
        }),
      );
    }
  } catch (error) {
    for (const site of running) await site.close();
    throw error;
  }
  return running;
}

/** `/lab/sites`: the three sites, and the lab person's sessions at the provider (when, and at which sites). */
export function registerLabSitesPage(app: FastifyInstance, options: { sites: () => readonly RunningSite[]; oidc: OidcProvider; person: () => Promise<string | undefined> }): void {
  app.get('/lab/sites', async (_request, reply) => {
    const person = await options.person();
    const sessions = person === undefined ? [] : await options.oidc.sessionsOf(person);
    const names = new Map(options.sites().map((site) => [site.clientId, site.title]));
    const siteRows = options.sites().map((site) => `<li><a class="lab-site" id="lab-site-${site.kind}" href="${escapeHtml(site.url)}/">${escapeHtml(site.title)}</a> <code>${escapeHtml(site.url)}</code></li>`).join('');
    const sessionRows = sessions
      .map((session) => {
        const at = session.loginAt === null ? 'unknown' : new Date(session.loginAt).toISOString();
        const used = session.clientIds.map((clientId) => escapeHtml(names.get(clientId) ?? clientId));
        return `<li class="provider-session">logged in ${escapeHtml(at)}; sites: ${used.join(', ') || 'none yet'}</li>`;
      })
      .join('');
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>The lab's sites</title><link rel="stylesheet" href="/assets/service.css"></head><body><main class="narrow"><h1>The lab's sites</h1><p>Each logs in through the login service (OpenID Connect).</p><ul id="lab-sites">${siteRows}</ul><h2>The lab person's session at the login service</h2>${sessionRows ? `<ul id="provider-sessions">${sessionRows}</ul>` : '<p id="no-provider-session">No session: nobody is logged in at the login service.</p>'}</main></body></html>`,
      );
  });
}
