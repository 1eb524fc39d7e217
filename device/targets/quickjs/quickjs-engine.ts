/**
 * The firmware bundle run inside QuickJS-NG (the engine ESP-IDF ships as a component), through
 * quickjs-wasi's WebAssembly build, as a board runs it: the script is compiled once to bytecode
 * without its source text or debug information (quickjs-bytecode.ts, `qjsc` on a build machine),
 * and every power-on is a fresh QuickJS runtime that loads that bytecode, runs `nvFirmware.boot`,
 * and takes inputs as calls. A power cut during a HAL call (the simulated flash throws) ends the
 * call, and the runtime with it.
 *
 * One engine is one chip: its RAM is one WebAssembly instance, set up once (a QuickJS runtime and
 * context with the host binding installed, as a board's C start-up leaves them) and copied aside;
 * each power-on copies that image back, as a reset leaves a chip's RAM at what its start-up
 * makes, and loads the bytecode anew. (A new WebAssembly instance per power-on cannot be had
 * synchronously, and a power-on is synchronous.) A core still running when the next one powers
 * on is dead from then on.
 *
 * Memory is QuickJS's own report (`memory_used_size` of JS_ComputeMemoryUsage), taken with an
 * empty context, after the bytecode is loaded, after boot, and after every input and every call
 * the firmware makes to send, display or write flash (the peak). The runtime's stack is limited to
 * 32 KiB by default (JS_SetMaxStackSize).
 */
import { JSException, QuickJS, type JSValueHandle, type MemoryUsage } from 'quickjs-wasi';
import type { EngineState } from '../../../protocol/debug/messages.ts';
import type { FirmwareConfig } from '../../firmware/token.ts';
import type { Hal, InputEvent } from '../../hal/index.ts';
import type { CoreFactory, FirmwareCore } from '../../sim/sim-token.ts';
import { FIRMWARE_GLOBAL, HOST_GLOBAL, HOST_SIGNATURES, bootConfig, hostFromHal, type BindingKind, type EngineHost } from '../engine/binding.ts';
import { CodedError } from '../../../protocol/coded-error.ts';
import { compileToBytecode, quickJsWasm } from './quickjs-bytecode.ts';

export const QUICKJS_STACK_LIMIT = 32 * 1024;

/**
 * The firmware's memory in QuickJS, in bytes of `memory_used_size` (README: "The firmware on a
 * chip's engine"), for a token with a line link and a HID link as the emulator runs it. The
 * issue's budgets are for its share, the runtime's use minus an empty context's: 64 KiB after
 * boot and 96 KiB at its peak over 10,000 presses and 10,000 requests. The tests hold both.
 */
export const QUICKJS_BUDGET = {
  /** The share after boot (used − an empty context's). */
  bootedShare: 64 * 1024,
  /** The share's peak over 10,000 presses and 10,000 requests. */
  peakShare: 96 * 1024,
} as const;
export const QUICKJS_ENGINE_NAME = 'quickjs-ng';

/**
 * QuickJS's own allocation limit (JS_SetMemoryLimit, counted in blocks as the WebAssembly allocator
 * hands them out: about 290 KiB after boot) for the firmware's runtime: not a budget (the budgets
 * above are), but more than a C3 could give QuickJS, and a bound that keeps the chip's RAM inside
 * its image (see QuickJsChip).
 */
const MEMORY_LIMIT = 512 * 1024;
/** Free heap the image holds beyond what the runtime uses at start-up: more than MEMORY_LIMIT allows it to take. */
const HEAP_RESERVE = 1024 * 1024;

/** A fault of the firmware inside the engine (an exception it did not handle, a missing builtin), not of a HAL part. */
export class EngineFault extends CodedError {
  constructor(message: string) {
    super('NV_ENGINE_FAULT', message);
    this.name = 'EngineFault';
  }
}

