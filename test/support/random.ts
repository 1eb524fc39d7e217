/**
 * Seeded pseudo-random numbers for tests, so a failure reproduces from the seed it prints:
 * Marsaglia's xorshift32 (shifts 13, 17, 5). Every generator here draws from that one sequence, and
 * the tests quote seeds whose runs depend on it: do not change the algorithm or how a value is
 * taken from a state. Not for secrets.
 */

/** The next xorshift32 state on each call, as an unsigned 32-bit integer (never 0). A seed of 0 counts as 1. */
export function xorshift32(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

/** A float in [0, 1) on each call: the xorshift32 state over 2^32. */
export function uniform(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 0x1_0000_0000;
}

/** Fills `bytes` from a `xorshift32` generator, one state a byte, keeping its low eight bits. */
function fillBytes(next: () => number, bytes: Uint8Array): Uint8Array {
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
  return bytes;
}

/** `length` fresh bytes from a `xorshift32` generator, as `fillBytes` takes them. */
export function randomBytes(next: () => number, length: number): Uint8Array {
  return fillBytes(next, new Uint8Array(length));
}

/** A seeded byte source of the shape `SimRng` and other fill-a-buffer APIs take. */
export function seededBytes(seed: number): (bytes: Uint8Array) => void {
  const next = xorshift32(seed);
  return (bytes) => {
    fillBytes(next, bytes);
  };
}
