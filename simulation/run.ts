/**
 * A simulated year: every token of the fleet lives through its holder's planned days on virtual
 * time, against the real validation server in this process. People act as people do: they press,
 * read and type the code; a code beyond the window makes them resync with two fresh codes; a
 * locked token is unlocked by its holder the same way; a token far beyond any resync goes to
 * support, which reads its counter as the bridge would. Everything that happens is checked
 * against the invariants, counted for the report, and folded into an event digest.
 */
import { createHash, type Hash } from 'node:crypto';
import { createOathKey, hotpCode, totpCode, totpStep, type OathKey } from '../protocol/oath/index.ts';
import { DEFAULT_POLICY } from '../host/server/policy.ts';
import type { VerifyOutcome } from '../host/server/token-service.ts';
import { forecastEmpty, plannedPresses } from './battery.ts';
import { FleetToken } from './fleet-token.ts';
import { InvariantLedger, type InvariantResult } from './invariants.ts';
import { DAY_MS, SIMULATION_START_MS, TOTP_PERIOD_SECONDS, buildFleet, dayOf, planYear, type Activity, type TokenProfile } from './model.ts';
import { Random } from './random.ts';
import { startSimulationServer, type TokenApi } from './server.ts';
import { VirtualTime } from './virtual-time.ts';

export interface SimulationOptions {
  readonly tokens: number;
  readonly days: number;
  readonly seed: string;
  /** The server's SQLite file (new); a temporary one otherwise. */
  readonly db?: string;
  /** Sessions of different tokens in flight at once. */
  readonly concurrency?: number;
  /** Told after each simulated day. */
  readonly onDay?: (daysDone: number) => void;
  /** A seam for tests: what stands between the simulation and the server's token API. */
  readonly wrapApi?: (api: TokenApi) => TokenApi;
  /** A seam for tests: every token's flash rated for this many erases. */
  readonly flashEndurance?: number;
}

const PERIOD_MS = TOTP_PERIOD_SECONDS * 1000;
const WEEK_MS = 7 * DAY_MS;
export const AHEAD_BUCKETS: readonly { readonly label: string; readonly upTo: number }[] = [
  { label: '0', upTo: 0 },
  { label: '1–9', upTo: 9 },
  { label: '10–49', upTo: 49 },
  { label: '50–199', upTo: 199 },
  { label: '200–999', upTo: 999 },
  { label: '≥ 1000', upTo: Infinity },
];

export interface WeekCounts {
  week: number;
  accepted: number;
  rejected: number;
  resynced: number;
  locked: number;
}

export interface TokenSummary {
  readonly serial: string;
  readonly kind: 'hotp' | 'totp';
  readonly crystalPpm: number;
  readonly startPercent: number;
  readonly smallFlash: boolean;
  readonly endurance: number;
  readonly maxEraseCount: number;
  readonly forecastEmptyDay: number | null;
  readonly ranOutDay: number | null;
  readonly shownEmptyDay: number | null;
  readonly lostDay: number | null;
  readonly maxAhead: number;
  readonly beyondResyncWindow: boolean;
  readonly logins: number;
  readonly loginsAccepted: number;
  readonly finalClockOffsetSeconds: number;
}

export interface SimulationData {
  readonly parameters: {
    readonly tokens: number;
    readonly days: number;
    readonly seed: string;
    readonly start: string;
    readonly policy: { readonly hotpWindow: number; readonly totpSteps: number; readonly resyncWindow: number; readonly maxFail: number };
  };
  readonly totals: Record<string, number>;
  readonly weekly: readonly WeekCounts[];
  readonly offsets: readonly { readonly day: number; readonly trueSeconds: number; readonly learnedSeconds: number }[];
  readonly battery: readonly { readonly week: number; readonly median: number; readonly p10: number; readonly min: number; readonly ranOut: number }[];
  readonly flashWear: readonly { readonly week: number; readonly smallMax: number; readonly smallMedian: number; readonly standardMax: number }[];
  readonly ahead: readonly { readonly bucket: string; readonly logins: number }[];
  readonly tokens: readonly TokenSummary[];
  readonly invariants: readonly InvariantResult[];
  readonly events: { readonly count: number; readonly sha256: string };
}

