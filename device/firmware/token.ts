/**
 * The token's firmware: one deterministic event loop over the HAL. Inputs (button edges, bytes
 * from a host, timer ticks) are queued and handled one at a time; every effect is a HAL call.
 * Nothing here knows whether it runs in the emulator, on a board or in a test.
 *
 * What it shows it also says, on a token whose volume is above 0 (the audio code reader's
 * default; a plain token is silent until a host turns it up): a code, the serial number, each
 * message. A double press steps the volume.
 */
import {
  COMMANDS,
  DEFAULT_PERIOD_SECONDS,
  EVENTS,
  MAX_CLOCK_MS,
  MAX_SPEED,
  MAX_VOLUME,
  MIN_SPEED,
  MIN_VOLUME,
  NORMAL_SPEED,
  type CommandName,
  type EventFields,
  type EventName,
  type ReplyFields,
  type RequestArgs,
} from '../../protocol/commands.ts';
import { asciiToBytes } from '../../protocol/bytes.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { decodeFields, decodeValue, encodeFields, type Schema } from '../../protocol/fields.ts';
import { errorResponse, type Message } from '../../protocol/message.ts';
import { createOathKey, hotpCode, totpStep, type OathKey } from '../../protocol/oath/index.ts';
import { HID_KEEPALIVE_INTERVAL_MS } from '../../protocol/framing/hid.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { DISPLAY_POSITIONS, type Hal, type InputEvent, type Word } from '../hal/index.ts';
import { DECIMAL_POINT, textToSegments } from './segments.ts';
import { FlashStore, StorageError } from './flash-store.ts';
import type { HostLink, LinkHandlers, ReplyPath, RequestMessage } from './host-link.ts';
import { HidLink } from './hid-link.ts';
import { lineLink } from './line-link.ts';
import {
  TAG,
  decodeRecord,
  encodeRecord,
  type AudioSettings,
  type EnrolmentRecord,
  type Settings,
} from './records.ts';

export const FIRMWARE_VERSION = '0.1.0';
/** FIRMWARE_VERSION as numbers, for the HID INIT reply (token.test.ts checks the two agree). */
export const FIRMWARE_VERSION_PARTS: [number, number, number] = [0, 1, 0];

export interface Timings {
  /** An edge counts once the pin has been stable this long. */
  readonly debounceMs: number;
  /** Pressed this long is a hold, not a press. */
  readonly holdMs: number;
  /** A code (or the serial number) stays on the display this long. */
  readonly displayMs: number;
  /** Short messages (not enrolled, cancelled, …) stay this long. */
  readonly messageMs: number;
  /** A wipe waits this long for the button to be held. */
  readonly confirmMs: number;
  /** A press that begins this soon after the last one ended makes a double press (it steps the volume). */
  readonly doublePressMs: number;
}

export const DEFAULT_TIMINGS: Timings = {
  debounceMs: 20,
  holdMs: 2000,
  displayMs: 30_000,
  messageMs: 3000,
  confirmMs: 30_000,
  doublePressMs: 400,
};

export interface FirmwareConfig {
  readonly model: string;
  /** Which target runs the firmware: `emulator`, `johnny-five`, … */
  readonly hardware: string;
  /** The serial number to take at first boot; a random 8-digit one otherwise. */
  readonly factorySerial?: string;
  readonly timings?: Partial<Timings>;
  /** The speaker's settings until a host or the user changes them: the model's (silent when left out). */
  readonly audioDefaults?: Partial<AudioSettings>;
}

/** Battery levels (percent) below which a code carries a warning, and below which no code is made. */
export const BATTERY_LOW = 10;
export const BATTERY_EMPTY = 2;

/**
 * The messages the token shows, by name, for whoever reads the display. The firmware writes each
 * as a literal beside the word it says for it (`show(text, word)`): a named constant would be one
 * more variable in the engine's RAM. The tests compare the display with this table.
 */
export const MESSAGES = {
  notEnrolled: 'no SEEd',
  lowBattery: 'Lo bAtt',
  confirmWipe: 'HoLd CLr',
  cancelled: 'CAnCEL',
  wiped: 'CLEArEd',
  enrolled: 'rEAdy',
  storageError: 'Err FL',
} as const;

type TimerName = 'debounce' | 'hold' | 'screen' | 'confirm' | 'keepalive' | 'links';