/** QuickJS's memory report, in bytes of `memory_used_size`. */
export interface QuickJsMemory {
  /** The runtime with an empty context and the host binding, before the bytecode. */
  readonly emptyContextBytes: number;
  /** After the bytecode was loaded and run (its functions and constants), before boot. */
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

/** The parts of QuickJS's memory report (JS_ComputeMemoryUsage's fields, as quickjs-wasi names them). */
export const MEMORY_PARTS = {
  atoms: 'atomSize',
  strings: 'strSize',
  objects: 'objSize',
  properties: 'propSize',
  shapes: 'shapeSize',
  /** A function's header, variables, closure slots and constant pool. */
  functions: 'jsFuncSize',
  bytecode: 'jsFuncCodeSize',
  /** The line tables of the functions' bytecode (debug information; none in stripped bytecode). */
  lineTables: 'jsFuncPc2lineSize',
} as const satisfies Record<string, keyof MemoryUsage>;
export type MemoryPart = keyof typeof MEMORY_PARTS;

/** What loading the bytecode added to each part of the report, and the rest of `memory_used_size` (array storage, the atom and shape tables' growth, …). */
export type CodeBreakdown = Readonly<Record<MemoryPart | 'other', number>>;

function breakdown(before: MemoryUsage, after: MemoryUsage): CodeBreakdown {
  const added = (field: keyof MemoryUsage) => after[field] - before[field];
  const parts = Object.fromEntries(Object.entries(MEMORY_PARTS).map(([part, field]) => [part, added(field)])) as Record<MemoryPart, number>;
  const counted = Object.values(parts).reduce((sum, bytes) => sum + bytes, 0);
  return { ...parts, other: added('memoryUsedSize') - counted };
}

/** Calls after which the peak is read: the firmware holds its working memory while it sends, shows or writes. */
const OUTPUT_CALLS: ReadonlySet<keyof EngineHost> = new Set(['displayShow', 'flashProgram', 'flashErase', 'send']);
type EntryName = 'boot' | 'button' | 'received' | 'tick';

/** The host's side of a call from the firmware: the core that is running takes it. */
type HostCall = (name: keyof EngineHost, args: readonly JSValueHandle[]) => JSValueHandle;

/**
 * One chip's RAM: a QuickJS runtime in a WebAssembly instance, with a context and `nvHost`, and
 * the image of that RAM as start-up leaves it. `reset` puts the image back. The image holds
 * HEAP_RESERVE of free heap and QuickJS may allocate at most MEMORY_LIMIT, so the instance's
 * memory never grows past the image (it cannot shrink back, and the allocator's state in the
 * image would not know the growth).
 */
class QuickJsChip {
  /** Bumped at every reset: handles from an earlier power-on point into RAM that is gone. */
  generation = 0;
  /** Handles returned to the firmware by host calls, freed at the next call (QuickJS took its own reference). */
  private returned: JSValueHandle[] = [];
  private onHostCall: HostCall | undefined;

  private constructor(
    readonly vm: QuickJS,
    private readonly memory: { readonly buffer: ArrayBuffer },
    private readonly stackPointer: { value: number },
    private image: Uint8Array,
    private imageStackPointer: number,
  ) {}

  static async start(stackLimitBytes: number): Promise<QuickJsChip> {
    const vm = await QuickJS.create({ wasm: await quickJsWasm(), maxStackSize: stackLimitBytes, memoryLimit: MEMORY_LIMIT });
    const exports = vm._getExports();
    const reserve = exports.malloc(HEAP_RESERVE);
    exports.free(reserve);
    const chip = new QuickJsChip(vm, exports.memory, exports.__stack_pointer, new Uint8Array(0), 0);
    // The handles quickjs-wasi caches must be in the image, or they would point into RAM a reset wipes.
    void [vm.global, vm.undefined, vm.null, vm.true, vm.false];
    chip.installHost();
    vm.runGC();
    chip.image = new Uint8Array(exports.memory.buffer).slice();
    chip.imageStackPointer = chip.stackPointer.value;
    return chip;
  }

  /** RAM as start-up left it; `onHostCall` takes the firmware's calls from now on. */
  reset(onHostCall: HostCall): number {
    if (this.memory.buffer.byteLength !== this.image.byteLength) throw new EngineFault('the QuickJS runtime grew past its image: the chip cannot be reset');
    new Uint8Array(this.memory.buffer).set(this.image);
    this.stackPointer.value = this.imageStackPointer;
    this.returned = [];
    this.onHostCall = onHostCall;
    return ++this.generation;
  }

  /** Frees the handles host calls returned (their values live on in QuickJS as long as it holds them). */
  release(): void {
    for (const handle of this.returned) handle.dispose();
    this.returned = [];
  }

  usage(): MemoryUsage {
    return this.vm.getMemoryUsage();
  }

