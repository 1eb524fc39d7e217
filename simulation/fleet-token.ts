/**
 * One token of the fleet: the real firmware core on the device's simulated parts (its flash, a
 * drifting real-time clock, the battery model), on virtual time. It is enrolled as a bridge would
 * do it, with an `enroll` request over a line link; after that a person only presses its button
 * and reads its display.
 */
import { COMMANDS } from '../protocol/commands.ts';
import { asciiToBytes, bytesToAscii } from '../protocol/bytes.ts';
import { encodeFields } from '../protocol/fields.ts';
import { decodeLine, encodeLine } from '../protocol/framing/line.ts';
import type { Transport } from '../device/hal/transport.ts';
import { MESSAGES } from '../device/firmware/token.ts';
import { SimFlash } from '../device/sim/sim-flash.ts';
import { SimClock, SimRng, SimRtc } from '../device/sim/sim-parts.ts';
import { SimToken } from '../device/sim/sim-token.ts';
import { SimBattery } from './battery.ts';
import { DAY_MS, SIMULATION_START_MS, SMALL_FLASH, TOTP_PERIOD_SECONDS, crystalPpmAt, dayOf, temperatureC, type TokenProfile } from './model.ts';
import { Random } from './random.ts';

/** A host link that keeps what the token sends, for the one request the simulation makes. */
class LineCapture implements Transport {
  readonly framing = 'line' as const;
  text = '';
  send(bytes: Uint8Array): void {
    this.text += bytesToAscii(bytes);
  }
}

export class FleetToken {
  readonly sim: SimToken;
  readonly rtc: SimRtc;
  readonly flash: SimFlash;
  readonly battery: SimBattery;
  private readonly link = new LineCapture();
  private readonly weather: Random;
  /** The next midnight at which the crystal's temperature (and so its drift) changes. */
  private nextMidnight: number;

  constructor(
    readonly profile: TokenProfile,
    seed: string,
    flashEndurance?: number,
  ) {
    const clock = new SimClock();
    this.weather = new Random(seed, `weather/${profile.index}`);
    this.rtc = new SimRtc(clock, SIMULATION_START_MS, crystalPpmAt(profile, temperatureC(profile, 0, this.weather)));
    this.nextMidnight = SIMULATION_START_MS + DAY_MS;
    this.flash = new SimFlash(profile.smallFlash ? { ...SMALL_FLASH, ...(flashEndurance ? { endurance: flashEndurance } : {}) } : flashEndurance ? { endurance: flashEndurance } : {});
    this.battery = new SimBattery(profile.startPercent, profile.selfDischargePerDay, SIMULATION_START_MS, () => this.worldNow());
    const serialRandom = new Random(seed, `rng/${profile.index}`);
    this.sim = new SimToken({
      config: { model: 'NV1', hardware: 'simulation', factorySerial: profile.serial },
      flash: this.flash,
      transports: [this.link],
      clock,
      rtc: this.rtc,
      power: this.battery,
      rng: new SimRng((bytes) => bytes.set(serialRandom.bytes(bytes.length))),
    });
    this.sim.display.onChange((segments) => this.battery.displayLit(segments.some((s) => s !== 0)));
    this.sim.powerOn();
    this.request('enroll', encodeFields(COMMANDS.enroll.args, {
      secret: profile.seed.slice(),
      mode: profile.kind,
      algorithm: 'sha1',
      digits: 6,
      ...(profile.kind === 'totp' ? { period: TOTP_PERIOD_SECONDS } : { counter: 0 }),
    }));
    // Nobody listens to press events: the holder reads the display.
    this.request('push', encodeFields(COMMANDS.push.args, { on: false }));
    this.waitUntilDark();
  }

  /** The simulated wall clock, as this token has been brought up to it. */
  worldNow(): number {
    return SIMULATION_START_MS + this.sim.clock.wallNow();
  }

  /** Brings the token up to `atMs`: timers fire, the battery discharges, the crystal follows each day's temperature. */
  advanceTo(atMs: number): void {
    while (this.nextMidnight <= atMs) {
      this.sim.advance(this.nextMidnight - this.worldNow());
      // Rebased at each midnight: the clock keeps what it counted, and runs at the new day's rate.
      this.rtc.write(this.rtc.read());
      this.rtc.driftPpm = crystalPpmAt(this.profile, temperatureC(this.profile, dayOf(this.nextMidnight), this.weather));
      this.nextMidnight += DAY_MS;
    }
    if (atMs > this.worldNow()) this.sim.advance(atMs - this.worldNow());
    this.battery.advanceTo(atMs);
  }

  get displayLit(): boolean {
    return this.sim.display.segments.some((s) => s !== 0);
  }

  /** Waits (in virtual time) until the display has gone dark. */
  waitUntilDark(): void {
    for (let guard = 0; this.displayLit && guard < 100; guard++) {
      const wake = this.sim.clock.pendingWake;
      this.advanceTo(this.worldNow() + Math.max(1, wake === null ? 1000 : wake - this.sim.clock.now()));
    }
  }

  /**
   * A press on a dark display at `atMs` (or as soon after as the display is dark): what the
   * display then shows, and whether the battery model had the cell empty when the finger went down.
   */
  press(atMs: number): { shown: string; wasEmpty: boolean } {
    this.advanceTo(Math.max(atMs, this.worldNow()));
    this.waitUntilDark();
    const wasEmpty = this.battery.emptyAt !== undefined && this.battery.emptyAt <= this.worldNow();
    this.sim.press();
    return { shown: this.sim.readDisplay().trim(), wasEmpty };
  }

  /** What the display shows when it says the battery is empty. */
  static readonly LOW_BATTERY = MESSAGES.lowBattery;

  /** The clock's error now, in milliseconds (positive: ahead). */
  clockOffsetMs(): number {
    return this.rtc.read() - this.worldNow();
  }

  /** The HOTP counter the token will use next, read over its link (as the bridge's `info` does). */
  counter(): number {
    const reply = this.request('info', {});
    return Number(reply.counter ?? 0);
  }

  private nextId = 1;

  private request(name: keyof typeof COMMANDS, fields: Record<string, string>): Record<string, string> {
    const id = this.nextId++;
    this.link.text = '';
    this.sim.receive(0, asciiToBytes(encodeLine({ kind: 'request', id, name, fields })));
    for (const line of this.link.text.split('\n')) {
      if (!line) continue;
      const message = decodeLine(line);
      if (message.kind !== 'response' || message.id !== id) continue;
      if (!message.ok) throw new Error(`the simulated token refused ${name}: ${message.fields.code}`);
      return message.fields;
    }
    throw new Error(`the simulated token did not answer ${name}`);
  }
}

