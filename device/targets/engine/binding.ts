/**
 * The binding between the firmware bundle and the engine that runs it (QuickJS-NG here, on an
 * ESP32 or in the emulator; Moddable XS alike). The bundle (`npm run build:firmware`) is one
 * script; its host (C on a board, TypeScript in the emulator) fills in `nvHost` before evaluating
 * it, and the script leaves its entry points in `nvFirmware`. See README.md beside this file.
 *
 *   host → firmware: nvFirmware.boot(config), .button(pressed), .received(link, bytes), .tick()
 *   firmware → host: nvHost.displayShow, buttonPressed, clockNow, clockWakeAt, rtcRead, rtcWrite,
 *                    flashRead, flashProgram, flashErase, rngFill, batteryPercent, powerSpend, send,
 *                    speakerSay
 *
 * Every call is synchronous. Bytes cross as ArrayBuffers, copied both ways: the firmware never
 * holds a view of the host's memory, nor the host of the firmware's. This module runs inside the
 * engine: it imports nothing from Node and uses nothing beyond the language.
 */
import { Firmware, type FirmwareConfig, type Timings } from '../../firmware/token.ts';
import type { FlashGeometry } from '../../hal/flash.ts';
import { isWord, type Button, type Hal, type MonotonicClock, type Power, type RealTimeClock, type Rng, type SegmentDisplay, type Speaker, type Word } from '../../hal/index.ts';
import type { PowerWork } from '../../hal/power.ts';
import type { Framing, Transport } from '../../hal/transport.ts';

type HalParts = Button & SegmentDisplay & MonotonicClock & RealTimeClock & Rng & Power & Speaker;

/** The global the host defines before it evaluates the bundle. */
export const HOST_GLOBAL = 'nvHost';
/** The global the bundle defines. */
export const FIRMWARE_GLOBAL = 'nvFirmware';

/** What the host provides: every call the firmware makes into its hardware. */
export interface EngineHost {
  /** The 8 segment bytes, leftmost position first (bits 0..6 = a..g, bit 7 = dp). */
  displayShow(segments: ArrayBuffer): void;
  /** The button pin's level now (true = pressed). */
  buttonPressed(): boolean;
  /** Milliseconds since power-on (monotonic). */
  clockNow(): number;
  /** Call `nvFirmware.tick()` once `clockNow()` reaches `atMs`, replacing any earlier request; -1 cancels. */
  clockWakeAt(atMs: number): void;
  /** The battery-backed real-time clock, Unix milliseconds. */
  rtcRead(): number;
  rtcWrite(unixMs: number): void;
  /** `length` bytes of flash from `address`. */
  flashRead(address: number, length: number): ArrayBuffer;
  /** Programs `data` at `address` (NOR rules: bits only cleared; never across a page). */
  flashProgram(address: number, data: ArrayBuffer): void;
  flashErase(page: number): void;
  /** `length` bytes from the hardware random number generator. */
  rngFill(length: number): ArrayBuffer;
  /** Charge left, 0..100. */
  batteryPercent(): number;
  /** The firmware spent energy: `code`, `flash-write` or `display-second`. */
  powerSpend(work: PowerWork): void;
  /** Bytes for host link `link` (a line link: part of a stream; a HID link: one 64-byte report). */
  send(link: number, bytes: ArrayBuffer): void;
  /** Say `words` (WORDS, separated by single spaces) at `volume` 1..5 and `speed` 1..5, cutting off what is still being said. */
  speakerSay(words: string, volume: number, speed: number): void;
}

/** The value kinds that cross the binding: a C host converts with JS_ToFloat64, JS_ToBool, JS_ToCString, JS_GetArrayBuffer. */
export type BindingKind = 'number' | 'boolean' | 'string' | 'bytes' | 'void';

/** Every host function's arguments and result, for hosts that marshal values (QuickJS, a C host). */
export const HOST_SIGNATURES: { readonly [K in keyof EngineHost]: readonly [args: readonly BindingKind[], result: BindingKind] } = {
  displayShow: [['bytes'], 'void'],
  buttonPressed: [[], 'boolean'],
  clockNow: [[], 'number'],
  clockWakeAt: [['number'], 'void'],
  rtcRead: [[], 'number'],
  rtcWrite: [['number'], 'void'],
  flashRead: [['number', 'number'], 'bytes'],
  flashProgram: [['number', 'bytes'], 'void'],
  flashErase: [['number'], 'void'],
  rngFill: [['number'], 'bytes'],
  batteryPercent: [[], 'number'],
  powerSpend: [['string'], 'void'],
  send: [['number', 'bytes'], 'void'],
  speakerSay: [['string', 'number', 'number'], 'void'],
};

/** What the host tells the firmware at power-on. Plain data, so a C host can build it from JSON. */
export interface BootConfig {
  readonly model: string;
  /** Which target runs the firmware, as `hello` reports it: `emulator`, `esp32`, … */
  readonly hardware: string;
  /** The serial number to take at first boot (8 digits); a random one otherwise. */
  readonly factorySerial?: string;
  readonly timings?: Partial<Timings>;
  readonly flash: FlashGeometry;
  /** The host links, in order: `line` (a serial port) or `hid` (64-byte reports). */
  readonly links: readonly Framing[];
}

/** What the bundle provides, as `nvFirmware`. */
export interface FirmwareEntry {
  /** Mounts the flash and starts the firmware; returns the serial number it booted with. Once per power-on. */
  boot(config: BootConfig): string;
  /** The button pin changed (an edge); the firmware debounces and then reads `buttonPressed()`. */
  button(pressed: boolean): void;
  /** Bytes from host link `link`. */
  received(link: number, bytes: ArrayBuffer): void;
  /** The time asked for with `clockWakeAt` has come (an early or extra tick is harmless). */
  tick(): void;
}