/** One token and what the simulation knows of it and its holder. */
class Holder {
  readonly device: FleetToken;
  readonly key: OathKey;
  readonly choices: Random;
  readonly events: Hash = createHash('sha256');
  eventCount = 0;
  state: 'active' | 'lost' | 'dead' = 'active';
  /** The counter the token uses next (counted from the codes it showed), and the server's. */
  tokenCounter = 0;
  serverCounter = 0;
  lastAcceptedCounter = -1;
  lastAcceptedStep = -1;
  /** The TOTP step of the last code the token showed. */
  lastShownStep = -1;
  maxAhead = 0;
  beyond = false;
  shownEmptyAt: number | undefined;
  lostAt: number | undefined;
  logins = 0;
  loginsAccepted = 0;

  constructor(
    readonly profile: TokenProfile,
    readonly plan: readonly Activity[],
    readonly forecastEmptyAt: number | undefined,
    seed: string,
    flashEndurance: number | undefined,
  ) {
    this.device = new FleetToken(profile, seed, flashEndurance);
    this.key = createOathKey(profile.seed, 'sha1');
    this.choices = new Random(seed, `choices/${profile.index}`);
  }

  record(at: number, line: string): void {
    this.events.update(`${at}|${line}\n`);
    this.eventCount++;
  }
}

export async function simulate(options: SimulationOptions): Promise<SimulationData> {
  const { tokens, days, seed } = options;
  const endMs = SIMULATION_START_MS + days * DAY_MS;
  const time = new VirtualTime(SIMULATION_START_MS);
  const server = await startSimulationServer({ db: options.db, now: time.now });
  try {
    const api = options.wrapApi ? options.wrapApi(server.api) : server.api;
    const year = new Year(options, api, time, endMs);
    await year.enrol();
    await year.run();
    return year.data();
  } finally {
    await server.close();
  }
}

class Year {
  private readonly holders: Holder[];
  private readonly ledger = new InvariantLedger();
  private readonly weekly: WeekCounts[] = [];
  private readonly offsets: { day: number; trueSeconds: number; learnedSeconds: number }[] = [];
  private readonly batterySeries: SimulationData['battery'][number][] = [];
  private readonly wearSeries: SimulationData['flashWear'][number][] = [];
  private readonly ahead = AHEAD_BUCKETS.map(() => 0);
  private readonly totals = {
    logins: 0,
    loginsAccepted: 0,
    accepted: 0,
    rejected: 0,
    replaysRefused: 0,
    resynced: 0,
    locked: 0,
    holderUnlocks: 0,
    supportSyncs: 0,
    typos: 0,
    presses: 0,
    pocketPresses: 0,
    lost: 0,
    ranOut: 0,
    doomed: 0,
  };

  constructor(
    private readonly options: SimulationOptions,
    private readonly api: TokenApi,
    private readonly time: VirtualTime,
    private readonly endMs: number,
  ) {
    const fleet = buildFleet(options.seed, options.tokens, options.days);
    this.holders = fleet.map((profile) => {
      const plan = planYear(profile, options.seed, options.days).filter((a) => a.at < endMs);
      const forecast = forecastEmpty(profile.startPercent, profile.selfDischargePerDay, SIMULATION_START_MS, endMs, plannedPresses(plan));
      return new Holder(profile, plan, forecast, options.seed, options.flashEndurance);
    });
    for (let week = 0; week * 7 < options.days; week++) this.weekly.push({ week, accepted: 0, rejected: 0, resynced: 0, locked: 0 });
  }

  async enrol(): Promise<void> {
    // Registered a few at a time: the server's group commit writes them together.
    for (let i = 0; i < this.holders.length; i += 16) await Promise.all(this.holders.slice(i, i + 16).map((holder) => this.register(holder)));
  }

  private async register(holder: Holder): Promise<void> {
    {
      const { profile } = holder;
      await this.api.register({
        serial: profile.serial,
        kind: profile.kind,
        algorithm: 'sha1',
        digits: 6,
        ...(profile.kind === 'totp' ? { period: TOTP_PERIOD_SECONDS } : { counter: 0 }),
        seed: Buffer.from(profile.seed).toString('hex'),
      });
    }
  }

