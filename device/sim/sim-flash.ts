/**
 * A simulated NOR flash chip with the real part's rules (see hal/flash.ts): erased bytes read
 * 0xFF, programming ANDs, pages count their erases and wear out, and power can be cut in the middle
 * of any operation, leaving the write or erase half done.
 */
import type { Flash, FlashGeometry } from '../hal/flash.ts';

export const DEFAULT_GEOMETRY: FlashGeometry = { pageSize: 4096, pageCount: 8 };
/** Erase cycles a page survives before it starts to fail (a typical NOR datasheet figure is 10k–100k). */
export const DEFAULT_ENDURANCE = 10_000;

/** Thrown by the flash (and so out of the firmware) at the instant power is lost. */
export class PowerLossError extends Error {
  constructor() {
    super('power lost');
    this.name = 'PowerLossError';
  }
}

export interface SimFlashOptions {
  readonly geometry?: FlashGeometry;
  readonly endurance?: number;
  /** A previous image (a persisted flash file); blank flash otherwise. */
  readonly image?: Uint8Array;
  readonly eraseCounts?: Uint32Array;
  /** Told of every change, to mirror the image to a file. */
  readonly onChange?: (change: FlashChange) => void;
}

export type FlashChange = { readonly kind: 'program'; readonly address: number; readonly length: number } | { readonly kind: 'erase'; readonly page: number };

export interface PowerCutPlan {
  /** Cut during the n-th program or erase from now (1 = the next one). */
  readonly atOperation: number;
  /** How much of that operation is done when power goes, 0..1. */
  readonly fraction: number;
}

export class SimFlash implements Flash {
  readonly geometry: FlashGeometry;
  readonly endurance: number;
  readonly image: Uint8Array;
  readonly eraseCounts: Uint32Array;
  /** Programs and erases performed so far. */
  operations = 0;
  private cut: { atOperation: number; fraction: number } | undefined;
  private powered = true;

  constructor(private readonly options: SimFlashOptions = {}) {
    this.geometry = options.geometry ?? DEFAULT_GEOMETRY;
    this.endurance = options.endurance ?? DEFAULT_ENDURANCE;
    const size = this.geometry.pageSize * this.geometry.pageCount;
    this.image = options.image ?? new Uint8Array(size).fill(0xff);
    if (this.image.length !== size) throw new RangeError(`a flash image of ${this.image.length} bytes does not match ${size}`);
    this.eraseCounts = options.eraseCounts ?? new Uint32Array(this.geometry.pageCount);
  }

  /** Arms a power cut; `atOperation` counts from now. */
  armPowerCut(plan: PowerCutPlan): void {
    this.cut = { atOperation: this.operations + plan.atOperation, fraction: Math.min(1, Math.max(0, plan.fraction)) };
  }

  disarmPowerCut(): void {
    this.cut = undefined;
  }

  /** Power is back: operations work again. */
  restorePower(): void {
    this.powered = true;
  }

  read(address: number, into: Uint8Array): void {
    this.checkRange(address, into.length);
    into.set(this.image.subarray(address, address + into.length));
  }

  program(address: number, data: Uint8Array): void {
    this.checkRange(address, data.length);
    if (Math.floor(address / this.geometry.pageSize) !== Math.floor((address + Math.max(0, data.length - 1)) / this.geometry.pageSize)) {
      throw new RangeError('a program must not cross a page boundary');
    }
    const torn = this.beginOperation();
    const complete = torn === undefined ? data.length : Math.floor(data.length * torn);
    for (let i = 0; i < complete; i++) this.image[address + i]! &= data[i]!;
    if (torn !== undefined && complete < data.length) {
      // The byte being programmed when power went has only some of its bits cleared.
      this.image[address + complete]! &= data[complete]! | 0x0f;
    }
    this.options.onChange?.({ kind: 'program', address, length: data.length });
    if (torn !== undefined) throw new PowerLossError();
  }

  erase(page: number): void {
    if (!Number.isInteger(page) || page < 0 || page >= this.geometry.pageCount) throw new RangeError(`no flash page ${page}`);
    const torn = this.beginOperation();
    const base = page * this.geometry.pageSize;
    const size = this.geometry.pageSize;
    const complete = torn === undefined ? size : Math.floor(size * torn);
    this.image.fill(0xff, base, base + complete);
    this.eraseCounts[page]! += 1;
    if (this.eraseCounts[page]! > this.endurance) {
      // A worn-out page no longer erases completely: some cells stay programmed.
      for (let i = 0; i < size; i += 61) this.image[base + i] = 0;
    }
    this.options.onChange?.({ kind: 'erase', page });
    if (torn !== undefined) throw new PowerLossError();
  }

  /** undefined for a normal operation, else the fraction done before power is lost. */
  private beginOperation(): number | undefined {
    if (!this.powered) throw new PowerLossError();
    this.operations++;
    if (this.cut && this.operations === this.cut.atOperation) {
      const fraction = this.cut.fraction;
      this.cut = undefined;
      this.powered = false;
      return fraction;
    }
    return undefined;
  }

  private checkRange(address: number, length: number): void {
    if (!Number.isInteger(address) || address < 0 || address + length > this.image.length) {
      throw new RangeError(`flash access ${address}+${length} is outside the chip`);
    }
  }
}