  /** `nvHost`: one function per binding call, each passing its call to the running core. */
  private installHost(): void {
    const vm = this.vm;
    const host = vm.newObject();
    for (const name of Object.keys(HOST_SIGNATURES) as (keyof EngineHost)[]) {
      const fn = vm.newFunction(name, (...args) => {
        this.release();
        if (!this.onHostCall) throw new TypeError(`${HOST_GLOBAL}.${name}: no firmware is running`);
        const result = this.onHostCall(name, args);
        this.returned.push(result);
        return result;
      });
      host.setProp(name, fn);
      fn.dispose();
    }
    vm.global.setProp(HOST_GLOBAL, host);
    host.dispose();
  }
}

class QuickJsCore implements FirmwareCore {
  serialNumber = '';
  private readonly vm: QuickJS;
  private readonly generation: number;
  private readonly entry = new Map<EntryName, JSValueHandle>();
  private readonly firmwareHandle: JSValueHandle;
  private readonly functions: Record<keyof EngineHost, (...args: unknown[]) => unknown>;
  /** The first error a HAL call threw (a power cut): the call that met it ends, and so does this runtime. */
  private fault: { readonly error: unknown } | undefined;
  private disposed = false;
  readonly emptyContextBytes: number;
  readonly loadedBytes: number;
  readonly codeBreakdown: CodeBreakdown;
  bootedBytes = 0;
  peakBytes = 0;

  constructor(
    private readonly chip: QuickJsChip,
    bytecode: Uint8Array,
    private readonly hal: Hal,
    private readonly config: FirmwareConfig,
    private readonly options: Required<QuickJsOptions>,
  ) {
    this.vm = chip.vm;
    this.functions = hostFromHal(hal) as unknown as Record<keyof EngineHost, (...args: unknown[]) => unknown>;
    this.generation = chip.reset((name, args) => this.hostCall(name, args));
    const empty = chip.usage();
    this.emptyContextBytes = empty.memoryUsedSize;
    this.guard(() => this.vm.evalBytecode(bytecode)).dispose();
    const loaded = chip.usage();
    this.loadedBytes = loaded.memoryUsedSize;
    this.codeBreakdown = breakdown(empty, loaded);
    this.firmwareHandle = this.vm.global.getProp(FIRMWARE_GLOBAL);
    for (const name of ['boot', 'button', 'received', 'tick'] as const) this.entry.set(name, this.firmwareHandle.getProp(name));
  }

  /** Whether this core's runtime is the chip's running one. */
  get alive(): boolean {
    return !this.disposed && this.chip.generation === this.generation;
  }

  boot(): void {
    // Plain data; JSON drops the fields left undefined, as a C host building it from JSON would.
    const configHandle = this.vm.hostToHandle(JSON.parse(JSON.stringify(bootConfig(this.hal, this.config))));
    try {
      this.serialNumber = this.call('boot', configHandle).consume((serial) => serial.toString());
    } finally {
      if (this.alive) configHandle.dispose();
    }
    this.bootedBytes = this.usedBytes();
    this.peakBytes = Math.max(this.peakBytes, this.bootedBytes);
  }

