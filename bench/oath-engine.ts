/**
 * Codes per second on one core: this engine vs node:crypto vs otplib (dev tool, runs on Node).
 *
 *   npx tsx bench/oath-engine.ts
 */
import { createHmac } from 'node:crypto';
import { generateSync } from 'otplib';
import { createOathKey, hotpCode, type OathAlgorithm } from '../protocol/oath/index.ts';

const RUNS = 5;
const SECRET = new TextEncoder().encode('12345678901234567890');

interface Subject {
  readonly name: string;
  /** Codes per run: enough for a run to take a few hundred milliseconds. */
  readonly codes: number;
  /** Produces the 6-digit code string for `counter`. */
  readonly code: (counter: number) => string;
}

function engine(algorithm: OathAlgorithm, codes: number): Subject {
  const key = createOathKey(SECRET, algorithm);
  return { name: `engine ${algorithm}`, codes, code: (counter) => hotpCode(key, counter, 6) };
}

const counterBuffer = Buffer.alloc(8);
function nodeCode(counter: number): string {
  counterBuffer.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  counterBuffer.writeUInt32BE(counter >>> 0, 4);
  const mac = createHmac('sha1', SECRET).update(counterBuffer).digest();
  const offset = mac[19]! & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

const subjects: readonly Subject[] = [
  engine('sha1', 2_000_000),
  { name: 'node:crypto createHmac sha1', codes: 300_000, code: nodeCode },
  {
    name: 'otplib generateSync sha1',
    codes: 60_000,
    code: (counter) => generateSync({ strategy: 'hotp', secret: SECRET, counter, digits: 6, algorithm: 'sha1' }),
  },
  engine('sha256', 500_000),
  engine('sha512', 300_000),
];

// All SHA-1 subjects must agree before their speed means anything.
for (let counter = 0; counter < 1000; counter++) {
  const codes = subjects.slice(0, 3).map((s) => s.code(counter));
  if (codes.some((c) => c !== codes[0])) throw new Error(`subjects disagree at counter ${counter}: ${codes}`);
}

let sink = 0;
function codesPerSecond(subject: Subject): number {
  const start = performance.now();
  for (let counter = 0; counter < subject.codes; counter++) sink = (sink + subject.code(counter).charCodeAt(5)) | 0;
  return subject.codes / ((performance.now() - start) / 1000);
}

const medians = new Map<string, number>();
for (const subject of subjects) {
  codesPerSecond(subject); // warm-up: let the JIT settle
  const runs: number[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(codesPerSecond(subject));
  runs.sort((a, b) => a - b);
  const median = runs[Math.floor(RUNS / 2)]!;
  medians.set(subject.name, median);
  const spread = runs.map((r) => Math.round(r / 1000)).join(' ');
  const rate = Math.round(median).toLocaleString('en').padStart(11);
  console.log(`${subject.name.padEnd(30)} ${rate} codes/s  (runs, k/s: ${spread})`);
}

const engineSha1 = medians.get('engine sha1')!;
console.log(`\nengine sha1 / node:crypto: ${(engineSha1 / medians.get('node:crypto createHmac sha1')!).toFixed(1)}x`);
console.log(`engine sha1 / otplib:      ${(engineSha1 / medians.get('otplib generateSync sha1')!).toFixed(1)}x`);
console.log(`(6-digit string codes, 20-byte key, median of ${RUNS} runs; sink ${sink})`);
