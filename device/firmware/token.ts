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
  IDENTITY_LIMITS,
  MAX_CLOCK_MS,
  MAX_SPEED,
  MAX_VOLUME,
  MIN_SPEED,
  MIN_VOLUME,
  NORMAL_SPEED,
  isCommandName,
  type CommandName,
  type CommandSpec,
  type EventFields,
  type EventName,
  type ReplyFields,
  type RequestArgs,
  type TokenInfo,
} from '../../protocol/commands.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { decodeFields, decodeValue, encodeFields } from '../../protocol/fields.ts';
import { errorResponse, type Fields, type Message } from '../../protocol/message.ts';
import { createOathKey, hotpCode, totpCode, totpStep, type OathKey } from '../../protocol/oath/index.ts';
import { HID_KEEPALIVE_INTERVAL_MS } from '../../protocol/framing/hid.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { Hal, InputEvent, Word } from '../hal/index.ts';
import { DECIMAL_POINT, codeToText, textToSegments } from './segments.ts';
import { FlashStore, StorageError } from './flash-store.ts';
import type { HostLink, LinkHandlers, ReplyPath, RequestMessage } from './host-link.ts';
import { HidLink } from './hid-link.ts';
import { LineLink } from './line-link.ts';
import {
  TAG,
  decodeCounter,
  decodeEnrolment,
  decodeSettings,
  encodeCounter,
  encodeEnrolment,
  encodeSettings,
  type AudioSettings,
  type EnrolmentRecord,
  type Settings,
} from './records.ts';
import { Scheduler } from './scheduler.ts';

export const FIRMWARE_VERSION = '0.1.0';

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

/** A token whose model names no audio defaults is silent, at the normal speed, until told otherwise. */
export const SILENT_AUDIO: AudioSettings = { volume: MIN_VOLUME, speed: NORMAL_SPEED };

/** While a request waits for the user, hosts that can be told so are told this often (HID keepalive). */
const KEEPALIVE_INTERVAL_MS = HID_KEEPALIVE_INTERVAL_MS;

/** Battery levels (percent) below which a code carries a warning, and below which no code is made. */
export const BATTERY_LOW = 10;
export const BATTERY_EMPTY = 2;

export const MESSAGES = {
  notEnrolled: 'no SEEd',
  lowBattery: 'Lo bAtt',
  confirmWipe: 'HoLd CLr',
  cancelled: 'CAnCEL',
  wiped: 'CLEArEd',
  enrolled: 'rEAdy',
  storageError: 'Err FL',
} as const;

/** What the token says with each message. */
const MESSAGE_WORDS: Readonly<Record<string, Word>> = {
  [MESSAGES.notEnrolled]: 'no-seed',
  [MESSAGES.lowBattery]: 'low-battery',
  [MESSAGES.confirmWipe]: 'hold-to-clear',
  [MESSAGES.cancelled]: 'cancelled',
  [MESSAGES.wiped]: 'cleared',
  [MESSAGES.enrolled]: 'ready',
  [MESSAGES.storageError]: 'error',
};

/** The digits of a text, as words to say. */
function digitWords(text: string): Word[] {
  return [...text].filter((char) => char >= '0' && char <= '9') as Word[];
}

type TimerName = 'debounce' | 'hold' | 'screen' | 'confirm' | 'keepalive' | 'links';

type Screen =
  | { kind: 'blank' }
  | { kind: 'code'; code: string; text: string; step?: number; lowBattery: boolean }
  | { kind: 'serial' }
  | { kind: 'message'; text: string }
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

type Handler<C extends CommandName> = (args: RequestArgs[C], from: Requester) => ReplyFields[C] | undefined;

export class Firmware {
  private readonly timings: Timings;
  private readonly timers = new Scheduler<TimerName>();
  private readonly links: HostLink[];
  private readonly queue: InputEvent[] = [];
  private draining = false;

