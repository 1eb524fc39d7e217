/**
 * What a site learns of a person, and how sure it may be. `sub` is pairwise: an HMAC of the
 * person's NemID number under the provider's sealed salt and the site's sector (the host of its
 * redirect URIs), so two sites cannot correlate a person and one site always sees the same `sub`.
 *
 * Authentication context: `amr` per RFC 8176 (`pwd` and `otp` for a code card or token, `swk` for
 * a key file, `pwd` alone for a lost token's temporary password), `acr` on the Danish NSIS
 * assurance levels, with an employee signature as a value of its own a site may ask for.
 */
import { createHmac } from 'node:crypto';
import type { LoginMethod, LoginPrincipal } from '../login.ts';
import type { Scope } from '../store/types.ts';

/** The reason an interaction is asked for when the signed-in person is one the site does not accept. */
export const SITE_POLICY_REASON = 'site_policy';

export const ACR = {
  /** Password alone: a lost token's temporary password. */
  low: 'https://data.gov.dk/concept/core/nsis/loa/Low',
  /** Two factors: password and a code card key or token code, or a key file. */
  substantial: 'https://data.gov.dk/concept/core/nsis/loa/Substantial',
  /** An employee signature (medarbejdersignatur): a company's employee, logged in with two factors. */
  employee: 'urn:noegleviser:acr:employee-signature',
} as const;

export const ACR_VALUES: readonly string[] = [ACR.low, ACR.substantial, ACR.employee];

export const AMR_OF: Readonly<Record<LoginMethod, readonly string[]>> = {
  card: ['pwd', 'otp'],
  token: ['pwd', 'otp'],
  'temporary-password': ['pwd'],
  'key-file': ['swk'],
};

/** The acr values a login satisfies, strongest first. */
export function satisfiedAcrs(method: LoginMethod, employee: boolean): string[] {
  if (method === 'temporary-password') return [ACR.low];
  return [...(employee ? [ACR.employee] : []), ACR.substantial, ACR.low];
}

/**
 * The acr a login is given: the first value the site asked for that it satisfies, or, when the
 * site asked for none, the strongest it satisfies. Undefined when it satisfies none asked for.
 */
export function chooseAcr(method: LoginMethod, employee: boolean, asked: readonly string[]): string | undefined {
  const satisfied = satisfiedAcrs(method, employee);
  if (asked.length === 0) return satisfied[0];
  return asked.find((value) => satisfied.includes(value));
}

export const SCOPE_CLAIMS = {
  // acr, amr and auth_time in every ID token: a site must be able to tell how the person logged in.
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name'],
  nemid: ['nemid_scope'],
  organisation: ['organisation', 'organisation_role'],
} as const;

/** The person's claims (the provider keeps those of the scopes granted). */
export function personClaims(principal: LoginPrincipal): Record<string, unknown> {
  return {
    sub: principal.nemIdNumber,
    name: principal.name,
    nemid_scope: principal.scope,
    ...(principal.organisation
      ? { organisation: { cvr: principal.organisation.cvr, name: principal.organisation.name }, organisation_role: principal.role ?? 'employee' }
      : {}),
  };
}

export function pairwiseSubject(salt: Uint8Array, sector: string, accountId: string): string {
  return createHmac('sha256', salt).update(`${sector}\u0000${accountId}`, 'utf8').digest('base64url');
}

/** Why a site refuses a person of `scope`, for the site's page and the person's, or undefined if it accepts them. */
export function refusalFor(accepted: readonly Scope[], scope: Scope, siteName: string): string | undefined {
  if (accepted.includes(scope)) return undefined;
  const what = scope === 'view-only' ? 'a view-only NemID (kontokig)' : scope === 'bank-only' ? 'a bank-only NemID' : 'this NemID';
  return `${siteName} does not accept ${what}; it accepts ${accepted.join(', ')} NemIDs only.`;
}
