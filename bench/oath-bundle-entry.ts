/**
 * A bundle entry for the bench: the OATH engine as the firmware bundle has it (the compact parts),
 * to time codes inside an engine. `nvOathBench(codes)` makes that many HOTP codes and returns a
 * checksum of them (so that no engine can skip the work), and `nvOathCodes(n)` the first n codes
 * of RFC 4226's seed.
 */
import { createOathKey, hotpCode } from '../protocol/oath/index.ts';

const key = createOathKey(Uint8Array.from('12345678901234567890', (c) => c.charCodeAt(0)), 'sha1');
const global = globalThis as unknown as Record<string, unknown>;
global.nvOathBench = (codes: number): number => {
  let sum = 0;
  for (let counter = 0; counter < codes; counter++) sum = (sum + hotpCode(key, counter, 6).charCodeAt(5)) | 0;
  return sum;
};
global.nvOathCodes = (n: number): string => Array.from({ length: n }, (_, counter) => hotpCode(key, counter, 6)).join(' ');