  input(event: InputEvent): void {
    switch (event.type) {
      case 'button':
        this.call('button', event.pressed ? this.vm.true : this.vm.false).dispose();
        break;
      case 'received': {
        const link = this.vm.newNumber(event.link);
        const bytes = this.vm.newArrayBuffer(event.bytes);
        try {
          this.call('received', link, bytes).dispose();
        } finally {
          if (this.alive) {
            link.dispose();
            bytes.dispose();
          }
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
    return this.chip.usage().memoryUsedSize;
  }

  allocations(): number {
    return this.chip.usage().memoryUsedCount;
  }

  /** A full garbage collection of the runtime, cycles included (JS_RunGC). */
  collectGarbage(): void {
    if (!this.alive) throw new EngineFault('the firmware runtime is gone (power was cut)');
    this.vm.runGC();
  }

  dispose(): void {
    if (this.disposed) return;
    const alive = this.alive;
    this.disposed = true;
    if (!alive) return;
    for (const handle of this.entry.values()) handle.dispose();
    this.firmwareHandle?.dispose();
    this.chip.release();
  }

  private samplePeak(): void {
    if (!this.options.trackPeak || !this.alive || this.fault) return;
    const used = this.usedBytes();
    if (used > this.peakBytes) this.peakBytes = used;
  }

  /** Calls an entry point and returns its result (the caller disposes it); a HAL fault met inside is thrown here as the HAL threw it. */
  private call(name: EntryName, ...args: JSValueHandle[]): JSValueHandle {
    if (!this.alive) throw new EngineFault('the firmware runtime is gone (power was cut)');
    try {
      return this.guard(() => this.vm.callFunction(this.entry.get(name)!, this.firmwareHandle, ...args));
    } finally {
      if (this.alive) this.chip.release();
    }
  }

  /** Runs `run` in the engine: an exception the firmware did not handle is an EngineFault, or the HAL's own error when a HAL call met one. */
  private guard(run: () => JSValueHandle): JSValueHandle {
    try {
      return run();
    } catch (error) {
      if (!(error instanceof JSException)) throw error;
      const { name, message, stack } = error;
      error.dispose();
      if (this.fault) throw this.fault.error;
      // Stripped bytecode has no positions: a frame reads `at name (<null>:0:1)`.
      const where = /at (.+)/.exec(stack ?? '')?.[1]?.replace(' (<null>:0:1)', '');
      throw new EngineFault(`the firmware failed inside QuickJS: ${name}: ${message}${where ? ` (at ${where})` : ''}`);
    }
  }

  /** A call from the firmware into the HAL (hostFromHal, as any JavaScript host has it), its values marshalled by HOST_SIGNATURES. */
  private hostCall(name: keyof EngineHost, handles: readonly JSValueHandle[]): JSValueHandle {
    // A chip whose power went stays dead for the rest of the call.
    if (this.fault) throw this.fault.error;
    const [argKinds, resultKind] = HOST_SIGNATURES[name];
    let result: unknown;
    try {
      result = this.functions[name](...argKinds.map((kind, i) => this.fromHandle(kind, handles[i], name)));
    } catch (error) {
      this.fault = { error };
      throw error;
    }
    if (OUTPUT_CALLS.has(name)) this.samplePeak();
    return this.toResult(resultKind, result);
  }

  private fromHandle(kind: BindingKind, handle: JSValueHandle | undefined, name: string): unknown {
    if (!handle) throw new TypeError(`${HOST_GLOBAL}.${name} is missing an argument`);
    switch (kind) {
      case 'number':
        return handle.toNumber();
      case 'boolean':
        return handle.isBool && handle.toBoolean();
      case 'string':
        return handle.toString();
      case 'bytes':
        return handle.toArrayBuffer();
      case 'void':
        return undefined;
    }
  }

  private toResult(kind: BindingKind, value: unknown): JSValueHandle {
    switch (kind) {
      case 'number':
        return this.vm.newNumber(value as number);
      case 'boolean':
        return value ? this.vm.true : this.vm.false;
      case 'string':
        return this.vm.newString(value as string);
      case 'bytes':
        return this.vm.newArrayBuffer(value as ArrayBuffer);
      case 'void':
        return this.vm.undefined;
    }
  }
}

export interface QuickJsOptions {
  /** JS_SetMaxStackSize for the runtime (default 32 KiB). */
  readonly stackLimitBytes?: number;
  /** Read the memory report after every input and at sends, display and flash writes (default true). */
  readonly trackPeak?: boolean;
  /** The script to run (default: the firmware bundle, built in memory); it is compiled to stripped bytecode first. */
  readonly code?: string;
}

/**
 * One token's firmware in QuickJS-NG: `createCore` resets the chip and loads the bytecode at every
 * power-on; the memory report is the running runtime's (or the last one's, while power is off).
 */
export class QuickJsEngine {
  readonly name = QUICKJS_ENGINE_NAME;
  private current: QuickJsCore | undefined;

  private constructor(
    private readonly chip: QuickJsChip,
    private readonly bytecode: Uint8Array,
    private readonly options: Required<QuickJsOptions>,
    /** QuickJS-NG's version. */
    readonly version: string,
  ) {}

  static async load(options: QuickJsOptions = {}): Promise<QuickJsEngine> {
    const code = options.code ?? (await (await import('../../build/firmware-bundle.ts')).firmwareBundle()).code;
    const resolved = { stackLimitBytes: options.stackLimitBytes ?? QUICKJS_STACK_LIMIT, trackPeak: options.trackPeak ?? true, code };
    const bytecode = await compileToBytecode(code);
    const chip = await QuickJsChip.start(resolved.stackLimitBytes);
    return new QuickJsEngine(chip, bytecode.bytes, resolved, bytecode.engineVersion);
  }

  readonly createCore: CoreFactory = (hal, config) => {
    const core = new QuickJsCore(this.chip, this.bytecode, hal, config, this.options);
    this.current = core;
    return core;
  };

  /** The size of the bytecode a power-on loads. */
  get bytecodeBytes(): number {
    return this.bytecode.byteLength;
  }

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

  /** What loading the bytecode added to QuickJS's memory, part by part; undefined before the first power-on. */
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
          // The firmware's share, and its parts: the loaded bytecode (code) and what boot and work added (data).
          firmwareBytes: memory.usedBytes && memory.usedBytes - memory.emptyContextBytes,
          codeBytes: memory.loadedBytes - memory.emptyContextBytes,
          dataBytes: memory.usedBytes && memory.usedBytes - memory.loadedBytes,
          peakFirmwareBytes: memory.peakBytes - memory.emptyContextBytes,
        },
      }),
    };
  }
}