type Screen =
  | { kind: 'blank' }
  | { kind: 'code'; code: string; step?: number; lowBattery: boolean }
  | { kind: 'serial' }
  | { kind: 'message'; text: string; word: Word }
  | { kind: 'confirm' };

interface Enrolled {
  readonly record: EnrolmentRecord;
  readonly key: OathKey;
}

/** Who sent a request: where its answer goes, and under which ID. */
interface Requester {
  readonly link: ReplyPath;
  readonly requestId: number;
}

/**
 * The firmware, as one class: the event loop and its timers, the button, the host's requests (one
 * switch), the flash, and what the token shows and says. It is the links' handler of requests.
 */
export class Firmware implements LinkHandlers {
  /** The serial number, for the board to print on its label (it is no secret). Taken at boot. */
  serialNumber = '00000000';

  private readonly timings: Timings;
  /** Named deadlines on the monotonic clock; the earliest due fires first (a tie: the one first in the Map). */
  private readonly timers = new Map<TimerName, number>();
  private readonly links: HostLink[] = [];
  private readonly queue: InputEvent[] = [];
  private draining = false;

  private store: FlashStore | undefined;
  private enrolled: Enrolled | undefined;
  private counter = 0;
  /** Press events on or off, the speaker's volume and speed: the settings record as it was last taken. */
  private settings: Settings;
  private eventSeq = 0;
  private bootedAt = 0;

  private buttonLevel = false;
  private holdFired = false;
  /** When the last press that could begin a double press was released. */
  private lastPressAt: number | undefined;
  /** The press now down began soon enough after the last one to be a double press. */
  private doublePress = false;
  /** What the display shows; nothing yet at boot (a blank display, as `show({ kind: 'blank' })` leaves it). */
  private screen: Screen | undefined;
  private pending: Requester | undefined;

  constructor(
    private readonly hal: Hal,
    private readonly config: FirmwareConfig,
  ) {
    // DEFAULT_TIMINGS itself when none are changed (nothing writes to them): one object fewer.
    this.timings = config.timings ? { ...DEFAULT_TIMINGS, ...config.timings } : DEFAULT_TIMINGS;
    // Until the flash says otherwise: press events on, the model's audio defaults (a model that names
    // none is silent, at the normal speed, until told otherwise).
    this.settings = { push: true, volume: MIN_VOLUME, speed: NORMAL_SPEED, ...config.audioDefaults };
    const audio = this.settings;
    if (!(Number.isInteger(audio.volume) && audio.volume >= MIN_VOLUME && audio.volume <= MAX_VOLUME && Number.isInteger(audio.speed) && audio.speed >= MIN_SPEED && audio.speed <= MAX_SPEED)) {
      throw new RangeError(`audio defaults volume ${audio.volume}, speed ${audio.speed} out of range`);
    }
    for (const [field, value] of [['model', config.model], ['hardware', config.hardware], ['serial', config.factorySerial]] as const) {
      const codec = COMMANDS.hello.reply[field];
      // The codec's descriptor names the limit (`word 1 16`: a word of 1 to 16 characters).
      if (value !== undefined && !decodeValue(codec, value)) throw new RangeError(`${field} "${value}" does not fit hello's ${field} (${codec})`);
    }
    for (const transport of hal.transports) {
      this.links.push(transport.framing === 'hid' ? new HidLink(transport, this, hal.rng, FIRMWARE_VERSION_PARTS) : lineLink(transport, this));
    }
  }

  /** Mounts the flash, restores serial number, enrolment, counter and settings, and tells the hosts. */
  boot(): void {
    this.bootedAt = this.hal.clock.now();
    this.hal.display.show(new Uint8Array(DISPLAY_POSITIONS)); // a blank display
    try {
      this.store = new FlashStore(this.hal.flash);
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
    }
    const store = this.store;
    if (store) {
      const storedSerial = store.get(TAG.serial);
      if (storedSerial) {
        this.serialNumber = String.fromCharCode(...storedSerial);
      } else {
        let serial = this.config.factorySerial;
        if (serial === undefined) {
          // A random 8-digit serial number.
          const bytes = new Uint8Array(4);
          this.hal.rng.fill(bytes);
          serial = String(10_000_000 + (new DataView(bytes.buffer).getUint32(0) % 90_000_000));
        }
        this.commit(TAG.serial, asciiToBytes(serial));
        this.serialNumber = serial;
      }
      // The settings still hold the model's audio defaults: a record without volume or speed keeps them.
      this.settings = decodeRecord(TAG.settings, store.get(TAG.settings), this.settings);
      const enrolment = store.get(TAG.enrolment);
      const record = enrolment && decodeRecord(TAG.enrolment, enrolment);
      enrolment?.fill(0);
      if (record) {
        this.enrolled = { record: { ...record, secret: new Uint8Array(0) }, key: createOathKey(record.secret, record.algorithm) };
        record.secret.fill(0);
        const counter = store.get(TAG.counter);
        this.counter = (counter && decodeRecord(TAG.counter, counter)) ?? record.initialCounter;
      }
    }
    this.sendEvent('boot', { serial: this.serialNumber });
  }

