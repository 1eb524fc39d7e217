/**
 * Prepared OATH keys, kept between requests: opening a sealed seed (AES-GCM) and preparing its
 * HMAC state costs more than checking a window of codes with it. A key is as secret as its seed,
 * so the cache lives only in this process's memory, holds at most `capacity` keys (the least
 * recently used is destroyed first), and a key is used only for the very sealed seed it came from.
 */
import { createOathKey, type OathAlgorithm, type OathKey } from '../../protocol/oath/index.ts';
import type { SeedVault } from './seed-vault.ts';

interface Entry {
  readonly sealed: Uint8Array;
  readonly algorithm: OathAlgorithm;
  readonly key: OathKey;
}

export class KeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly vault: SeedVault,
    private readonly capacity = 10_000,
  ) {}

  /** The prepared key of a token's sealed seed. */
  get(serial: string, sealed: Uint8Array, algorithm: OathAlgorithm): OathKey {
    const cached = this.entries.get(serial);
    if (cached && cached.algorithm === algorithm && sameBytes(cached.sealed, sealed)) {
      this.entries.delete(serial);
      this.entries.set(serial, cached);
      return cached.key;
    }
    this.forget(serial);
    const seed = this.vault.open('seed', serial, sealed);
    const key = createOathKey(seed, algorithm);
    seed.fill(0);
    this.entries.set(serial, { sealed: sealed.slice(), algorithm, key });
    if (this.entries.size > this.capacity) this.forget(this.entries.keys().next().value!);
    return key;
  }

  forget(serial: string): void {
    this.entries.get(serial)?.key.destroy();
    this.entries.delete(serial);
  }

  clear(): void {
    for (const serial of [...this.entries.keys()]) this.forget(serial);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
