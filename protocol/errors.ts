/**
 * The coded errors a token answers with (`<ID err code=NAME [detail=WORD]`).
 * Names are the wire form; they never change meaning within a protocol version.
 */
export const TOKEN_ERRORS = {
  unknown_command: 'the token does not know this command',
  bad_frame: 'the line is not a well-formed protocol frame',
  bad_crc: 'the frame failed its integrity check',
  too_long: 'the line is longer than the protocol allows',
  bad_argument: 'an argument is missing, unknown or out of range',
  not_enrolled: 'the token holds no seed yet',
  already_enrolled: 'the token already holds a seed; wipe it first',
  denied: 'the token refused (not confirmed on the device, or not allowed)',
  busy: 'the token is waiting for a confirmation on the device',
  unsupported_version: 'the token does not speak the requested protocol version',
  storage_failure: 'the token could not write its flash memory',
  low_battery: 'the battery is too low for this operation',
} as const;

export type TokenErrorCode = keyof typeof TOKEN_ERRORS;

export function isTokenErrorCode(name: string): name is TokenErrorCode {
  return Object.prototype.hasOwnProperty.call(TOKEN_ERRORS, name);
}

/**
 * An error the token reports to a host. `detail` is one word (no spaces), e.g. the offending
 * argument's name. The firmware bundle has errors-compact.ts's instead (its message without the
 * description): keep the two alike.
 */
export class ProtocolError extends Error {
  // Set in the constructor, not declared as class fields: a class with fields costs an engine like
  // QuickJS one more function (their initialiser), kept in the firmware's RAM.
  declare readonly code: TokenErrorCode;
  declare readonly detail?: string;

  constructor(code: TokenErrorCode, detail?: string) {
    super(detail ? `${code}: ${TOKEN_ERRORS[code]} (${detail})` : `${code}: ${TOKEN_ERRORS[code]}`);
    this.code = code;
    this.detail = detail;
    this.name = 'ProtocolError';
  }
}