  async run(): Promise<void> {
    const order = this.holders.flatMap((holder) => holder.plan.map((activity) => ({ holder, activity })));
    order.sort((a, b) => a.activity.at - b.activity.at || a.holder.profile.index - b.holder.profile.index);
    const concurrency = this.options.concurrency ?? 32;
    let weekEnd = SIMULATION_START_MS + WEEK_MS;
    let daysDone = 0;
    const dayDone = (day: number) => {
      for (; daysDone < Math.min(day, this.options.days); daysDone++) this.options.onDay?.(daysDone + 1);
    };
    // Up to `concurrency` sessions in flight, each token's in its planned order; at each week's end
    // every session is let finish, so the week's curves see the whole fleet at one instant.
    const inFlight = new Set<Promise<void>>();
    const chains = new Map<Holder, Promise<void>>();
    for (const { holder, activity } of order) {
      if (activity.at >= weekEnd) {
        await Promise.all(inFlight);
        chains.clear();
        while (activity.at >= weekEnd) {
          this.sampleWeek(weekEnd);
          weekEnd += WEEK_MS;
        }
      }
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      const session: Promise<void> = (chains.get(holder) ?? Promise.resolve())
        .then(() => this.time.run(activity.at, () => this.perform(holder, activity)))
        .finally(() => inFlight.delete(session));
      inFlight.add(session);
      chains.set(holder, session);
      dayDone(dayOf(activity.at));
    }
    await Promise.all(inFlight);
    for (; weekEnd < this.endMs + WEEK_MS; weekEnd += WEEK_MS) this.sampleWeek(Math.min(weekEnd, this.endMs));
    dayDone(this.options.days);
    this.finish();
  }

  private async perform(holder: Holder, activity: Activity): Promise<void> {
    switch (activity.kind) {
      case 'login':
        return this.login(holder, activity.at);
      case 'pocket':
        for (const at of activity.presses) {
          this.totals.pocketPresses++;
          this.pressNow(holder, at, 'pocket');
        }
        return;
      case 'lost':
        if (holder.state !== 'active') return;
        holder.state = 'lost';
        holder.lostAt = activity.at;
        this.totals.lost++;
        await this.api.reportLost(holder.profile.serial, { replacement: false });
        holder.record(activity.at, 'lost');
        return;
      case 'finder': {
        if (holder.state !== 'lost') return;
        const code = this.pressNow(holder, activity.at, 'finder');
        if (code === undefined) return;
        const outcome = await this.verify(holder, code);
        this.ledger.check('lost-token-refused', outcome.result !== 'accepted', () => `token ${holder.profile.serial}, reported lost on day ${dayOf(holder.lostAt!)}, was accepted on day ${dayOf(activity.at)}`);
        return;
      }
    }
  }

  // ---- the person ----

  private async login(holder: Holder, at: number): Promise<void> {
    if (holder.state !== 'active') return;
    const { profile, choices } = holder;
    holder.logins++;
    this.totals.logins++;
    if (profile.kind === 'hotp') this.noteAhead(holder);
    let code = this.pressNow(holder, at, 'login');
    let accepted = false;
    if (code !== undefined) {
      if (choices.chance(profile.habits.fumbleRate)) {
        for (let n = choices.int(2, 7); n > 0; n--) await this.wrongCode(holder);
      } else if (choices.chance(profile.habits.typoRate)) {
        await this.wrongCode(holder);
      }
      let supportCalled = false;
      for (let round = 0; round < 8 && code !== undefined && holder.state === 'active'; round++) {
        this.typing(holder);
        const pressedAt = holder.device.worldNow();
        const offsetAtPress = holder.device.clockOffsetMs();
        const outcome = await this.verify(holder, code);
        if (outcome.result === 'accepted') {
          accepted = true;
          this.accepted(holder, outcome, pressedAt, offsetAtPress);
          if (choices.chance(profile.habits.doubleSubmitRate)) {
            const again = await this.verify(holder, code);
            if (again.result !== 'accepted') this.totals.replaysRefused++;
            this.ledger.check('no-code-accepted-twice', again.result !== 'accepted', () => `a login form sent twice by the holder of ${profile.serial} on day ${dayOf(this.time.now())} was accepted both times`);
          }
          break;
        }
        const reason = outcome.reason;
        if (reason === 'locked' || reason === 'out_of_window') {
          if (reason === 'locked') this.totals.holderUnlocks++;
          if (!(await this.resync(holder))) break;
        } else if (reason === 'wrong_code' && profile.kind === 'hotp' && !supportCalled && round > 0) {
          // Twice refused: support plugs the token into the bridge, which reads its counter and moves the server's up to it.
          supportCalled = true;
          await this.supportSync(holder);
        } else if (reason !== 'wrong_code' && reason !== 'replayed') {
          break;
        }
        code = this.pressFresh(holder, 'login');
      }
    }
    if (accepted) {
      holder.loginsAccepted++;
      this.totals.loginsAccepted++;
    }
    const stillHeld = holder.state === 'active';
    if (profile.kind === 'hotp') {
      this.ledger.check('hotp-stays-usable', accepted || !stillHeld || holder.beyond, () => `the holder of HOTP token ${profile.serial} (at most ${holder.maxAhead} ahead) could not log in on day ${dayOf(at)}`);
    } else {
      const withinModel = Math.abs(holder.device.clockOffsetMs()) < (DEFAULT_POLICY.resyncWindow / 2 - 2) * PERIOD_MS;
      this.ledger.check('totp-stays-verifiable', accepted || !stillHeld || !withinModel, () => `the holder of TOTP token ${profile.serial} (clock ${(holder.device.clockOffsetMs() / 1000).toFixed(1)} s off) could not log in on day ${dayOf(at)}`);
    }
    holder.record(this.time.now(), `session|${accepted ? 'ok' : 'failed'}`);
  }

