/**
 * QuickJS-NG in WebAssembly (quickjs-wasi) and the firmware's bytecode: what `qjsc` does on a
 * build machine. The script is compiled once, in a VM of its own, and written as QuickJS bytecode
 * without its source text and debug information; a board (and the QuickJS target's every
 * power-on) loads that bytecode and never sees the script.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { CompileFlags, QuickJS } from 'quickjs-wasi';
import { CodedError } from '../../../protocol/coded-error.ts';

/**
 * What the bytecode leaves out. STRIP_SOURCE: the source text QuickJS otherwise keeps for every
 * function (Function.prototype.toString), about 44 KiB of RAM for this firmware. STRIP_DEBUG: the
 * file name, the line and column tables and the local variables' names, 5.3 KiB more of the
 * firmware's share (114.6 → 109.3 KiB when this was chosen), close to a tenth of the 64 KiB
 * budget. A fault's message keeps the error's kind, its text and the names of the functions on
 * the stack (`TypeError: cannot read property 'z' of undefined (at inner)`); it loses only the
 * position in the one-line minified script, which a board's log could not map back without the
 * build's source map either. `qjsc -s -s` strips the same.
 */
export const BYTECODE_STRIP = CompileFlags.STRIP_SOURCE | CompileFlags.STRIP_DEBUG;

/** The name the script is compiled under (what a stack shows when debug information is kept). */
export const FIRMWARE_FILENAME = 'noegleviser-firmware.js';

/** A compiled WebAssembly module (Node's types do not declare WebAssembly's values). */
export type WasmModule = Extract<Parameters<typeof QuickJS.create>[0], object> extends { wasm: infer W } ? Exclude<W, ArrayBuffer | ArrayBufferView> : never;
const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } };

let wasmModule: Promise<WasmModule> | undefined;

/** quickjs-wasi's WebAssembly module, compiled once per process. */
export function quickJsWasm(): Promise<WasmModule> {
  wasmModule ??= readFile(createRequire(import.meta.url).resolve('quickjs-wasi/quickjs.wasm')).then((bytes) => wasm.compile(bytes));
  return wasmModule;
}

export interface FirmwareBytecode {
  readonly bytes: Uint8Array;
  /** The QuickJS-NG version that wrote it (a reader checks the bytecode's version and refuses another). */
  readonly engineVersion: string;
}

const compiled = new Map<string, Promise<FirmwareBytecode>>();

/** `code` as stripped QuickJS bytecode, compiled once per process in a VM used for nothing else. */
export function compileToBytecode(code: string): Promise<FirmwareBytecode> {
  let bytecode = compiled.get(code);
  if (!bytecode) {
    bytecode = compile(code);
    compiled.set(code, bytecode);
    bytecode.catch(() => compiled.delete(code));
  }
  return bytecode;
}

async function compile(code: string): Promise<FirmwareBytecode> {
  const compiler = await QuickJS.create({ wasm: await quickJsWasm() });
  try {
    return { bytes: compiler.compile(code, FIRMWARE_FILENAME, 0, BYTECODE_STRIP), engineVersion: compiler.versions.quickjs ?? 'unknown' };
  } catch (error) {
    throw new CodedError('NV_FIRMWARE_BUNDLE', `the firmware did not compile to QuickJS bytecode: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    compiler.dispose();
  }
}
