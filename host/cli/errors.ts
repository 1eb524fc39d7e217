/** How the CLI fails: one line, a stable code, a non-zero exit, never a stack trace. */
import { BridgeError } from '../bridge/link.ts';

export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** 2 for a usage error (the command line is wrong), 1 for everything else. */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Ends a command with a non-zero exit after it has printed its result (e.g. a code the server rejected). */
export class CommandExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'CommandExit';
  }
}

export function usageError(code: string, message: string): CliError {
  return new CliError(code, message, 2);
}

/** Any error as its code, its message, the one line the CLI prints and the exit code it returns. */
export function describeFailure(error: unknown): { code: string; message: string; line: string; exitCode: number } {
  const coded = (code: string, message: string, exitCode: number) => ({ code, message, line: `${message} [${code}]`, exitCode });
  if (error instanceof CliError) return coded(error.code, error.message, error.exitCode);
  if (error instanceof BridgeError) return coded(error.code, error.message, 1);
  const other = error as { code?: unknown; message?: unknown };
  if (error instanceof Error && typeof other.code === 'string' && /^NV_[A-Z_]+$/.test(other.code)) {
    // A bad argument is a usage error wherever it is found (the device's commands check their own).
    return coded(other.code, error.message, other.code === 'NV_BAD_ARGUMENT' ? 2 : 1);
  }
  const message = error instanceof Error ? error.message : String(error);
  return coded('NV_INTERNAL', `unexpected failure: ${message.split('\n')[0]}`, 1);
}

/** A commander argument parser for a whole number in [min, max]; anything else is a usage error. */
export function wholeNumber(name: string, min: number, max: number): (text: string) => number {
  return (text) => {
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      throw usageError('NV_BAD_ARGUMENT', `${name} must be a whole number from ${min} to ${max}, not "${text}"`);
    }
    return Number(text);
  };
}