  /** Reading the code and typing it takes a few seconds. */
  private typing(holder: Holder): void {
    this.time.set(holder.device.worldNow() + holder.choices.int(4_000, 20_000));
  }

  private noteAhead(holder: Holder): void {
    const ahead = holder.tokenCounter - holder.serverCounter;
    holder.maxAhead = Math.max(holder.maxAhead, ahead);
    this.ahead[AHEAD_BUCKETS.findIndex((bucket) => ahead <= bucket.upTo)]!++;
  }

  /** A code that is not the token's now (a typo, a bad day): it should be refused and counted. */
  private async wrongCode(holder: Holder): Promise<void> {
    this.totals.typos++;
    this.typing(holder);
    const wrong = this.notACode(holder);
    const outcome = await this.verify(holder, wrong);
    this.ledger.check('no-code-accepted-twice', outcome.result !== 'accepted', () => `a code token ${holder.profile.serial} never showed was accepted on day ${dayOf(this.time.now())}`);
  }

  /** Six digits that match none of the codes the server would take or call replayed now. */
  private notACode(holder: Holder): string {
    const near = new Set<string>();
    if (holder.profile.kind === 'hotp') {
      for (let c = Math.max(0, holder.serverCounter - 12); c < holder.serverCounter + 12; c++) near.add(hotpCode(holder.key, c, 6));
    } else {
      const step = totpStep(this.time.now(), TOTP_PERIOD_SECONDS);
      for (let s = step - 40; s <= step + 40; s++) near.add(totpCode(holder.key, s * PERIOD_MS, TOTP_PERIOD_SECONDS, 6));
    }
    for (;;) {
      const candidate = String(holder.choices.int(0, 999_999)).padStart(6, '0');
      if (!near.has(candidate)) return candidate;
    }
  }

  /** Two consecutive fresh codes: a resync, which also unlocks a locked token. */
  private async resync(holder: Holder): Promise<boolean> {
    if (holder.profile.kind === 'hotp' && holder.tokenCounter - holder.serverCounter >= DEFAULT_POLICY.resyncWindow) holder.beyond = true;
    const first = this.pressFresh(holder, 'resync');
    const second = first === undefined ? undefined : this.pressFresh(holder, 'resync');
    if (first === undefined || second === undefined) return false;
    this.typing(holder);
    const outcome = await this.api.resync(holder.profile.serial, [first, second]);
    holder.record(this.time.now(), `resync|${outcome.result}`);
    if (outcome.result !== 'resynced') return false;
    this.week().resynced++;
    this.totals.resynced++;
    if (outcome.counter !== undefined) holder.serverCounter = outcome.counter;
    return true;
  }

  private async supportSync(holder: Holder): Promise<void> {
    this.totals.supportSyncs++;
    const counter = holder.device.counter();
    await this.api.advanceCounter(holder.profile.serial, counter);
    holder.serverCounter = Math.max(holder.serverCounter, counter);
    holder.record(this.time.now(), `support-sync|${counter}`);
  }