  private store: FlashStore | undefined;
  private serial = '00000000';
  private enrolled: Enrolled | undefined;
  private counter = 0;
  private push = true;
  private readonly audioDefaults: AudioSettings;
  private audio: AudioSettings;
  private eventSeq = 0;
  private bootedAt = 0;

  private buttonLevel = false;
  private holdFired = false;
  /** When the last press that could begin a double press was released. */
  private lastPressAt: number | undefined;
  /** The press now down began soon enough after the last one to be a double press. */
  private doublePress = false;
  private screen: Screen = { kind: 'blank' };
  private pending: Requester | undefined;

  constructor(
    private readonly hal: Hal,
    private readonly config: FirmwareConfig,
  ) {
    this.timings = { ...DEFAULT_TIMINGS, ...config.timings };
    this.audioDefaults = { ...SILENT_AUDIO, ...config.audioDefaults };
    const { volume, speed } = this.audioDefaults;
    if (!(Number.isInteger(volume) && volume >= MIN_VOLUME && volume <= MAX_VOLUME && Number.isInteger(speed) && speed >= MIN_SPEED && speed <= MAX_SPEED)) {
      throw new RangeError(`audio defaults volume ${volume}, speed ${speed} are not volume ${MIN_VOLUME}..${MAX_VOLUME}, speed ${MIN_SPEED}..${MAX_SPEED}`);
    }
    this.audio = { ...this.audioDefaults };
    for (const [field, value] of [['model', config.model], ['hardware', config.hardware], ['serial', config.factorySerial]] as const) {
      if (value !== undefined && !decodeValue(COMMANDS.hello.reply[field], value)) {
        throw new RangeError(`${field} "${value}" is not a word of at most ${IDENTITY_LIMITS[field]} characters`);
      }
    }
    const handlers: LinkHandlers = {
      onRequest: (request, link) => this.onRequest(request, link),
      // A CANCEL names no request: it abandons whatever its host is waiting for.
      onCancel: (_requestId, from) => {
        if (this.pending?.link === from) this.finishConfirm('denied', 'cancelled');
      },
    };
    const version = FIRMWARE_VERSION.split('.').map(Number) as [number, number, number];
    this.links = hal.transports.map((transport) =>
      transport.framing === 'hid' ? new HidLink(transport, handlers, { rng: hal.rng, firmwareVersion: version }) : new LineLink(transport, handlers),
    );
  }

  /** The serial number, for the board to print on its label (it is no secret). */
  get serialNumber(): string {
    return this.serial;
  }

  /** Mounts the flash, restores serial number, enrolment, counter and settings, and tells the hosts. */
  boot(): void {
    this.bootedAt = this.hal.clock.now();
    this.hal.display.show(textToSegments(''));
    this.restore();
    this.broadcast('boot', { serial: this.serial });
  }

  private restore(): void {
    try {
      this.store = FlashStore.mount(this.hal.flash);
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
      this.store = undefined;
      return;
    }
    this.serial = this.loadSerial();
    const { push, volume, speed } = decodeSettings(this.store.get(TAG.settings), this.audioDefaults);
    this.push = push;
    this.audio = { volume, speed };
    const enrolment = this.store.get(TAG.enrolment);
    const record = enrolment && decodeEnrolment(enrolment);
    enrolment?.fill(0);
    if (record) {
      this.enrolled = { record: { ...record, secret: new Uint8Array(0) }, key: createOathKey(record.secret, record.algorithm) };
      record.secret.fill(0);
      const stored = this.store.get(TAG.counter);
      this.counter = (stored && decodeCounter(stored)) ?? record.initialCounter;
    }
  }

