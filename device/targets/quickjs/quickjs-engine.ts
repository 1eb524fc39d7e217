/**
 * The firmware bundle run inside QuickJS-NG (the engine ESP-IDF ships as a component), through
 * quickjs-emscripten's WebAssembly build: the host side of device/targets/engine/binding.ts over a
 * target's HAL. Every power-on is a fresh QuickJS runtime, as a chip's reset is: the bundle is
 * evaluated, `nvFirmware.boot` runs, and inputs go in as calls; a power cut during a HAL call
 * (the simulated flash throws) ends the call and the runtime is thrown away.
 *
 * Memory is QuickJS's own report (`memory_used_size` of JS_ComputeMemoryUsage), taken with an
 * empty context, after the bundle is loaded, after boot, and after every input and every call the
 * firmware makes to send, display or write flash (the peak). The runtime's stack is limited to
 * 32 KiB by default (JS_SetMaxStackSize).
 */
import { newQuickJSWASMModuleFromVariant, type DisposableResult, type QuickJSContext, type QuickJSHandle, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import type { EngineState } from '../../../protocol/debug/messages.ts';
import type { FirmwareConfig } from '../../firmware/token.ts';
import type { Hal, InputEvent } from '../../hal/index.ts';
import type { CoreFactory, FirmwareCore } from '../../sim/sim-token.ts';
import { FIRMWARE_GLOBAL, HOST_GLOBAL, HOST_SIGNATURES, bootConfig, hostFromHal, type BindingKind, type EngineHost } from '../engine/binding.ts';
import { CodedError } from '../../../protocol/coded-error.ts';

export const QUICKJS_STACK_LIMIT = 32 * 1024;

/**
 * The firmware's memory in QuickJS, in bytes of `memory_used_size` (README: "The firmware on a
 * chip's engine"). The issue's budgets are for its share, the runtime's use minus an empty
 * context's: 64 KiB after boot and 96 KiB at its peak. The share is about 174 KiB after boot,
 * because QuickJS keeps the firmware's code in RAM (bytecode, a function object and the source
 * text of every function, atoms): the bench marks those two budgets missed. What the tests hold:
 * the firmware's data (what boot and work add to the loaded bundle) within the issue's 64 and
 * 96 KiB, and its code (the loaded bundle) under a ceiling set just above what it is now.
 */
export const QUICKJS_BUDGET = {
  /** The issue's budget for the share after boot (used − an empty context's); missed, see above. */
  bootedShare: 64 * 1024,
  /** The issue's budget for the share's peak over 10,000 presses and 10,000 requests; missed, see above. */
  peakShare: 96 * 1024,
  /** What boot adds to the loaded bundle. */
  bootedData: 64 * 1024,
  /** The most the firmware's data reaches over 10,000 presses and 10,000 requests. */
  peakData: 96 * 1024,
  /** The loaded bundle: bytecode, functions and the source text QuickJS-NG keeps for each, atoms, constants (about 159 KiB). */
  code: 164 * 1024,
} as const;
export const QUICKJS_ENGINE_NAME = 'quickjs-ng';

/** A fault of the firmware inside the engine (an exception it did not handle, a missing builtin), not of a HAL part. */
export class EngineFault extends CodedError {
  constructor(message: string) {
    super('NV_ENGINE_FAULT', message);
    this.name = 'EngineFault';
  }
}

/** QuickJS's memory report, in bytes of `memory_used_size`. */
export interface QuickJsMemory {
  /** The runtime with an empty context and the host binding, before the bundle. */
  readonly emptyContextBytes: number;
  /** After the bundle was evaluated (its code and constants), before boot. */
  readonly loadedBytes: number;
  /** After `boot`. */
  readonly bootedBytes: number;
  /** Now. */
  readonly usedBytes: number;
  /** The highest reading since power-on (after every input, and at every send, display and flash write). */
  readonly peakBytes: number;
  /** Live allocations now (`memory_used_count`): each costs the allocator its header on a chip. */
  readonly allocations: number;
}

/** The parts of QuickJS's memory report, as JS_ComputeMemoryUsage names them (bytes). */
export const MEMORY_PARTS = {
  atoms: 'atom_size',
  strings: 'str_size',
  objects: 'obj_size',
  properties: 'prop_size',
  shapes: 'shape_size',
  /** A function's header, variables, closure slots, constant pool and the source text QuickJS-NG keeps. */
  functions: 'js_func_size',
  bytecode: 'js_func_code_size',
  /** The line tables of the functions' bytecode (debug information). */
  lineTables: 'js_func_pc2line_size',
} as const;
export type MemoryPart = keyof typeof MEMORY_PARTS;

/** What loading the bundle added to each part of the report, and the rest of `memory_used_size` (array storage, the atom and shape tables' growth, …). */
export type CodeBreakdown = Readonly<Record<MemoryPart | 'other', number>>;

function breakdown(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>): CodeBreakdown {
  const added = (field: string) => (after[field] ?? 0) - (before[field] ?? 0);
  const parts = Object.fromEntries(Object.entries(MEMORY_PARTS).map(([part, field]) => [part, added(field)])) as Record<MemoryPart, number>;
  const counted = Object.values(parts).reduce((sum, bytes) => sum + bytes, 0);
  return { ...parts, other: added('memory_used_size') - counted };
}

/** Calls after which the peak is read: the firmware holds its working memory while it sends, shows or writes. */
const OUTPUT_CALLS: ReadonlySet<keyof EngineHost> = new Set(['displayShow', 'flashProgram', 'flashErase', 'send']);
type EntryName = 'boot' | 'button' | 'received' | 'tick';

/**
 * quickjs-emscripten does not export JS_RunGC; the runtime collects cycles when its allocation
 * counter passes `malloc_gc_threshold`. A full collection sets that field to 0 and allocates one
 * object. The field's offset in JSRuntime (wasm32, QuickJS-NG 0.12.1) is checked against its
 * initial value, 256 KiB, on every runtime before it is relied on.
 */
const GC_THRESHOLD_OFFSET = 116;
const INITIAL_GC_THRESHOLD = 256 * 1024;

interface EmscriptenHeap {
  readonly HEAPU8: Uint8Array;
}

class QuickJsCore implements FirmwareCore {
  serialNumber = '';
  private readonly context: QuickJSContext;
  private readonly entry = new Map<EntryName, QuickJSHandle>();
  private readonly firmwareHandle: QuickJSHandle;
  /** The first error a HAL call threw (a power cut): the call that met it ends, and so does this runtime. */
  private fault: { readonly error: unknown } | undefined;
  private readonly gcThresholdAddress: number | undefined;
  private disposed = false;
  readonly emptyContextBytes: number;
  readonly loadedBytes: number;
  readonly codeBreakdown: CodeBreakdown;
  bootedBytes = 0;
  peakBytes = 0;

  constructor(
    private readonly module: QuickJSWASMModule,
    code: string,
    private readonly hal: Hal,
    private readonly config: FirmwareConfig,
    private readonly options: Required<QuickJsOptions>,
  ) {
    this.context = module.newContext();
    this.context.runtime.setMaxStackSize(options.stackLimitBytes);
    this.gcThresholdAddress = this.locateGcThreshold();
    try {
      this.installHost();
      const empty = this.usage();
      this.emptyContextBytes = empty.memory_used_size;
      this.unwrap(this.context.evalCode(code, 'noegleviser-firmware.js')).dispose();
      const loaded = this.usage();
      this.loadedBytes = loaded.memory_used_size;
      this.codeBreakdown = breakdown(empty, loaded);
      this.firmwareHandle = this.context.getProp(this.context.global, FIRMWARE_GLOBAL);
      for (const name of ['boot', 'button', 'received', 'tick'] as const) this.entry.set(name, this.context.getProp(this.firmwareHandle, name));
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  get alive(): boolean {
    return !this.disposed;
  }

  boot(): void {
    const configHandle = this.toHandle(bootConfig(this.hal, this.config));
    try {
      this.serialNumber = this.call('boot', configHandle).consume((serial) => this.context.getString(serial));
    } finally {
      configHandle.dispose();
    }
    this.bootedBytes = this.usedBytes();
    this.peakBytes = Math.max(this.peakBytes, this.bootedBytes);
  }

  input(event: InputEvent): void {
    switch (event.type) {
      case 'button':
        this.call('button', event.pressed ? this.context.true : this.context.false).dispose();
        break;
      case 'received': {
        const link = this.context.newNumber(event.link);
        const bytes = this.context.newArrayBuffer(event.bytes.slice().buffer);
        try {
          this.call('received', link, bytes).dispose();
        } finally {
          link.dispose();
          bytes.dispose();
        }
        break;
      }
      case 'tick':
        this.call('tick').dispose();
        break;
    }
    this.samplePeak();
  }

  usedBytes(): number {
    return this.readUsage('memory_used_size');
  }

  allocations(): number {
    return this.readUsage('memory_used_count');
  }

  /** A full garbage collection of the runtime (cycles included), as JS_RunGC does. */
  collectGarbage(): void {
    const address = this.gcThresholdAddress;
    if (address === undefined) throw new EngineFault('this QuickJS build does not show where its GC threshold is: no full collection can be forced');
    const heap = () => new DataView((Reflect.get(this.module, 'module') as EmscriptenHeap).HEAPU8.buffer);
    const threshold = heap().getUint32(address, true);
    heap().setUint32(address, 0, true);
    this.context.newObject().dispose();
    if (heap().getUint32(address, true) === 0) throw new EngineFault('the forced garbage collection did not run');
    heap().setUint32(address, threshold, true);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const handle of this.entry.values()) handle.dispose();
    this.firmwareHandle?.dispose();
    this.context.dispose();
  }

  private locateGcThreshold(): number | undefined {
    const rt = (Reflect.get(this.context.runtime, 'rt') as { value: number } | undefined)?.value;
    const heap = (Reflect.get(this.module, 'module') as EmscriptenHeap | undefined)?.HEAPU8;
    if (typeof rt !== 'number' || !heap) return undefined;
    const address = rt + GC_THRESHOLD_OFFSET;
    return new DataView(heap.buffer).getUint32(address, true) === INITIAL_GC_THRESHOLD ? address : undefined;
  }

  private samplePeak(): void {
    if (!this.options.trackPeak || this.disposed || this.fault) return;
    const used = this.usedBytes();
    if (used > this.peakBytes) this.peakBytes = used;
  }

  private readUsage(field: 'memory_used_size' | 'memory_used_count'): number {
    const report = this.context.runtime.computeMemoryUsage();
    try {
      return this.context.getProp(report, field).consume((value) => this.context.getNumber(value));
    } finally {
      report.dispose();
    }
  }

  /** The whole memory report, field by field. */
  private usage(): Readonly<Record<string, number>> & { readonly memory_used_size: number } {
    const report = this.context.runtime.computeMemoryUsage();
    try {
      return this.context.dump(report) as Record<string, number> & { memory_used_size: number };
    } finally {
      report.dispose();
    }
  }

  /** Calls an entry point and returns its result (the caller disposes it); a HAL fault met inside is thrown here as the HAL threw it. */
  private call(name: EntryName, ...args: QuickJSHandle[]): QuickJSHandle {
    if (this.disposed) throw new EngineFault('the firmware runtime is gone (power was cut)');
    return this.unwrap(this.context.callFunction(this.entry.get(name)!, this.firmwareHandle, ...args));
  }

  private unwrap(result: DisposableResult<QuickJSHandle, QuickJSHandle>): QuickJSHandle {
    if (result.error === undefined) return result.value;
    const dumped: unknown = this.context.dump(result.error);
    result.error.dispose();
    if (this.fault) throw this.fault.error;
    const error = typeof dumped === 'object' && dumped !== null ? (dumped as { name?: unknown; message?: unknown; stack?: unknown }) : { message: dumped };
    const where = /at (.+)/.exec(String(error.stack ?? ''))?.[1];
    throw new EngineFault(`the firmware failed inside QuickJS: ${String(error.name ?? 'Error')}: ${String(error.message)}${where ? ` (at ${where})` : ''}`);
  }

  /** Plain data (numbers, strings, booleans, arrays, objects) as a value in the engine. */
  private toHandle(value: unknown): QuickJSHandle {
    const context = this.context;
    if (typeof value === 'number') return context.newNumber(value);
    if (typeof value === 'string') return context.newString(value);
    if (typeof value === 'boolean') return value ? context.true : context.false;
    if (value === undefined) return context.undefined;
    if (value === null) return context.null;
    const target = Array.isArray(value) ? context.newArray() : context.newObject();
    for (const [key, item] of Object.entries(value as object)) {
      if (item === undefined) continue;
      const handle = this.toHandle(item);
      context.setProp(target, key, handle);
      handle.dispose();
    }
    return target;
  }

  /** `nvHost`: the HAL's functions (hostFromHal, as any JavaScript host has them), with their values marshalled by HOST_SIGNATURES. */
  private installHost(): void {
    const context = this.context;
    const functions = hostFromHal(this.hal) as unknown as Record<keyof EngineHost, (...args: unknown[]) => unknown>;
    const host = context.newObject();
    for (const name of Object.keys(HOST_SIGNATURES) as (keyof EngineHost)[]) {
      const [argKinds, resultKind] = HOST_SIGNATURES[name];
      const fn = context.newFunction(name, (...handles) => {
        // A chip whose power went stays dead for the rest of the call.
        if (this.fault) throw this.fault.error;
        let result: unknown;
        try {
          result = functions[name](...argKinds.map((kind, i) => this.fromHandle(kind, handles[i], name)));
        } catch (error) {
          this.fault = { error };
          throw error;
        }
        if (OUTPUT_CALLS.has(name)) this.samplePeak();
        return this.toResult(resultKind, result);
      });
      context.setProp(host, name, fn);
      fn.dispose();
    }
    context.setProp(context.global, HOST_GLOBAL, host);
    host.dispose();
  }

  private fromHandle(kind: BindingKind, handle: QuickJSHandle | undefined, name: string): unknown {
    if (!handle) throw new TypeError(`${HOST_GLOBAL}.${name} is missing an argument`);
    switch (kind) {
      case 'number':
        return this.context.getNumber(handle);
      case 'boolean':
        return this.context.dump(handle) === true;
      case 'string':
        return this.context.getString(handle);
      case 'bytes':
        return this.context.getArrayBuffer(handle).consume((view) => view.value.slice().buffer);
      case 'void':
        return undefined;
    }
  }

  private toResult(kind: BindingKind, value: unknown): QuickJSHandle | undefined {
    switch (kind) {
      case 'number':
        return this.context.newNumber(value as number);
      case 'boolean':
        return value ? this.context.true : this.context.false;
      case 'string':
        return this.context.newString(value as string);
      case 'bytes':
        return this.context.newArrayBuffer(value as ArrayBuffer);
      case 'void':
        return undefined;
    }
  }
}

export interface QuickJsOptions {
  /** JS_SetMaxStackSize for every runtime (default 32 KiB). */
  readonly stackLimitBytes?: number;
  /** Read the memory report after every input and at sends, display and flash writes (default true). */
  readonly trackPeak?: boolean;
  /** The script to run (default: the firmware bundle, built in memory). */
  readonly code?: string;
}

let loadedModule: Promise<QuickJSWASMModule> | undefined;

/** QuickJS-NG's WebAssembly module, instantiated once per process. */
function quickJsModule(): Promise<QuickJSWASMModule> {
  loadedModule ??= newQuickJSWASMModuleFromVariant(import('@jitl/quickjs-ng-wasmfile-release-sync'));
  return loadedModule;
}

/**
 * One token's firmware in QuickJS-NG: `createCore` makes a fresh runtime at every power-on; the
 * memory report is the running one's (or the last one's, while power is off).
 */
export class QuickJsEngine {
  readonly name = QUICKJS_ENGINE_NAME;
  private current: QuickJsCore | undefined;

  private constructor(
    private readonly module: QuickJSWASMModule,
    private readonly code: string,
    private readonly options: Required<QuickJsOptions>,
    /** QuickJS-NG's version, as its memory report names it. */
    readonly version: string,
  ) {}

  static async load(options: QuickJsOptions = {}): Promise<QuickJsEngine> {
    const code = options.code ?? (await (await import('../../build/firmware-bundle.ts')).firmwareBundle()).code;
    const resolved = { stackLimitBytes: options.stackLimitBytes ?? QUICKJS_STACK_LIMIT, trackPeak: options.trackPeak ?? true, code };
    const module = await quickJsModule();
    const probe = module.newContext();
    const version = /-- (\S+) version/.exec(probe.runtime.dumpMemoryUsage())?.[1] ?? 'unknown';
    probe.dispose();
    return new QuickJsEngine(module, code, resolved, version);
  }

  readonly createCore: CoreFactory = (hal, config) => {
    const core = new QuickJsCore(this.module, this.code, hal, config, this.options);
    this.current = core;
    return core;
  };

  /** The running firmware's memory, as QuickJS reports it; undefined before the first power-on. */
  memory(): QuickJsMemory | undefined {
    const core = this.current;
    if (!core) return undefined;
    const alive = core.alive;
    const usedBytes = alive ? core.usedBytes() : 0;
    return {
      emptyContextBytes: core.emptyContextBytes,
      loadedBytes: core.loadedBytes,
      bootedBytes: core.bootedBytes,
      usedBytes,
      peakBytes: Math.max(core.peakBytes, usedBytes),
      allocations: alive ? core.allocations() : 0,
    };
  }

  /** What loading the bundle added to QuickJS's memory, part by part; undefined before the first power-on. */
  codeBreakdown(): CodeBreakdown | undefined {
    return this.current?.codeBreakdown;
  }

  /** A full garbage collection of the running firmware's runtime. */
  collectGarbage(): void {
    if (!this.current) throw new EngineFault('the firmware has not been powered on');
    this.current.collectGarbage();
  }

  /** What the debug link's `state` shows: the engine, its stack limit and its memory. */
  describe(): EngineState {
    const memory = this.memory();
    return {
      name: this.name,
      version: this.version,
      stackLimitBytes: this.options.stackLimitBytes,
      ...(memory && {
        memory: {
          ...memory,
          // The firmware's share, and its parts: the loaded bundle (code) and what boot and work added (data).
          firmwareBytes: memory.usedBytes && memory.usedBytes - memory.emptyContextBytes,
          codeBytes: memory.loadedBytes - memory.emptyContextBytes,
          dataBytes: memory.usedBytes && memory.usedBytes - memory.loadedBytes,
          peakFirmwareBytes: memory.peakBytes - memory.emptyContextBytes,
        },
      }),
    };
  }
}