  private accepted(holder: Holder, outcome: Extract<VerifyOutcome, { result: 'accepted' }>, pressedAt: number, offsetAtPress: number): void {
    const serial = holder.profile.serial;
    if (holder.profile.kind === 'hotp') {
      const counter = outcome.counter ?? -1;
      this.ledger.check('no-code-accepted-twice', counter > holder.lastAcceptedCounter, () => `token ${serial}: counter ${counter} accepted after ${holder.lastAcceptedCounter} on day ${dayOf(this.time.now())}`);
      holder.lastAcceptedCounter = Math.max(holder.lastAcceptedCounter, counter);
      holder.serverCounter = Math.max(holder.serverCounter, counter + 1);
      return;
    }
    const step = outcome.step ?? -1;
    this.ledger.check('no-code-accepted-twice', step > holder.lastAcceptedStep, () => `token ${serial}: step ${step} accepted after ${holder.lastAcceptedStep} on day ${dayOf(this.time.now())}`);
    holder.lastAcceptedStep = Math.max(holder.lastAcceptedStep, step);
    const learnedMs = (step - totpStep(this.time.now(), TOTP_PERIOD_SECONDS)) * PERIOD_MS;
    const typed = this.time.now() - pressedAt;
    this.ledger.check(
      'totp-stays-verifiable',
      Math.abs(learnedMs - offsetAtPress) < PERIOD_MS + typed,
      () => `token ${serial}: the server learned a drift of ${learnedMs / 1000} s where the clock was ${(offsetAtPress / 1000).toFixed(1)} s off, on day ${dayOf(pressedAt)}`,
    );
    if (this.offsets.length < 20_000) this.offsets.push({ day: round((pressedAt - SIMULATION_START_MS) / DAY_MS, 3), trueSeconds: round(offsetAtPress / 1000, 2), learnedSeconds: learnedMs / 1000 });
  }

  // ---- the token and the server ----

  /** A press at `at` (once the display is dark); the code shown, or undefined when it shows none. */
  private pressNow(holder: Holder, at: number, why: string): string | undefined {
    const { shown, wasEmpty: empty } = holder.device.press(at);
    const now = holder.device.worldNow();
    this.time.set(now);
    this.totals.presses++;
    const emptyAt = holder.device.battery.emptyAt;
    const serial = holder.profile.serial;
    if (shown === FleetToken.LOW_BATTERY) {
      this.ledger.check('battery-runs-out-as-modelled', empty, () => `token ${serial} showed an empty battery on day ${dayOf(now)} while the model had charge left`);
      holder.shownEmptyAt ??= now;
      holder.record(now, `${why}|low-battery`);
      if (holder.state === 'active' && why !== 'pocket') {
        // The holder sees it: the token is handed in, and the organisation revokes it.
        holder.state = 'dead';
        void this.api.changeState(serial, 'revoke');
      }
      return undefined;
    }
    this.ledger.check('battery-runs-out-as-modelled', !empty, () => `token ${serial} showed a code on day ${dayOf(now)} with its battery empty since day ${dayOf(emptyAt!)}`);
    // A code with the battery low carries a decimal point after it, as the token's battery mark.
    const code = /^(\d{6}) *(\.?)$/.exec(shown);
    if (!code) {
      holder.record(now, `${why}|shows|${shown}`);
      return undefined;
    }
    if (holder.profile.kind === 'hotp') holder.tokenCounter++;
    else holder.lastShownStep = Math.floor(holder.device.rtc.read() / PERIOD_MS);
    holder.record(now, `${why}|press${code[2] ? '|battery-low' : ''}`);
    return code[1];
  }

  /** A new code: for TOTP, one of a later step than the last the token showed. */
  private pressFresh(holder: Holder, why: string): string | undefined {
    holder.device.waitUntilDark();
    const rtc = holder.device.rtc;
    if (holder.profile.kind === 'totp' && Math.floor(rtc.read() / PERIOD_MS) <= holder.lastShownStep) {
      const next = (holder.lastShownStep + 1) * PERIOD_MS;
      const wait = Math.ceil((next - rtc.read()) / (1 + rtc.driftPpm / 1e6)) + 1000;
      holder.device.advanceTo(holder.device.worldNow() + wait);
    }
    return this.pressNow(holder, holder.device.worldNow(), why);
  }

  private async verify(holder: Holder, code: string): Promise<VerifyOutcome> {
    const outcome = await this.api.verify(holder.profile.serial, code);
    const week = this.week();
    if (outcome.result === 'accepted') {
      week.accepted++;
      this.totals.accepted++;
    } else {
      week.rejected++;
      this.totals.rejected++;
      if (outcome.locked && outcome.reason !== 'locked') {
        week.locked++;
        this.totals.locked++;
      }
    }
    holder.record(this.time.now(), `verify|${outcome.result}|${outcome.result === 'accepted' ? (outcome.counter ?? outcome.step) : outcome.reason}`);
    return outcome;
  }

  private week(): WeekCounts {
    const index = Math.min(this.weekly.length - 1, Math.max(0, Math.floor(dayOf(this.time.now()) / 7)));
    return this.weekly[index]!;
  }

  // ---- the year's curves and the end ----

