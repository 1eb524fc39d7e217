/**
 * Where an enrolment's seed comes from: `--seed HEX`, a file or standard input (so the seed need
 * not sit in shell history), or `--generate`. Error messages never echo the seed.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { hexToBytes } from '../../protocol/bytes.ts';
import { MAX_SECRET_BYTES } from '../../protocol/commands.ts';
import { usageError } from './errors.ts';

export type SeedFormat = 'hex' | 'base32';

export { RECOMMENDED_MIN_SECRET_BYTES } from '../../protocol/commands.ts';

const require = createRequire(import.meta.url);

/** otplib, loaded the first time a command needs it (most commands never do). */
export function otplib(): typeof import('otplib') {
  return require('otplib') as typeof import('otplib');
}

let base32Plugin: InstanceType<typeof import('otplib').ScureBase32Plugin> | undefined;
function base32(): InstanceType<typeof import('otplib').ScureBase32Plugin> {
  base32Plugin ??= new (otplib().ScureBase32Plugin)();
  return base32Plugin;
}

export function parseSeed(text: string, format: SeedFormat, source: string): Uint8Array {
  const cleaned = text.replace(/[\s-]/g, '');
  let bytes: Uint8Array | undefined;
  if (format === 'hex') {
    bytes = hexToBytes(cleaned);
    if (!bytes) throw usageError('NV_BAD_SEED', `the seed from ${source} is not hexadecimal (an even number of 0-9, a-f)`);
  } else {
    try {
      bytes = base32().decode(cleaned.toUpperCase().replace(/=+$/, ''));
    } catch {
      throw usageError('NV_BAD_SEED', `the seed from ${source} is not base32 (A-Z, 2-7)`);
    }
  }
  if (bytes.length === 0) throw usageError('NV_BAD_SEED', `the seed from ${source} is empty`);
  if (bytes.length > MAX_SECRET_BYTES) {
    throw usageError('NV_BAD_SEED', `the seed from ${source} is ${bytes.length} bytes; a token holds at most ${MAX_SECRET_BYTES}`);
  }
  return bytes;
}

export function readSeedFile(file: string, format: SeedFormat, stdin: number = 0): Uint8Array {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? stdin : file, 'utf8');
  } catch (error) {
    throw usageError('NV_BAD_SEED', `cannot read the seed from ${file === '-' ? 'standard input' : file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseSeed(text, format, file === '-' ? 'standard input' : file);
}

export function encodeBase32(bytes: Uint8Array): string {
  return base32().encode(bytes);
}
