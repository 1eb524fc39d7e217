/**
 * The parts of johnny-five this target uses, typed as it uses them (johnny-five ships no types).
 * It is loaded only when a board target starts.
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';

export interface J5Board extends EventEmitter {
  readonly isReady: boolean;
}

export interface J5Button extends EventEmitter {
  readonly isDown: boolean;
}

export interface J5Digits {
  on(): unknown;
  off(): unknown;
  /** Sends a raw byte to digit register `index + 1` of device `address`. */
  sendDigit(address: number, index: number, byte: number): unknown;
  brightness(percent: number): unknown;
}

export interface J5Lcd {
  clear(): J5Lcd;
  cursor(row: number, column: number): J5Lcd;
  print(text: string): J5Lcd;
}

export interface J5Led {
  on(): unknown;
  off(): unknown;
}

export interface J5Piezo {
  frequency(hertz: number, durationMs: number): unknown;
  /** Stops the tone now. */
  off(): unknown;
}

export interface JohnnyFive {
  Board: new (options: Record<string, unknown>) => J5Board;
  Button: new (options: Record<string, unknown>) => J5Button;
  Led: (new (options: Record<string, unknown> | number) => J5Led) & { Digits: new (options: Record<string, unknown>) => J5Digits };
  LCD: new (options: Record<string, unknown>) => J5Lcd;
  Piezo: new (options: Record<string, unknown> | number) => J5Piezo;
}

const require = createRequire(import.meta.url);

export function loadJohnnyFive(): JohnnyFive {
  return require('johnny-five') as JohnnyFive;
}
