/**
 * `noegleviser client …` (the sites that log people in through the login service's OpenID
 * Connect provider) and `noegleviser oidc rotate-keys`, over the operator API with the admin key.
 * A site's secret is printed once, when it is added: the server keeps it only sealed.
 */
import { Command, Option } from 'commander';
import type { SiteView } from '../api/oidc-clients.ts';
import { usageError } from './errors.ts';
import { columns, createOutput, table } from './output.ts';
import { addServerOptions, requireServer, type ServerCliOptions } from './server-options.ts';

type Options = ServerCliOptions & { json?: boolean };

const SCOPES = ['full', 'bank-only', 'view-only'] as const;

function withServer(command: Command): Command {
  return addServerOptions(command).addOption(new Option('--json', 'print JSON'));
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function scopeList(value: string, previous: (typeof SCOPES)[number][] = []): (typeof SCOPES)[number][] {
  const scope = SCOPES.find((known) => known === value);
  if (!scope) throw usageError('NV_BAD_ARGUMENT', `--accept takes ${SCOPES.join(', ')}, not "${value.slice(0, 40)}"`);
  return [...previous, scope];
}

function siteLines(site: SiteView): string[] {
  return table({
    'client id': site.clientId,
    name: site.name,
    'redirect URIs': site.redirectUris.join(' '),
    'post-logout URIs': site.postLogoutRedirectUris.join(' ') || undefined,
    'back-channel logout': site.backchannelLogoutUri ?? undefined,
    accepts: site.acceptedScopes.join(', '),
    acr: site.acrValues.join(' '),
    'first party': site.firstParty,
    created: site.createdAt,
  });
}

export function clientCommand(): Command {
  const client = new Command('client').description('sites that log people in with OpenID Connect (needs the admin key)');
  withServer(client.command('add').description("register a site; its client secret is shown this once"))
    .addOption(new Option('--name <name>', "the site's name, shown on the consent page").makeOptionMandatory())
    .addOption(new Option('--redirect-uri <uri>', 'a redirect URI, matched exactly (repeatable)').argParser(collect).makeOptionMandatory())
    .addOption(new Option('--post-logout-uri <uri>', 'where a logout may send the person back (repeatable)').argParser(collect))
    .addOption(new Option('--backchannel-logout-uri <uri>', 'where the provider posts a logout token when the person is logged out'))
    .addOption(new Option('--accept <scope>', 'a scope of person the site accepts (repeatable; default full)').argParser(scopeList))
    .addOption(new Option('--acr <value>', 'an acr value the site may ask for (repeatable; default all)').argParser(collect))
    .addOption(new Option('--client-id <id>', 'the client id (default: made up)'))
    .addOption(new Option('--first-party', 'no consent page (a site of the service itself)'))
    .addOption(new Option('--allow-insecure-loopback', 'allow plain http on a loopback address (lab sites only)'))
    .action(
      async (
        o: Options & { name: string; redirectUri: string[]; postLogoutUri?: string[]; backchannelLogoutUri?: string; accept?: (typeof SCOPES)[number][]; acr?: string[]; clientId?: string; firstParty?: boolean; allowInsecureLoopback?: boolean },
      ) => {
        const result = await requireServer(o).addSite({
          name: o.name,
          redirectUris: o.redirectUri,
          ...(o.postLogoutUri ? { postLogoutRedirectUris: o.postLogoutUri } : {}),
          ...(o.backchannelLogoutUri ? { backchannelLogoutUri: o.backchannelLogoutUri } : {}),
          ...(o.accept ? { acceptedScopes: o.accept } : {}),
          ...(o.acr ? { acrValues: o.acr } : {}),
          ...(o.clientId ? { clientId: o.clientId } : {}),
          firstParty: Boolean(o.firstParty),
          allowInsecureLoopback: Boolean(o.allowInsecureLoopback),
        });
        createOutput(Boolean(o.json)).result(result, () => [...siteLines(result.site), ...table({ 'client secret': result.clientSecret }), 'the client secret is shown this once: keep it in the site\'s configuration']);
      },
    );
  withServer(client.command('list').description('list the registered sites (never a secret)')).action(async (o: Options) => {
    const sites = await requireServer(o).listSites();
    createOutput(Boolean(o.json)).result({ sites }, () =>
      sites.length === 0 ? ['no sites registered'] : columns(['CLIENT ID', 'ACCEPTS', 'NAME'], sites.map((site) => [site.clientId, site.acceptedScopes.join(','), site.name])),
    );
  });
  withServer(client.command('remove').description("remove a site, with every grant, code and token the provider holds for it"))
    .argument('<clientId>', 'the client id')
    .action(async (clientId: string, o: Options) => {
      if (!/^[A-Za-z0-9_.-]{3,64}$/.test(clientId)) throw usageError('NV_BAD_ARGUMENT', 'a client id is 3-64 letters, digits, dots, underscores or hyphens');
      await requireServer(o).removeSite(clientId);
      createOutput(Boolean(o.json)).result({ removed: clientId }, () => [`${clientId} is removed`]);
    });
  return client;
}

export function oidcCommand(): Command {
  const oidc = new Command('oidc').description("the login service's OpenID Connect provider (needs the admin key)");
  withServer(oidc.command('rotate-keys').description('sign ID tokens with a new key from now; the old public key stays published until its tokens have expired')).action(async (o: Options) => {
    const rotated = await requireServer(o).rotateOidcKeys();
    createOutput(Boolean(o.json)).result(rotated, () => table({ 'signing key': rotated.kid, retired: rotated.retired.join(' ') || 'none' }));
  });
  return oidc;
}
