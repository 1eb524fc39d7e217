/**
 * privacyIDEA's /validate/check decided by this server (its request read and its answer written in
 * host/privacyidea/validate-check.ts): `pass` is the code alone, or the person's password
 * followed by the code (otppin=userstore); the password alone starts the challenge flow, answered
 * with a transaction_id, and the code sent with that transaction_id completes it. Every code is
 * judged by the token service (window, replay guard, lockout, audit).
 */
import { randomInt } from 'node:crypto';
import { CodedError } from '../../protocol/coded-error.ts';
import { splitPassAndCode, type RejectReason, type ValidateCheckRequest, type ValidateVerdict } from '../privacyidea/validate-check.ts';
import type { Actor } from '../store/audit.ts';
import type { OwnerDirectory, TokenService, TokenView, VerifyOutcome } from './token-service.ts';
import type { UserPasswords } from './user-passwords.ts';

/** How long a challenge's transaction_id may be answered. */
export const CHALLENGE_TTL_MS = 120_000;
const MAX_CHALLENGES = 10_000;
/** The realm this server answers in privacyIDEA's messages: it has one. */
export const REALM = 'noegleviser';

interface Challenge {
  readonly owner: string;
  readonly serial: string;
  readonly expiresAt: number;
}

export class ValidateCheck {
  private readonly challenges = new Map<string, Challenge>();

  constructor(
    private readonly tokens: TokenService,
    private readonly options: { readonly owners?: OwnerDirectory; readonly passwords?: UserPasswords; readonly now?: () => number },
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async check(request: ValidateCheckRequest, actor: Actor): Promise<ValidateVerdict> {
    if (request.transactionId !== null) return this.answerChallenge(request, actor);
    if (request.by === 'serial') {
      const token = await this.tokens.get(request.serial).catch(() => undefined);
      if (!token) return { kind: 'serial_not_users' };
      if (request.user !== null) {
        const owner = await this.options.owners?.resolve(request.user);
        if (owner === undefined || owner !== token.owner) return { kind: 'serial_not_users' };
      }
      return this.withTokens([token], token.owner, request.pass, actor);
    }
    const owner = this.options.owners ? await this.options.owners.resolve(request.user) : request.user;
    if (owner === undefined) return { kind: 'unknown_user', user: request.user, realm: request.realm ?? REALM };
    const tokens = (await this.tokens.list({ owner })).filter((t) => t.state !== 'revoked');
    return this.withTokens(tokens, owner, request.pass, actor);
  }

  /** `pass` against a person's tokens (or one token): code alone, password and code, or the password alone (a challenge). */
  private async withTokens(tokens: readonly TokenView[], owner: string | null, pass: string, actor: Actor): Promise<ValidateVerdict> {
    const active = tokens.filter((t) => t.state === 'active');
    const usable = active[0] ?? tokens[0];
    if (!usable) return { kind: 'rejected', reason: 'no_token' };
    const digits = usable.digits;
    if (/^\d+$/.test(pass) && tokens.some((t) => t.digits === pass.length)) return this.verify(tokens, pass, actor);
    const split = splitPassAndCode(pass, digits);
    const withCode = split !== undefined && split.password !== '' && /^\d+$/.test(split.code);
    const password = withCode ? split.password : pass;
    if (!this.options.passwords || owner === null) return { kind: 'rejected', reason: 'wrong_password' };
    const person = await this.options.passwords.check(owner, password, actor);
    if (person === undefined || person !== owner) return { kind: 'rejected', reason: 'wrong_password' };
    if (withCode) return this.verify(tokens, split.code, actor);
    if (!active[0]) return this.verify(tokens, '', actor); // a blocked token still answers why
    return this.challenge(owner, active[0]);
  }

  private challenge(owner: string, token: TokenView): ValidateVerdict {
    const now = this.now();
    for (const [id, challenge] of this.challenges) {
      if (challenge.expiresAt > now && this.challenges.size < MAX_CHALLENGES) break;
      this.challenges.delete(id);
    }
    const transactionId = Array.from({ length: 20 }, () => randomInt(10)).join('');
    this.challenges.set(transactionId, { owner, serial: token.serial, expiresAt: now + CHALLENGE_TTL_MS });
    return { kind: 'challenge', transactionId, message: "Press your token's button and enter the code it shows", serial: token.serial, tokenType: token.kind };
  }

  private async answerChallenge(request: ValidateCheckRequest, actor: Actor): Promise<ValidateVerdict> {
    const challenge = this.challenges.get(request.transactionId!);
    if (!challenge || challenge.expiresAt <= this.now()) return { kind: 'rejected', reason: 'wrong_code' };
    const named = request.by === 'serial' ? request.serial === challenge.serial : (await this.options.owners?.resolve(request.user)) === challenge.owner;
    if (!named) return { kind: 'rejected', reason: 'wrong_code' };
    const token = await this.tokens.get(challenge.serial).catch(() => undefined);
    if (!token) return { kind: 'rejected', reason: 'no_token' };
    const verdict = await this.verify([token], request.pass, actor);
    if (verdict.kind === 'accepted') this.challenges.delete(request.transactionId!);
    return verdict;
  }

  /** The first of `tokens` whose code `code` is; else the last verdict (a wrong code of the wrong form is a wrong code). */
  private async verify(tokens: readonly TokenView[], code: string, actor: Actor): Promise<ValidateVerdict> {
    let last: ValidateVerdict | undefined;
    for (const token of tokens) {
      let outcome: VerifyOutcome;
      try {
        outcome = await this.tokens.verify(token.serial, code, actor);
      } catch (error) {
        if (error instanceof CodedError && error.code === 'NV_BAD_CODE') {
          last ??= { kind: 'rejected', reason: token.state === 'active' ? 'wrong_code' : (token.state as RejectReason), serial: token.serial, tokenType: token.kind };
          continue;
        }
        throw error;
      }
      if (outcome.result === 'accepted') return { kind: 'accepted', serial: token.serial, tokenType: token.kind, digits: token.digits };
      last = { kind: 'rejected', reason: outcome.locked ? 'locked' : outcome.reason, serial: token.serial, tokenType: token.kind };
    }
    return last ?? { kind: 'rejected', reason: 'no_token' };
  }
}
