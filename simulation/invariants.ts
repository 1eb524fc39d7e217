/** The invariants a simulated year must keep, by name; a broken one fails the command. */
import { CodedError } from '../protocol/coded-error.ts';

export const INVARIANTS = {
  'no-code-accepted-twice': 'no code is ever accepted twice (each accepted HOTP counter and TOTP step is new, a form sent twice is refused)',
  'hotp-stays-usable': 'every HOTP token never more than the resync window ahead stays usable through look-ahead and resync',
  'totp-stays-verifiable': 'every TOTP token within its drift model stays verifiable, with the drift the server learns',
  'battery-runs-out-as-modelled': 'the tokens the battery model dooms run out by the day it says, and show it',
  'flash-within-erase-limit': 'no flash page is erased more often than its part is rated for',
  'lost-token-refused': 'a token reported lost is never accepted again',
} as const;

export type InvariantName = keyof typeof INVARIANTS;

export interface InvariantResult {
  readonly name: InvariantName;
  readonly description: string;
  /** How many times it was checked. */
  readonly checked: number;
  readonly broken: number;
  /** The first few breaks, in words (no seed, no code). */
  readonly examples: readonly string[];
}

export class InvariantLedger {
  private readonly checks = new Map<InvariantName, { checked: number; broken: number; examples: string[] }>();

  constructor() {
    for (const name of Object.keys(INVARIANTS) as InvariantName[]) this.checks.set(name, { checked: 0, broken: 0, examples: [] });
  }

  /** Counts one check of `name`; when `held` is false, `why` says what broke. */
  check(name: InvariantName, held: boolean, why: () => string): void {
    const entry = this.checks.get(name)!;
    entry.checked++;
    if (held) return;
    entry.broken++;
    if (entry.examples.length < 5) entry.examples.push(why());
  }

  results(): InvariantResult[] {
    return [...this.checks].map(([name, entry]) => ({ name, description: INVARIANTS[name], checked: entry.checked, broken: entry.broken, examples: [...entry.examples] }));
  }
}

/** The command's failure when an invariant broke: one line naming each broken one. */
export function invariantFailure(results: readonly InvariantResult[]): CodedError | undefined {
  const broken = results.filter((r) => r.broken > 0);
  if (broken.length === 0) return undefined;
  const parts = broken.map((r) => `${r.name} (${r.broken} of ${r.checked} checks; first: ${r.examples[0] ?? '?'})`);
  return new CodedError('NV_SIM_INVARIANT', `a simulated invariant broke: ${parts.join('; ')}`);
}
