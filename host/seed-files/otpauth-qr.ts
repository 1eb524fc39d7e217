/**
 * An otpauth:// URI as a QR code drawn in a terminal with half-block characters (two modules a
 * character row), for a phone authenticator app to scan from the screen (`enroll --generate`).
 * The lit characters are the light modules, which suits a terminal with a dark background;
 * `invert` draws for a light one.
 */
import { renderUnicodeCompact } from 'uqr';

export interface TerminalQrOptions {
  /** For a terminal with dark text on a light background. */
  readonly invert?: boolean;
}

/** Error correction M and a two-module quiet zone: scans from a screen, stays small enough for 80 columns. */
export const TERMINAL_QR = { ecc: 'M', border: 2 } as const;

export function terminalQr(uri: string, options: TerminalQrOptions = {}): string {
  return renderUnicodeCompact(uri, { ...TERMINAL_QR, invert: options.invert === true });
}
