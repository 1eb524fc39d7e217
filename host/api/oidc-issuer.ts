/**
 * The OpenID Connect provider's issuer, as the contract says it: where the provider is mounted
 * and what an operator may give as its public URL. The server command checks `--issuer` with it
 * before it starts anything; the provider takes its issuer through the same check.
 */
import { CodedError } from '../../protocol/coded-error.ts';

export const OIDC_PREFIX = '/oidc';

/** An absolute http(s) URL without query or fragment whose path is where the provider is mounted. */
export function checkIssuer(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  const issuer = text.replace(/\/$/, '');
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.pathname.replace(/\/$/, '') !== OIDC_PREFIX) {
    throw new CodedError('NV_BAD_ARGUMENT', `--issuer takes the provider's public URL, ending in ${OIDC_PREFIX} (e.g. https://login.example${OIDC_PREFIX}), not "${text.slice(0, 200)}"`, 400);
  }
  return issuer;
}
