/** The hardware random number generator. */
export interface Rng {
  fill(bytes: Uint8Array): void;
}
