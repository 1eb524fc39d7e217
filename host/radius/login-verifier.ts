/**
 * The RADIUS front's decisions, made by the login service the web login uses (host/service): a PAP
 * password followed by the token's code is one step (Accept or Reject); the password alone starts
 * the seed's two steps, answered with an Access-Challenge whose State names the login under way and
 * whose message asks for what step 2 asks at the web ("Enter the key for number 4711" for a code
 * card, "Press your token's button…" for a token); the key or code sent back with that State ends
 * it. Wrong passwords, keys and codes count toward the same lockouts as at the web login, and each
 * step is audited there (login.password, login.key, verify).
 */
import { randomBytes } from 'node:crypto';
import { CodedError } from '../../protocol/coded-error.ts';
import type { Actor } from '../store/audit.ts';
import type { AskedStep } from '../service/login.ts';
import type { NemIdService } from '../service/service.ts';
import type { TokenService } from '../server/token-service.ts';
import type { RadiusDecision, RadiusOrigin, RadiusVerifier } from './verifier.ts';

/** How long a challenge's State may be answered. */
export const RADIUS_CHALLENGE_TTL_MS = 120_000;
const MAX_PENDING = 10_000;

interface PendingLogin {
  readonly user: string;
  readonly personId: string;
  readonly step: AskedStep;
  readonly expiresAt: number;
}

const actorOf = (origin: RadiusOrigin): Actor => ({ name: `radius:${origin.client}`, ip: origin.address });

/** A coded refusal of the login as a Reject: its code for the audit, its sentence for the person. */
function refusal(error: unknown): RadiusDecision {
  if (error instanceof CodedError && error.status !== undefined && error.status < 500) return { kind: 'reject', reason: error.code, message: error.message };
  throw error;
}

export class LoginRadiusVerifier implements RadiusVerifier {
  private readonly pending = new Map<string, PendingLogin>();

  constructor(
    private readonly service: NemIdService,
    /** The person's tokens, to tell how many digits end a password+code. */
    private readonly tokens: Pick<TokenService, 'list'>,
    private readonly now: () => number = Date.now,
  ) {}

  async authenticate({ user, password, origin }: { user: string; password: string; origin: RadiusOrigin }): Promise<RadiusDecision> {
    const actor = actorOf(origin);
    const split = await this.splitCode(user, password);
    try {
      const person = await this.service.login.password(user, split ? split.password : password, actor);
      if (split) {
        const step = await this.service.login.askedStep(person.id, null);
        return this.finish(await this.service.login.key(person.id, step, split.code, actor));
      }
      const second = await this.service.login.secondStep(person, null);
      const step: AskedStep = second.method === 'card' ? { method: 'card', cardSerial: second.cardSerial } : { method: second.method, tokenSerial: second.tokenSerial };
      const message =
        second.method === 'card'
          ? `Enter the key for number ${second.number}`
          : second.method === 'token'
            ? "Press your token's button and enter the code it shows"
            : 'Enter the temporary password for your lost code token';
      return { kind: 'challenge', message, state: this.remember({ user, personId: person.id, step, expiresAt: this.now() + RADIUS_CHALLENGE_TTL_MS }) };
    } catch (error) {
      return refusal(error);
    }
  }

  async answerChallenge({ user, state, response, origin }: { user: string; state: Uint8Array; response: string; origin: RadiusOrigin }): Promise<RadiusDecision> {
    const key = Buffer.from(state).toString('hex');
    const login = this.pending.get(key);
    // One answer per challenge: a wrong one ends it (the client starts over with the password).
    this.pending.delete(key);
    if (!login || login.expiresAt <= this.now() || login.user !== user) return { kind: 'reject', reason: 'unknown_state', message: 'The login has expired; start again' };
    try {
      return this.finish(await this.service.login.key(login.personId, login.step, response, actorOf(origin)));
    } catch (error) {
      return refusal(error);
    }
  }

  private finish(result: { readonly next: 'choose-credentials' | 'done' }): RadiusDecision {
    if (result.next === 'choose-credentials') return { kind: 'reject', reason: 'choose_credentials', message: 'Log in at the web once to choose your user-id and password' };
    return { kind: 'accept' };
  }

  /**
   * Password and code apart, when `password` ends in as many digits as the person's active token
   * shows and has more before them; otherwise it is the password alone (the two-step flow). A
   * person with only a code card always gets the two steps: a card key needs its number shown.
   */
  private async splitCode(user: string, password: string): Promise<{ password: string; code: string } | undefined> {
    const token = (await this.tokens.list({ owner: user })).find((t) => t.state === 'active');
    if (!token || password.length <= token.digits) return undefined;
    const code = password.slice(-token.digits);
    return /^\d+$/.test(code) ? { password: password.slice(0, -token.digits), code } : undefined;
  }

  private remember(login: PendingLogin): Uint8Array {
    const now = this.now();
    for (const [id, entry] of this.pending) {
      if (entry.expiresAt > now && this.pending.size < MAX_PENDING) break;
      this.pending.delete(id);
    }
    const state = randomBytes(16);
    this.pending.set(state.toString('hex'), login);
    return state;
  }
}
