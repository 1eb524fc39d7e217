/** How the CLI fails: one line, a stable code, a non-zero exit, never a stack trace. */
import { CodedError } from '../../protocol/coded-error.ts';

/** The command line is wrong (a bad flag, a missing argument): exit 2, where any other failure exits 1. */
export class UsageError extends CodedError {}

/** Ends a command with a non-zero exit after it has printed its result (e.g. a code the server rejected). */
export class CommandExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'CommandExit';
  }
}

export function usageError(code: string, message: string): UsageError {
  return new UsageError(code, message);
}

/** Any error as its code, its message, the one line the CLI prints and the exit code it returns. */
export function describeFailure(error: unknown): { code: string; message: string; line: string; exitCode: number } {
  const coded = (code: string, message: string, exitCode: number) => ({ code, message, line: `${message} [${code}]`, exitCode });
  if (error instanceof CodedError) {
    // A bad argument is a usage error wherever it is found (the device's commands check their own).
    return coded(error.code, error.message, error instanceof UsageError || error.code === 'NV_BAD_ARGUMENT' ? 2 : 1);
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