/** What a host that is itself JavaScript (the emulator) hands the bundle: its HAL behind the host's functions. */
export function hostFromHal(hal: Hal): EngineHost {
  const filled = (length: number, fill: (into: Uint8Array) => void): ArrayBuffer => {
    const into = new Uint8Array(length);
    fill(into);
    return into.buffer;
  };
  return {
    displayShow: (segments) => hal.display.show(new Uint8Array(segments)),
    buttonPressed: () => hal.button.isPressed(),
    clockNow: () => hal.clock.now(),
    clockWakeAt: (atMs) => hal.clock.wakeAt(atMs < 0 ? null : atMs),
    rtcRead: () => hal.rtc.read(),
    rtcWrite: (unixMs) => hal.rtc.write(unixMs),
    flashRead: (address, length) => filled(length, (into) => hal.flash.read(address, into)),
    flashProgram: (address, data) => hal.flash.program(address, new Uint8Array(data)),
    flashErase: (page) => hal.flash.erase(page),
    rngFill: (length) => filled(length, (into) => hal.rng.fill(into)),
    batteryPercent: () => hal.power.batteryPercent(),
    powerSpend: (work) => hal.power.spend(work),
    send: (link, bytes) => {
      const transport = hal.transports[link];
      if (!transport) throw new RangeError(`no host link ${link}`);
      transport.send(new Uint8Array(bytes));
    },
    speakerSay: (words, volume, speed) => hal.speaker.say({ words: wordsOf(words), volume, speed }),
  };
}

/** The words of a `speakerSay` call; a word the vocabulary lacks is a fault of the caller. */
function wordsOf(text: string): Word[] {
  return text.split(' ').map((word) => {
    if (!isWord(word)) throw new RangeError(`"${word}" is not a word the speaker knows`);
    return word;
  });
}

/** The boot configuration for a firmware configuration on `hal`'s flash and links. */
export function bootConfig(hal: Hal, config: FirmwareConfig): BootConfig {
  const { pageSize, pageCount } = hal.flash.geometry;
  return { ...config, flash: { pageSize, pageCount }, links: hal.transports.map((transport) => transport.framing) };
}

/**
 * The entry points, over the host that `scope[HOST_GLOBAL]` holds when `boot` is called.
 *
 * `boot` builds the HAL the firmware core is written against over the host's functions. A host
 * function whose call is the HAL's own is the HAL's method as it is (the firmware calls it on the
 * HAL's object; no host function reads `this`): each wrapper would be one more function an engine
 * like QuickJS keeps in RAM. Bytes go out as a copy (`new Uint8Array(bytes).buffer`: no builtin
 * method to instantiate). For the same reason the HAL's parts whose method names differ are one
 * object, the HAL itself (each part of its own would be one more object and shape): every part
 * but the flash, whose `read` is not the real-time clock's.
 */
export function createFirmwareEntry(scope: Readonly<Record<string, unknown>>): FirmwareEntry {
  let firmware: Firmware | undefined;
  return {
    boot(config) {
      if (firmware) throw new Error('booted already');
      const host = scope[HOST_GLOBAL] as EngineHost | undefined;
      if (!host) throw new Error(`no ${HOST_GLOBAL}`);
      const transports: Transport[] = [];
      for (let link = 0; link < config.links.length; link++) {
        transports.push({ framing: config.links[link]!, send: (bytes) => host.send(link, new Uint8Array(bytes).buffer) });
      }
      // The HAL is its own button, display, clocks, random number generator, power and speaker: their
      // method names differ (a part whose name clashed, as the flash's `read` would with the clock's,
      // gets an object of its own; nothing here would catch a clash).
      const hal: HalParts & Pick<Hal, 'flash' | 'transports'> & { -readonly [K in keyof Hal]?: Hal[K] } = {
        isPressed: host.buttonPressed,
        show: (segments) => host.displayShow(new Uint8Array(segments).buffer),
        now: host.clockNow,
        wakeAt: (atMs) => host.clockWakeAt(atMs ?? -1),
        read: host.rtcRead,
        write: host.rtcWrite,
        fill: (bytes) => bytes.set(new Uint8Array(host.rngFill(bytes.length))),
        batteryPercent: host.batteryPercent,
        spend: host.powerSpend,
        say: (speech) => host.speakerSay(speech.words.join(' '), speech.volume, speech.speed),
        flash: {
          geometry: config.flash,
          read: (address, into) => into.set(new Uint8Array(host.flashRead(address, into.length))),
          program: (address, data) => host.flashProgram(address, new Uint8Array(data).buffer),
          erase: host.flashErase,
        },
        transports,
      };
      hal.button = hal.display = hal.clock = hal.rtc = hal.rng = hal.power = hal.speaker = hal;
      // The boot configuration is a FirmwareConfig with the flash and links besides; the firmware reads what it knows.
      const booting = new Firmware(hal as Hal, config);
      booting.boot();
      firmware = booting;
      return booting.serialNumber;
    },
    // Each input checks the boot itself (a shared helper would be one more function kept loaded).
    button(pressed) {
      if (!firmware) throw new Error('not booted');
      firmware.input({ type: 'button', pressed });
    },
    received(link, bytes) {
      if (!firmware) throw new Error('not booted');
      firmware.input({ type: 'received', link, bytes: new Uint8Array(bytes) });
    },
    tick() {
      if (!firmware) throw new Error('not booted');
      firmware.input({ type: 'tick' });
    },
  };
}