  // ---- the event loop and its timers ----

  /**
   * Hands the firmware one input. Inputs that arrive while one is being handled wait their turn.
   * Each is handled between the timers due before it and the timers its handling made due; a timer
   * is removed before it fires, and the earliest due fires first.
   */
  input(event: InputEvent): void {
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        for (let handled = false; ; ) {
          const now = this.hal.clock.now();
          let due: TimerName | undefined;
          let dueAt = Infinity;
          for (const [name, at] of this.timers) {
            if (at <= now && at < dueAt) {
              due = name;
              dueAt = at;
            }
          }
          if (due === undefined) {
            if (handled) break;
            handled = true;
            if (next.type === 'button') {
              // Every edge restarts the settle time; the level is sampled once the contacts are quiet.
              this.timers.set('debounce', now + this.timings.debounceMs);
            } else if (next.type === 'received') {
              this.links[next.link]?.receive(next.bytes, now);
            }
            continue;
          }
          this.timers.delete(due);
          switch (due) {
            // The button: a settled edge is a press, a release, or nothing (it bounced back).
            case 'debounce': {
              const pressed = this.hal.button.isPressed();
              if (pressed === this.buttonLevel) break;
              this.buttonLevel = pressed;
              // Only a token that speaks (volume above 0) takes a double press: a silent one keeps its two presses.
              const speaks = this.settings.volume > MIN_VOLUME;
              if (pressed) {
                this.holdFired = false;
                this.doublePress = speaks && this.lastPressAt !== undefined && now - this.lastPressAt <= this.timings.doublePressMs;
                this.lastPressAt = undefined;
                this.timers.set('hold', now + this.timings.holdMs);
                break;
              }
              this.timers.delete('hold');
              // (doublePress is set anew at every press, so a release needs not clear it.)
              if (this.holdFired) break;
              if (this.doublePress) {
                // The next volume, 1 after the loudest (never silent: only a host mutes a token), said at that volume.
                const settings = { ...this.settings, volume: this.settings.volume >= MAX_VOLUME ? MIN_VOLUME + 1 : this.settings.volume + 1 };
                if (this.commit(TAG.settings, encodeRecord(TAG.settings, settings))) {
                  this.settings = settings;
                  // The volume is 1..5: one digit, one word.
                  this.hal.speaker.say({ words: ['volume', String(settings.volume) as Word], volume: settings.volume, speed: settings.speed });
                }
                break;
              }
              // A press: it answers a wipe's confirmation (and begins no double press, nor does one on
              // a silent token), or shows (and says) a code, or why there is none. Inline rather than
              // a method of its own: each function costs an engine like QuickJS ~200 B of RAM.
              this.lastPressAt = !this.pending && speaks ? this.hal.clock.now() : undefined;
              if (this.pending) {
                this.endConfirm('cancelled');
                break;
              }
              if (!this.store) {
                this.show('Err FL', 'error');
                break;
              }
              if (!this.enrolled) {
                this.show('no SEEd', 'no-seed');
                break;
              }
              const battery = this.hal.power.batteryPercent();
              if (battery < BATTERY_EMPTY) {
                this.show('Lo bAtt', 'low-battery');
                break;
              }
              const record = this.enrolled.record;
              let counter: number | undefined;
              let step: number | undefined;
              if (record.mode === 'hotp') {
                // A press while a code is shown shows it longer and says it again: fidgeting never burns counters.
                if (this.screen?.kind === 'code') {
                  this.show(this.screen);
                  break;
                }
                counter = this.counter;
                if (counter >= Number.MAX_SAFE_INTEGER) {
                  this.show('Err FL', 'error');
                  break;
                }
                // The counter is committed before the code exists anywhere: a power cut can never repeat it.
                if (!this.commit(TAG.counter, encodeRecord(TAG.counter, counter + 1))) break;
                this.counter = counter + 1;
              } else {
                step = totpStep(this.hal.rtc.read(), record.period);
              }
              this.hal.power.spend('code');
              const code = hotpCode(this.enrolled.key, counter ?? step!, record.digits);
              // A TOTP code shown again in its own time step is no new code: no event.
              const repeated = this.screen?.kind === 'code' && step !== undefined && this.screen.step === step;
              this.show({ kind: 'code', code, step, lowBattery: battery < BATTERY_LOW });
              if (!repeated && this.settings.push) this.sendEvent('press', { code, counter, step, battery: battery < BATTERY_LOW ? 'low' : undefined });
              break;
            }
            case 'hold':
              this.holdFired = true;
              if (this.pending) this.endConfirm('held');
              else this.show({ kind: 'serial' });
              break;
            case 'screen':
              this.show({ kind: 'blank' });
              break;
            case 'confirm':
              this.endConfirm('timeout');
              break;
            case 'keepalive':
              if (this.pending) {
                this.pending.link.waiting?.(this.pending.requestId);
                this.timers.set('keepalive', this.hal.clock.now() + HID_KEEPALIVE_INTERVAL_MS);
              }
              break;
            case 'links':
              for (const link of this.links) link.expire?.(this.hal.clock.now());
          }
        }
        // Links with something to time out (a half-received HID message) get a timer of their own.
        let linksAt: number | null = null;
        for (const link of this.links) {
          // Times out what is due by now (a message half-received when the clock moved on) and says when it next needs to.
          const deadline = link.expire?.(this.hal.clock.now()) ?? null;
          if (deadline !== null && (linksAt === null || deadline < linksAt)) linksAt = deadline;
        }
        if (linksAt === null) this.timers.delete('links');
        else this.timers.set('links', linksAt);
        let wakeAt: number | null = null;
        for (const at of this.timers.values()) if (wakeAt === null || at < wakeAt) wakeAt = at;
        this.hal.clock.wakeAt(wakeAt);
      }
    } finally {
      this.draining = false;
    }
  }

  // ---- requests from a host ----

  /** Decodes a request's arguments by its command's schema, runs it and answers; a wipe answers once the user has. */
  onRequest(request: RequestMessage, link: ReplyPath): void {
    const { id, name } = request;
    try {
      // COMMANDS's own keys only (not Object.prototype's).
      if (!Object.prototype.hasOwnProperty.call(COMMANDS, name)) throw new ProtocolError('unknown_command');
      const spec = COMMANDS[name as CommandName];
      const decoded = decodeFields(spec.args as Schema<object>, request.fields, true);
      if (!decoded.ok) throw new ProtocolError('bad_argument', decoded.key);
      if (this.pending && spec.mutating) throw new ProtocolError('busy');
      const args = decoded.value;
      let reply: object | undefined;
      switch (name) {
        case 'hello':
        case 'info':
        case 'status':
        case 'time':
        case 'settime': {
          if (name === 'settime') {
            const settime = args as RequestArgs['settime'];
            if (settime.at < this.hal.rtc.read() && !settime.force) throw new ProtocolError('denied', 'backwards');
            this.hal.rtc.write(settime.at);
          }
          // Only hello takes a protocol version.
          if ((args as RequestArgs['hello']).proto !== undefined && (args as RequestArgs['hello']).proto !== PROTOCOL_VERSION) throw new ProtocolError('unsupported_version');
          const identity = { proto: PROTOCOL_VERSION, model: this.config.model, hardware: this.config.hardware, serial: this.serialNumber, firmware: FIRMWARE_VERSION };
          if (name === 'hello') {
            reply = identity satisfies ReplyFields['hello'];
            break;
          }
          // Whole milliseconds within the protocol's range (the RTC holds Unix milliseconds: t - t % 1 is floor for t > 0).
          let clock = this.hal.rtc.read();
          clock = clock <= 0 ? 0 : clock >= MAX_CLOCK_MS ? MAX_CLOCK_MS : clock - (clock % 1);
          if (name === 'time' || name === 'settime') {
            reply = { clock } satisfies ReplyFields['time'];
            break;
          }
          const record = this.enrolled?.record;
          // A whole percent, 0..100 (the HAL's charge is 0..100: floor(b + 0.5) as (b + 0.5) | 0).
          const battery = this.hal.power.batteryPercent();
          const state = {
            enrolled: record !== undefined,
            counter: record?.mode === 'hotp' ? this.counter : undefined,
            battery: battery <= 0 ? 0 : battery >= 100 ? 100 : (battery + 0.5) | 0,
            clock,
            push: this.settings.push,
          };
          // The uptime in whole milliseconds (the monotonic clock is never behind the boot: x - x % 1 is floor).
          const uptime = this.hal.clock.now() - this.bootedAt;
          reply =
            name === 'info'
              ? ({
                  ...identity,
                  ...state,
                  mode: record?.mode,
                  algorithm: record?.algorithm,
                  digits: record?.digits,
                  period: record?.mode === 'totp' ? record.period : undefined,
                  ...this.settings,
                } satisfies ReplyFields['info'])
              : ({ ...state, busy: this.pending !== undefined, uptime: uptime - (uptime % 1) } satisfies ReplyFields['status']);
          break;
        }
        case 'enroll': {
          const enrol = args as RequestArgs['enroll'];
          if (!this.store) throw new ProtocolError('storage_failure');
          if (this.enrolled) throw new ProtocolError('already_enrolled');
          if (enrol.mode === 'hotp' && enrol.period !== undefined) throw new ProtocolError('bad_argument', 'period');
          if (enrol.mode === 'totp' && enrol.counter !== undefined) throw new ProtocolError('bad_argument', 'counter');
          if (this.hal.power.batteryPercent() < BATTERY_EMPTY) throw new ProtocolError('low_battery');
          const record: EnrolmentRecord = {
            mode: enrol.mode,
            algorithm: enrol.algorithm,
            digits: enrol.digits,
            period: enrol.mode === 'totp' ? (enrol.period ?? DEFAULT_PERIOD_SECONDS) : 0,
            initialCounter: enrol.mode === 'hotp' ? (enrol.counter ?? 0) : 0,
            secret: enrol.secret,
          };
          const payload = encodeRecord(TAG.enrolment, record);
          const written = this.commit(TAG.enrolment, payload);
          payload.fill(0);
          if (!written) throw new ProtocolError('storage_failure');
          this.enrolled = { record: { ...record, secret: new Uint8Array(0) }, key: createOathKey(enrol.secret, enrol.algorithm) };
          enrol.secret.fill(0);
          this.counter = record.initialCounter;
          this.show('rEAdy', 'ready');
          reply = (record.mode === 'hotp' ? { counter: this.counter } : {}) satisfies ReplyFields['enroll'];
          break;
        }
        case 'wipe': {
          // Answered when the user holds the button (wiped), presses it, or lets the time run out.
          const now = this.hal.clock.now();
          this.pending = { link, requestId: id };
          this.timers.set('confirm', now + this.timings.confirmMs);
          // While it waits for the user, hosts that can be told so are told this often (HID keepalive).
          this.timers.set('keepalive', now + HID_KEEPALIVE_INTERVAL_MS);
          this.show({ kind: 'confirm' });
          this.sendEvent('confirm', { op: 'wipe', timeout_ms: this.timings.confirmMs }, link);
          break;
        }
        case 'push':
        case 'audio': {
          // Both change the settings record; what a request leaves out stays. The answer is the settings as taken.
          // (One local rather than one per setting: each costs an engine like QuickJS ~20 B of RAM.)
          const change = args as RequestArgs['push'] & RequestArgs['audio'];
          const settings = { push: change.on ?? this.settings.push, volume: change.volume ?? this.settings.volume, speed: change.speed ?? this.settings.speed };
          // A push request needs the flash even when it changes nothing; an audio request only to change something.
          if (name === 'push' && !this.store) throw new ProtocolError('storage_failure');
          if (settings.push !== this.settings.push || settings.volume !== this.settings.volume || settings.speed !== this.settings.speed) {
            if (!this.store) throw new ProtocolError('storage_failure');
            if (!this.commit(TAG.settings, encodeRecord(TAG.settings, settings))) throw new ProtocolError('storage_failure');
            this.settings = settings;
          }
          reply = this.settings satisfies ReplyFields['push'] & ReplyFields['audio'];
        }
      }
      if (reply !== undefined) link.send({ kind: 'response', id, ok: true, fields: encodeFields(spec.reply as Schema<object>, reply) });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      link.send(errorResponse(id, error.code, error.detail));
    }
  }

  /**
   * A wipe's confirmation ends: the button was held (the wipe is done), pressed, or the time ran
   * out; or a host gave up on its request (HID CANCEL, `from` its reply path), which ends it only
   * when that host is the one waiting. One method for both (the links' handler too): each function
   * costs an engine like QuickJS ~200 B of RAM.
   */
  endConfirm(outcome: 'held' | 'cancelled' | 'timeout', from?: ReplyPath): void {
    const pending = this.pending;
    if (!pending || (from && pending.link !== from)) return;
    this.pending = undefined;
    this.timers.delete('confirm');
    this.timers.delete('keepalive');
    if (outcome !== 'held') {
      if (outcome === 'cancelled') this.show('CAnCEL', 'cancelled');
      else this.show({ kind: 'blank' });
      return pending.link.send(errorResponse(pending.requestId, 'denied', outcome));
    }
    let wiped = false;
    if (this.store) {
      try {
        this.store.retainOnly((tag) => tag === TAG.serial || tag === TAG.settings);
        wiped = true;
      } catch (error) {
        // As every failed write does, it shows Err FL; the refusal below shows it once more.
        if (!(error instanceof StorageError)) throw error;
        this.show('Err FL', 'error');
      }
    }
    if (!wiped) {
      this.show('Err FL', 'error');
      return pending.link.send(errorResponse(pending.requestId, 'storage_failure'));
    }
    this.enrolled?.key.destroy();
    this.enrolled = undefined;
    this.counter = 0;
    this.show('CLEArEd', 'cleared');
    pending.link.send({ kind: 'response', id: pending.requestId, ok: true, fields: {} });
  }

  // ---- the flash ----

  /**
   * Stores a record; false (showing Err FL) when there is no flash or it did not take the record:
   * a storage failure puts the token in its error state instead of crashing it.
   */
  private commit(tag: number, payload: Uint8Array): boolean {
    try {
      if (this.store) {
        this.store.put(tag, payload);
        return true;
      }
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
    }
    this.show('Err FL', 'error');
    return false;
  }

  // ---- what the token shows, says and tells the hosts ----

  /**
   * Shows a screen (a string: that message, said as `word`) for as long as its kind stays (the
   * blank screen and a wipe's question until something replaces them), and says what it shows at
   * the token's volume and speed (a silent token, volume 0, says nothing).
   */
  private show(screen: Screen | string, word?: Word): void {
    if (typeof screen === 'string') screen = { kind: 'message', text: screen, word: word! };
    this.screen = screen;
    let text = '';
    let durationMs: number | null = null;
    let words: Word[] = [];
    switch (screen.kind) {
      case 'code':
        // Centred: six digits at positions 1..6, as on a NemID token (half the free positions, rounded
        // down, on the left: gap >> 1 is floor(gap / 2) for a small gap > 0). Not a helper of its
        // own: each function costs an engine like QuickJS ~200 B of RAM.
        text = ' '.repeat(screen.code.length < DISPLAY_POSITIONS ? (DISPLAY_POSITIONS - screen.code.length) >> 1 : 0) + screen.code;
        durationMs = this.timings.displayMs;
        words = screen.code.split('') as Word[]; // a code is digits, each a word
        if (screen.lowBattery) words.push('low-battery');
        break;
      case 'serial':
        text = this.serialNumber.slice(-8);
        durationMs = this.timings.displayMs;
        words = ['serial'];
        for (const char of text) if (char >= '0' && char <= '9') words.push(char as Word); // its digits
        break;
      case 'message':
        text = screen.text;
        durationMs = this.timings.messageMs;
        words = [screen.word];
        break;
      case 'confirm':
        text = 'HoLd CLr';
        words = ['hold-to-clear'];
    }
    if (durationMs === null) this.timers.delete('screen');
    else this.timers.set('screen', this.hal.clock.now() + durationMs);
    const segments = textToSegments(text);
    // A low battery lights the last decimal point beside the code, as a token's battery mark would.
    if (screen.kind === 'code' && screen.lowBattery) segments[segments.length - 1]! |= DECIMAL_POINT;
    this.hal.display.show(segments);
    if (this.settings.volume > MIN_VOLUME && words.length > 0) this.hal.speaker.say({ words, volume: this.settings.volume, speed: this.settings.speed });
  }

  /** One event, one sequence number: to the host `to`, or to every host on every link. */
  private sendEvent<E extends EventName>(name: E, fields: EventFields[E], to?: ReplyPath): void {
    const message: Message = { kind: 'event', seq: this.eventSeq, name, fields: encodeFields(EVENTS[name], fields) };
    this.eventSeq = (this.eventSeq + 1) >>> 0;
    if (to) to.send(message);
    else for (const link of this.links) link.broadcast(message);
  }
}