  /** Hands the firmware one input. Inputs that arrive while one is being handled wait their turn. */
  input(event: InputEvent): void {
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.handle(next);
    } finally {
      this.draining = false;
    }
  }

  private handle(event: InputEvent): void {
    this.runDueTimers();
    switch (event.type) {
      case 'button':
        // Every edge restarts the settle time; the level is sampled once the contacts are quiet.
        this.timers.set('debounce', this.hal.clock.now() + this.timings.debounceMs);
        break;
      case 'received':
        this.links[event.link]?.receive(event.bytes, this.hal.clock.now());
        break;
      case 'tick':
        break;
    }
    this.runDueTimers();
    this.scheduleLinks();
    this.hal.clock.wakeAt(this.timers.next());
  }

  /** Links with something to time out (a half-received HID message) get a timer of their own. */
  private scheduleLinks(): void {
    let earliest: number | null = null;
    for (const link of this.links) {
      const deadline = link.deadline();
      if (deadline !== null && (earliest === null || deadline < earliest)) earliest = deadline;
    }
    if (earliest === null) this.timers.cancel('links');
    else this.timers.set('links', earliest);
  }

  private runDueTimers(): void {
    for (let timer = this.timers.takeDue(this.hal.clock.now()); timer; timer = this.timers.takeDue(this.hal.clock.now())) {
      this.onTimer(timer);
    }
  }

  private onTimer(timer: TimerName): void {
    switch (timer) {
      case 'debounce': {
        const pressed = this.hal.button.isPressed();
        if (pressed === this.buttonLevel) return;
        this.buttonLevel = pressed;
        if (pressed) {
          const now = this.hal.clock.now();
          this.holdFired = false;
          // Only a token that speaks takes a double press: a silent one keeps its two presses.
          this.doublePress = this.speaks && this.lastPressAt !== undefined && now - this.lastPressAt <= this.timings.doublePressMs;
          this.lastPressAt = undefined;
          this.timers.set('hold', now + this.timings.holdMs);
        } else {
          this.timers.cancel('hold');
          const double = this.doublePress;
          this.doublePress = false;
          if (this.holdFired) return;
          if (double) return this.stepVolume();
          // A press that answers a wipe's confirmation begins no double press, nor does one on a silent token.
          const releasedAt = !this.pending && this.speaks ? this.hal.clock.now() : undefined;
          this.onPress();
          this.lastPressAt = releasedAt;
        }
        return;
      }
      case 'hold':
        this.holdFired = true;
        return this.onHold();
      case 'screen':
        return this.showScreen({ kind: 'blank' }, null);
      case 'confirm':
        return this.finishConfirm('denied', 'timeout');
      case 'keepalive':
        if (!this.pending) return;
        this.pending.link.waiting(this.pending.requestId);
        return this.timers.set('keepalive', this.hal.clock.now() + KEEPALIVE_INTERVAL_MS);
      case 'links':
        for (const link of this.links) link.expire(this.hal.clock.now());
        return;
    }
  }

  // ---- the button ----

  private onPress(): void {
    if (this.pending) return this.finishConfirm('denied', 'cancelled');
    if (!this.store) return this.showMessage(MESSAGES.storageError);
    if (!this.enrolled) return this.showMessage(MESSAGES.notEnrolled);
    const battery = this.hal.power.batteryPercent();
    if (battery < BATTERY_EMPTY) return this.showMessage(MESSAGES.lowBattery);
    const { record, key } = this.enrolled;
    const batteryField = battery < BATTERY_LOW ? { battery: 'low' as const } : {};
    if (record.mode === 'hotp') {
      // A press while a code is shown shows it longer and says it again: fidgeting never burns counters.
      if (this.screen.kind === 'code') {
        this.showScreen(this.screen, this.timings.displayMs);
        return this.sayCode(this.screen);
      }
      const used = this.counter;
      if (used >= Number.MAX_SAFE_INTEGER) return this.showMessage(MESSAGES.storageError);
      // The counter is committed before the code exists anywhere: a power cut can never repeat it.
      if (!this.commit(TAG.counter, encodeCounter(used + 1))) return;
      this.counter = used + 1;
      this.hal.power.spend('code');
      const code = hotpCode(key, used, record.digits);
      this.showCode(code, battery, undefined);
      this.emit('press', { code, counter: used, ...batteryField });
    } else {
      const now = this.hal.rtc.read();
      const step = totpStep(now, record.period);
      const sameStep = this.screen.kind === 'code' && this.screen.step === step;
      this.hal.power.spend('code');
      const code = totpCode(key, now, record.period, record.digits);
      this.showCode(code, battery, step);
      if (!sameStep) this.emit('press', { code, step, ...batteryField });
    }
  }

  private onHold(): void {
    if (this.pending) return this.confirmWipe();
    this.showScreen({ kind: 'serial' }, this.timings.displayMs);
    this.say(['serial', ...digitWords(this.screenText({ kind: 'serial' }))]);
  }

  /** A double press: the next volume, 1 after the loudest (never silent: only a host mutes a token), said at that volume. */
  private stepVolume(): void {
    const volume = this.audio.volume >= MAX_VOLUME ? MIN_VOLUME + 1 : this.audio.volume + 1;
    if (!this.store) return this.showMessage(MESSAGES.storageError);
    if (!this.saveSettings({ push: this.push, volume, speed: this.audio.speed })) return;
    this.say(['volume', ...digitWords(String(volume))]);
  }

  // ---- requests from a host ----

  private onRequest(request: RequestMessage, link: ReplyPath): void {
    if (!isCommandName(request.name)) return link.send(errorResponse(request.id, 'unknown_command'));
    try {
      const reply = this.dispatch(request.name, request.fields, { link, requestId: request.id });
      if (reply !== undefined) link.send({ kind: 'response', id: request.id, ok: true, fields: reply });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      link.send(errorResponse(request.id, error.code, error.detail));
    }
  }

  /** Decodes a command's arguments by its schema and runs its handler; undefined when the answer comes later. */
  private dispatch<C extends CommandName>(command: C, fields: Fields, from: Requester): Fields | undefined {
    const spec: CommandSpec<C> = COMMANDS[command];
    const args = decodeFields(spec.args, fields, true);
    if (!args.ok) throw new ProtocolError('bad_argument', args.key);
    if (this.pending && spec.mutating) throw new ProtocolError('busy');
    const handler: Handler<C> = this.handlers[command];
    const reply = handler(args.value, from);
    return reply === undefined ? undefined : encodeFields(spec.reply, reply);
  }

  private readonly handlers: { readonly [C in CommandName]: Handler<C> } = {
    hello: ({ proto }) => {
      if (proto !== undefined && proto !== PROTOCOL_VERSION) throw new ProtocolError('unsupported_version');
      return this.identity();
    },
    info: (): TokenInfo => {
      const record = this.enrolled?.record;
      return {
        ...this.identity(),
        ...this.state(),
        mode: record?.mode,
        algorithm: record?.algorithm,
        digits: record?.digits,
        period: record?.mode === 'totp' ? record.period : undefined,
        ...this.audio,
      };
    },
    status: () => ({ ...this.state(), busy: this.pending !== undefined, uptime: Math.floor(this.hal.clock.now() - this.bootedAt) }),
    enroll: (args) => {
      this.requireStore();
      if (this.enrolled) throw new ProtocolError('already_enrolled');
      if (args.mode === 'hotp' && args.period !== undefined) throw new ProtocolError('bad_argument', 'period');
      if (args.mode === 'totp' && args.counter !== undefined) throw new ProtocolError('bad_argument', 'counter');
      if (this.hal.power.batteryPercent() < BATTERY_EMPTY) throw new ProtocolError('low_battery');
      const record: EnrolmentRecord = {
        mode: args.mode,
        algorithm: args.algorithm,
        digits: args.digits,
        period: args.mode === 'totp' ? (args.period ?? DEFAULT_PERIOD_SECONDS) : 0,
        initialCounter: args.mode === 'hotp' ? (args.counter ?? 0) : 0,
        secret: args.secret,
      };
      const payload = encodeEnrolment(record);
      const written = this.commit(TAG.enrolment, payload);
      payload.fill(0);
      if (!written) throw new ProtocolError('storage_failure');
      this.enrolled = { record: { ...record, secret: new Uint8Array(0) }, key: createOathKey(args.secret, args.algorithm) };
      args.secret.fill(0);
      this.counter = record.initialCounter;
      this.showMessage(MESSAGES.enrolled);
      return record.mode === 'hotp' ? { counter: this.counter } : {};
    },
    time: () => ({ clock: this.clock() }),
    settime: ({ at, force }) => {
      if (at < this.hal.rtc.read() && !force) throw new ProtocolError('denied', 'backwards');
      this.hal.rtc.write(at);
      return { clock: this.clock() };
    },
    wipe: (_args, from) => {
      this.startConfirm(from);
      return undefined;
    },
    push: ({ on }) => {
      this.requireStore();
      if (on !== this.push && !this.saveSettings({ push: on, ...this.audio })) throw new ProtocolError('storage_failure');
      return { push: on };
    },
    audio: ({ volume = this.audio.volume, speed = this.audio.speed }) => {
      if (volume !== this.audio.volume || speed !== this.audio.speed) {
        this.requireStore();
        if (!this.saveSettings({ push: this.push, volume, speed })) throw new ProtocolError('storage_failure');
      }
      return { ...this.audio };
    },
  };

  /** Commits the settings record, then takes it; false (showing Err FL) when the flash did not take it. */
  private saveSettings(settings: Settings): boolean {
    if (!this.commit(TAG.settings, encodeSettings(settings))) return false;
    this.push = settings.push;
    this.audio = { volume: settings.volume, speed: settings.speed };
    return true;
  }


  private startConfirm(from: Requester): void {
    this.pending = from;
    this.timers.set('confirm', this.hal.clock.now() + this.timings.confirmMs);
    this.timers.set('keepalive', this.hal.clock.now() + KEEPALIVE_INTERVAL_MS);
    this.showScreen({ kind: 'confirm' }, null);
    this.say([MESSAGE_WORDS[MESSAGES.confirmWipe]!]);
    from.link.send(this.event('confirm', { op: 'wipe', timeout_ms: this.timings.confirmMs }));
  }

  private confirmWipe(): void {
    const pending = this.pending!;
    this.pending = undefined;
    this.timers.cancel('confirm');
    this.timers.cancel('keepalive');
    if (!this.store || !this.storing(() => this.store!.retainOnly((tag) => tag === TAG.serial || tag === TAG.settings))) {
      this.showMessage(MESSAGES.storageError);
      return pending.link.send(errorResponse(pending.requestId, 'storage_failure'));
    }
    this.enrolled?.key.destroy();
    this.enrolled = undefined;
    this.counter = 0;
    this.showMessage(MESSAGES.wiped);
    pending.link.send({ kind: 'response', id: pending.requestId, ok: true, fields: {} });
  }

  private finishConfirm(code: 'denied', detail: 'timeout' | 'cancelled'): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    this.timers.cancel('confirm');
    this.timers.cancel('keepalive');
    if (detail === 'cancelled') this.showMessage(MESSAGES.cancelled);
    else this.showScreen({ kind: 'blank' }, null);
    pending.link.send(errorResponse(pending.requestId, code, detail));
  }

  // ---- state ----

  private identity() {
    return {
      proto: PROTOCOL_VERSION,
      model: this.config.model,
      hardware: this.config.hardware,
      serial: this.serial,
      firmware: FIRMWARE_VERSION,
    };
  }

  private state() {
    const record = this.enrolled?.record;
    return {
      enrolled: record !== undefined,
      counter: record?.mode === 'hotp' ? this.counter : undefined,
      battery: Math.max(0, Math.min(100, Math.round(this.hal.power.batteryPercent()))),
      clock: this.clock(),
      push: this.push,
    };
  }

  private clock(): number {
    return Math.min(MAX_CLOCK_MS, Math.max(0, Math.floor(this.hal.rtc.read())));
  }


  private loadSerial(): string {
    const stored = this.store!.get(TAG.serial);
    if (stored) return String.fromCharCode(...stored);
    const serial = this.config.factorySerial ?? this.randomSerial();
    const bytes = Uint8Array.from(serial, (char) => char.charCodeAt(0));
    this.commit(TAG.serial, bytes);
    return serial;
  }

  private randomSerial(): string {
    const bytes = new Uint8Array(4);
    this.hal.rng.fill(bytes);
    const value = new DataView(bytes.buffer).getUint32(0) % 90_000_000;
    return String(10_000_000 + value);
  }

  /** Stores a record; false (showing Err FL) when the flash did not take it. */
  private commit(tag: number, payload: Uint8Array): boolean {
    return this.storing(() => this.store!.put(tag, payload));
  }

  /** Runs a flash write; a storage failure puts the token in its error state instead of crashing it. */
  private storing(write: () => void): boolean {
    try {
      write();
      return true;
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
      this.showMessage(MESSAGES.storageError);
      return false;
    }
  }

  private requireStore(): void {
    if (!this.store) throw new ProtocolError('storage_failure');
  }

  // ---- display and events ----

  private showCode(code: string, battery: number, step: number | undefined): void {
    const screen: Screen = { kind: 'code', code, text: codeToText(code), step, lowBattery: battery < BATTERY_LOW };
    this.showScreen(screen, this.timings.displayMs);
    this.sayCode(screen);
  }

  /** The code's digits, and the battery's warning when its mark is lit. */
  private sayCode(screen: Extract<Screen, { kind: 'code' }>): void {
    if (!this.speaks) return;
    this.say(screen.lowBattery ? [...digitWords(screen.code), 'low-battery'] : digitWords(screen.code));
  }

  private showMessage(text: string): void {
    this.showScreen({ kind: 'message', text }, this.timings.messageMs);
    const word = MESSAGE_WORDS[text];
    if (word) this.say([word]);
  }

  /** Whether the token says what it shows: its volume is above 0. */
  private get speaks(): boolean {
    return this.audio.volume > MIN_VOLUME;
  }

  /** Says `words` at the token's volume and speed; a silent token (volume 0) says nothing. */
  private say(words: readonly Word[]): void {
    if (!this.speaks || words.length === 0) return;
    this.hal.speaker.say({ words, volume: this.audio.volume, speed: this.audio.speed });
  }

  private showScreen(screen: Screen, durationMs: number | null): void {
    this.screen = screen;
    if (durationMs === null) this.timers.cancel('screen');
    else this.timers.set('screen', this.hal.clock.now() + durationMs);
    const segments = textToSegments(this.screenText(screen));
    // A low battery lights the last decimal point beside the code, as a token's battery mark would.
    if (screen.kind === 'code' && screen.lowBattery) segments[segments.length - 1]! |= DECIMAL_POINT;
    this.hal.display.show(segments);
  }

  private screenText(screen: Screen): string {
    switch (screen.kind) {
      case 'blank':
        return '';
      case 'code':
      case 'message':
        return screen.text;
      case 'serial':
        return this.serial.slice(-8);
      case 'confirm':
        return MESSAGES.confirmWipe;
    }
  }

  private emit<E extends EventName>(name: E, fields: EventFields[E]): void {
    if (name === 'press' && !this.push) return;
    this.broadcast(name, fields);
  }

  /** One event, one sequence number, to every host on every link. */
  private broadcast<E extends EventName>(name: E, fields: EventFields[E]): void {
    const message = this.event(name, fields);
    for (const link of this.links) link.broadcast(message);
  }

  private event<E extends EventName>(name: E, fields: EventFields[E]): Message {
    const message: Message = { kind: 'event', seq: this.eventSeq, name, fields: encodeFields(EVENTS[name], fields) };
    this.eventSeq = (this.eventSeq + 1) >>> 0;
    return message;
  }
}
