/**
 * `errors.ts` as the firmware bundle has it (device/build/firmware-bundle.ts swaps one for the
 * other): the same ProtocolError, without the codes' descriptions in its message. A token answers
 * with the code and detail only, never the message; the descriptions (TOKEN_ERRORS) are the hosts'
 * to show, and would cost the token's engine about 2 KiB of RAM for text it never sends.
 */
import type { TokenErrorCode } from './errors.ts';

export type { TokenErrorCode } from './errors.ts';

/** An error the token reports to a host. `detail` is one word (no spaces), e.g. the offending argument's name. */
export class ProtocolError extends Error {
  // Set in the constructor, not declared as class fields: a class with fields costs an engine like
  // QuickJS one more function (their initialiser).
  declare readonly code: TokenErrorCode;
  declare readonly detail?: string;

  constructor(code: TokenErrorCode, detail?: string) {
    super(detail ? `${code} (${detail})` : code);
    this.code = code;
    this.detail = detail;
    this.name = 'ProtocolError';
  }
}
