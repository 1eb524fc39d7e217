/**
 * Non-volatile NOR flash, with the rules of the real part: an erased page reads 0xFF, programming
 * can only clear bits (new = old AND data), only a page erase sets them again, and every page
 * survives a limited number of erases. Operations are synchronous, as a blocking flash driver is.
 * A failed or worn page shows itself only through what reads back.
 */
export interface FlashGeometry {
  readonly pageSize: number;
  readonly pageCount: number;
}

export interface Flash {
  readonly geometry: FlashGeometry;
  /** Copies `into.length` bytes starting at `address` into `into`. */
  read(address: number, into: Uint8Array): void;
  /** Programs `data` at `address`; must not cross a page boundary. */
  program(address: number, data: Uint8Array): void;
  erase(page: number): void;
}