  private sampleWeek(at: number): void {
    const charges: number[] = [];
    const small: number[] = [];
    let standardMax = 0;
    let ranOut = 0;
    for (const holder of this.holders) {
      holder.device.advanceTo(at);
      const battery = holder.device.battery;
      charges.push(battery.percent);
      if (battery.emptyAt !== undefined) ranOut++;
      const wear = Math.max(...holder.device.flash.eraseCounts) / holder.device.flash.endurance;
      if (holder.profile.smallFlash) small.push(wear);
      else standardMax = Math.max(standardMax, wear);
    }
    charges.sort((a, b) => a - b);
    small.sort((a, b) => a - b);
    const week = this.batterySeries.length + 1;
    this.batterySeries.push({ week, median: round(quantile(charges, 0.5), 3), p10: round(quantile(charges, 0.1), 3), min: round(charges[0] ?? 0, 3), ranOut });
    this.wearSeries.push({ week, smallMax: round(100 * (small[small.length - 1] ?? 0), 3), smallMedian: round(100 * quantile(small, 0.5), 3), standardMax: round(100 * standardMax, 3) });
  }

  private finish(): void {
    for (const holder of this.holders) {
      holder.device.advanceTo(this.endMs);
      const { flash, battery } = holder.device;
      const serial = holder.profile.serial;
      for (let page = 0; page < flash.eraseCounts.length; page++) {
        this.ledger.check('flash-within-erase-limit', flash.eraseCounts[page]! <= flash.endurance, () => `token ${serial}: flash page ${page} erased ${flash.eraseCounts[page]} times, rated for ${flash.endurance}`);
      }
      if (battery.emptyAt !== undefined) this.totals.ranOut++;
      const forecast = holder.forecastEmptyAt;
      // Doomed: the model, run over the planned presses alone, says the battery runs out a day before the end or earlier.
      if (forecast !== undefined && dayOf(forecast) < this.options.days - 1) {
        this.totals.doomed++;
        const ran = battery.emptyAt;
        this.ledger.check(
          'battery-runs-out-as-modelled',
          ran !== undefined && dayOf(ran) <= dayOf(forecast) + 1,
          () => `token ${serial}: the model said its battery runs out on day ${dayOf(forecast)}, ${ran === undefined ? 'it never did' : `it did on day ${dayOf(ran)}`}`,
        );
      }
    }
  }

  data(): SimulationData {
    const digest = createHash('sha256');
    let count = 0;
    for (const holder of this.holders) {
      digest.update(holder.events.digest('hex'));
      count += holder.eventCount;
    }
    const { tokens, days, seed } = this.options;
    return {
      parameters: {
        tokens,
        days,
        seed,
        start: new Date(SIMULATION_START_MS).toISOString(),
        policy: { hotpWindow: DEFAULT_POLICY.hotpWindow, totpSteps: DEFAULT_POLICY.totpSteps, resyncWindow: DEFAULT_POLICY.resyncWindow, maxFail: DEFAULT_POLICY.maxFail },
      },
      totals: { ...this.totals },
      weekly: this.weekly,
      offsets: this.offsets,
      battery: this.batterySeries,
      flashWear: this.wearSeries,
      ahead: AHEAD_BUCKETS.map((bucket, i) => ({ bucket: bucket.label, logins: this.ahead[i]! })),
      tokens: this.holders.map((holder) => this.summary(holder)),
      invariants: this.ledger.results(),
      events: { count, sha256: digest.digest('hex') },
    };
  }

  private summary(holder: Holder): TokenSummary {
    const { profile, device } = holder;
    const day = (at: number | undefined) => (at === undefined ? null : dayOf(at));
    return {
      serial: profile.serial,
      kind: profile.kind,
      crystalPpm: round(profile.crystalPpm, 2),
      startPercent: round(profile.startPercent, 2),
      smallFlash: profile.smallFlash,
      endurance: device.flash.endurance,
      maxEraseCount: Math.max(...device.flash.eraseCounts),
      forecastEmptyDay: day(holder.forecastEmptyAt),
      ranOutDay: day(device.battery.emptyAt),
      shownEmptyDay: day(holder.shownEmptyAt),
      lostDay: day(holder.lostAt),
      maxAhead: holder.maxAhead,
      beyondResyncWindow: holder.beyond,
      logins: holder.logins,
      loginsAccepted: holder.loginsAccepted,
      finalClockOffsetSeconds: round(device.clockOffsetMs() / 1000, 2),
    };
  }
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function round(value: number, places: number): number {
  const factor = 10 ** places;
  return Math.round(value * factor) / factor;
}


