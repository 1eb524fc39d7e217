/**
 * 100,000+ random and mutated lines into the in-process firmware (test/support/rig.ts), each
 * judged by a reference written here, independent of protocol/: its own CRC-32 (node:zlib), its
 * own framing and message grammar, its own argument rules and a model of the token's state.
 *
 * Every line the token sees gets exactly the one answer the reference predicts (none for an empty
 * line): a coded error from TOKEN_ERRORS with the right ID, or an ok whose fields match the model.
 * The token never throws, never sends anything but valid frames, and afterwards is still enrolled
 * with its counter where it was and shows the next RFC 4226 code.
 *
 * The generator is seeded; set FUZZ_SEED to replay a failure (the seed is printed on failure).
 */
import { describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { TOKEN_ERRORS } from '../errors.ts';
import { MAX_CLOCK_MS } from '../commands.ts';
import { decodeLine } from './line.ts';
import type { Message } from '../message.ts';
import { createRig, type Rig } from '../../test/support/rig.ts';
import { uniform } from '../../test/support/random.ts';
import { DEFAULT_TIMINGS, FIRMWARE_VERSION } from '../../device/firmware/token.ts';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 0x1ee7f022;
const LINES = 100_000;
const CHUNKED_LINES = 50_000;

// ---- the reference ----

const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  return c >>> 0;
});
function refCrc(bytes: Uint8Array): number {
  if (typeof zlibCrc32 === 'function') return zlibCrc32(bytes) >>> 0;
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
const enc = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
const withCrc = (body: string, lower = false) => {
  const check = hex8(refCrc(enc(body)));
  return `${body}*${lower ? check.toLowerCase() : check}`;
};

const RFC4226_SEED = '3132333435363738393031323334353637383930';
/** RFC 4226 appendix D. */
const RFC4226_CODES = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
const START_COUNTER = 3;
const SERIAL = '40000001';
const IDENTITY = { proto: '1', model: 'NV1', hardware: 'test', serial: SERIAL, firmware: FIRMWARE_VERSION };
const RTC_START = Date.UTC(2026, 0, 1);
const UPTIME = DEFAULT_TIMINGS.messageMs;

interface Model {
  clock: number;
  push: boolean;
}

/** What the token must answer to one line: nothing, or one response with this ID and these fields. */
type Expectation =
  | { kind: 'none' }
  | { kind: 'err'; id: number; code: string; details: readonly (string | undefined)[] }
  | { kind: 'ok'; id: number; fields: Record<string, string>; anyUint?: readonly string[] };

const NAME = /^[a-z][a-z0-9_-]{0,15}$/;
const FIELD = /^([a-z][a-z0-9_]{0,15})=([!-)+-~]{1,200})$/;
const UINT = /^(0|[1-9][0-9]{0,15})$/;
const isUint = (text: string, max = Number.MAX_SAFE_INTEGER) => UINT.test(text) && Number(text) <= max && Number.isSafeInteger(Number(text));

/** Request IDs the reference reads from a body that does not parse: `>` and 1..65535 without leading zeros, then a space or the end. */
function readableId(body: string): number {
  const m = /^>([1-9][0-9]*)(?: |$)/.exec(body);
  return m && Number(m[1]) <= 0xffff ? Number(m[1]) : 0;
}

/** The request, if the body is one; 'other' if it parses as a response or event; null if it does not parse. */
function parseBody(body: string): { id: number; name: string; fields: Record<string, string> } | 'other' | null {
  const words = body.split(' ');
  const head = /^([<>!])(0|[1-9][0-9]{0,9})$/.exec(words[0]!);
  if (!head || words.length < 2 || !NAME.test(words[1]!)) return null;
  const fields: Record<string, string> = {};
  for (const word of words.slice(2)) {
    const m = FIELD.exec(word);
    if (!m || Object.prototype.hasOwnProperty.call(fields, m[1]!)) return null;
    fields[m[1]!] = m[2]!;
  }
  const id = Number(head[2]);
  if (head[1] === '>') return id >= 1 && id <= 0xffff ? { id, name: words[1]!, fields } : null;
  if (head[1] === '<') return id <= 0xffff && (words[1] === 'ok' || words[1] === 'err') ? 'other' : null;
  return 'other';
}

const ARG_RULES: Record<string, Record<string, { required: boolean; valid: (v: string) => boolean }>> = {
  hello: { proto: { required: false, valid: (v) => isUint(v, 0xffff) && v !== '0' } },
  info: {},
  status: {},
  time: {},
  push: { on: { required: true, valid: (v) => v === '0' || v === '1' } },
  settime: { at: { required: true, valid: (v) => isUint(v, MAX_CLOCK_MS) }, force: { required: false, valid: (v) => v === '0' || v === '1' } },
};
const DESTRUCTIVE = new Set(['enroll', 'wipe']);

/** The reference: what one line (its bytes before the LF) must get, updating the model for what succeeds. */
function expectFor(raw: Uint8Array, model: Model): Expectation {
  if (raw.length > 255) return { kind: 'err', id: 0, code: 'too_long', details: [undefined] };
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 0x0d) end--;
  if (end === 0) return { kind: 'none' };
  for (let i = 0; i < end; i++) {
    if (raw[i]! < 0x20 || raw[i]! > 0x7e) return { kind: 'err', id: 0, code: 'bad_frame', details: ['charset'] };
  }
  const text = String.fromCharCode(...raw.subarray(0, end));
  const star = text.lastIndexOf('*');
  const check = text.slice(star + 1);
  if (star < 0 || !/^[0-9A-Fa-f]{8}$/.test(check)) return { kind: 'err', id: 0, code: 'bad_frame', details: ['check'] };
  const body = text.slice(0, star);
  if (parseInt(check, 16) !== refCrc(enc(body))) return { kind: 'err', id: 0, code: 'bad_crc', details: [undefined] };
  const parsed = parseBody(body);
  if (parsed === 'other') return { kind: 'err', id: 0, code: 'bad_frame', details: ['kind'] };
  if (parsed === null) return { kind: 'err', id: readableId(body), code: 'bad_frame', details: ['kind', 'id', 'name', 'field'] };
  const { id, name, fields } = parsed;
  if (DESTRUCTIVE.has(name) || (name === 'settime' && 'force' in fields)) {
    throw new Error(`generator bug: it made a valid ${name} request ${JSON.stringify(body)}`);
  }
  const rules = ARG_RULES[name];
  if (!rules) return { kind: 'err', id, code: 'unknown_command', details: [undefined] };
  const offending = [
    ...Object.keys(fields).filter((key) => !Object.prototype.hasOwnProperty.call(rules, key)),
    ...Object.entries(rules).filter(([key, rule]) => (fields[key] === undefined ? rule.required : !rule.valid(fields[key]!))).map(([key]) => key),
  ];
  if (offending.length > 0) return { kind: 'err', id, code: 'bad_argument', details: offending };
  const state = { clock: String(model.clock), push: model.push ? '1' : '0' };
  switch (name) {
    case 'hello':
      if (fields.proto !== undefined && fields.proto !== '1') return { kind: 'err', id, code: 'unsupported_version', details: [undefined] };
      return { kind: 'ok', id, fields: IDENTITY };
    case 'info':
      return {
        kind: 'ok',
        id,
        fields: { ...IDENTITY, enrolled: '1', mode: 'hotp', algorithm: 'sha1', digits: '6', counter: String(START_COUNTER), battery: '100', ...state, volume: '0', speed: '3' },
      };
    case 'status':
      return { kind: 'ok', id, fields: { enrolled: '1', counter: String(START_COUNTER), battery: '100', ...state, busy: '0', uptime: String(UPTIME) } };
    case 'time':
      return { kind: 'ok', id, fields: { clock: state.clock } };
    case 'push':
      model.push = fields.on === '1';
      return { kind: 'ok', id, fields: { push: fields.on! } };
    case 'settime': {
      const at = Number(fields.at);
      if (at < model.clock) return { kind: 'err', id, code: 'denied', details: ['backwards'] };
      model.clock = at;
      return { kind: 'ok', id, fields: { clock: fields.at! } };
    }
  }
  throw new Error(`reference has no rule for ${name}`);
}

/** Splits what is sent (always ending in LF) into the lines the token's assembler sees. */
function splitLines(bytes: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      lines.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  return lines;
}

// ---- the generator ----

const SAFE_NAMES = ['hello', 'info', 'status', 'time', 'push', 'settime'] as const;
const NEAR_NAMES = ['Hello', 'HELLO', 'infos', 'inf', 'stat', 'tim', 'settime2', 'settim', 'push_', 'hello-', 'x', 'frobnicate', 'a'.repeat(16), 'a'.repeat(17), '1hello', '', 'wipe2', 'enroll_', 'enrol', 'wip', 'ok', 'err', 'press'];
const KEY_POOL = ['on', 'at', 'proto', 'zz', 'secret', 'digits', 'mode', 'counter', 'period', 'ON', 'At', '_x', '1k', 'a'.repeat(16), 'a'.repeat(17), 'constructor', 'tostring'];
const VALUE_POOL = ['0', '1', '2', '-1', '01', '00', '1.5', '1e3', '65535', '65536', '9007199254740992', '99999999999999999999', 'abc', 'on', 'true', 'ff', '+1', ' ', '*', '', '=', 'a=b', '٣', 'blå', '1767225600000', '0x10'];
const VALUE_CHARS = Array.from({ length: 94 }, (_, i) => String.fromCharCode(0x21 + i)).filter((c) => c !== '*').join('');

class Generator {
  constructor(
    private readonly random: () => number,
    private readonly model: Model,
  ) {}

  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  printable(length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += String.fromCharCode(0x20 + this.int(95));
    return s;
  }
  digits(maxLength: number): string {
    const length = 1 + this.int(maxLength);
    let s = String(1 + this.int(9));
    while (s.length < length) s += String(this.int(10));
    return s;
  }

  /** A valid request to a non-destructive command, with arguments the token accepts or (settime) may deny. */
  validRequest(): { name: string; fields: Record<string, string> } {
    const name = this.pick(SAFE_NAMES);
    switch (name) {
      case 'hello':
        return { name, fields: this.chance(0.5) ? {} : { proto: this.chance(0.7) ? '1' : String(1 + this.int(65535)) } };
      case 'push':
        return { name, fields: { on: this.chance(0.5) ? '1' : '0' } };
      case 'settime': {
        const r = this.random();
        const now = this.model.clock;
        let at: number;
        if (r < 0.4) at = now + this.int(1_000_000); // forward from now: accepted
        else if (r < 0.5) at = Math.max(0, now - this.int(3)); // now or just before: the boundary
        else if (r < 0.6) at = Math.max(0, now - 1 - this.int(2000)); // a little backwards: denied
        else if (r < 0.7) at = this.int(now + 1); // anywhere up to now: mostly denied
        else at = RTC_START + this.int(2_000_000_000_000);
        return { name, fields: { at: String(at) } };
      }
      default:
        return { name, fields: {} };
    }
  }

  id(): string {
    const r = this.random();
    if (r < 0.9) return String(1 + this.int(65535));
    return this.pick(['0', '65535', '65536', '99999', '01', '1x', '', '-5', '4294967296']);
  }

  body(name: string, fields: Record<string, string>, id = String(1 + this.int(65535)), sigil = '>'): string {
    let body = `${sigil}${id} ${name}`;
    for (const [k, v] of Object.entries(fields)) body += ` ${k}=${v}`;
    return body;
  }

  frame(): string {
    const { name, fields } = this.validRequest();
    return withCrc(this.body(name, fields), this.chance(0.2));
  }

  /** A request with a valid CRC whose name, ID and arguments are random or mutated. */
  checkedRequest(): string {
    const base = this.validRequest();
    let name = base.name;
    const r = this.random();
    if (r < 0.15) name = this.pick(NEAR_NAMES);
    else if (r < 0.25) {
      const tail = 'abcdefghijklmnopqrstuvwxyz0123456789_-';
      name = String.fromCharCode(97 + this.int(26));
      for (let i = this.int(17); i > 0; i--) name += tail[this.int(tail.length)];
      if (DESTRUCTIVE.has(name)) name = 'x' + name;
    }
    const entries = Object.entries(base.fields);
    const mutations = this.int(4);
    for (let m = 0; m < mutations; m++) {
      const kind = this.int(7);
      if (kind === 0 && entries.length) entries.splice(this.int(entries.length), 1);
      else if (kind === 1) entries.push([this.pick(KEY_POOL), this.chance(0.5) ? this.pick(VALUE_POOL) : this.digits(20)]);
      else if (kind === 2 && entries.length) entries[this.int(entries.length)]![1] = this.pick(VALUE_POOL);
      else if (kind === 3 && entries.length) {
        const e = entries[this.int(entries.length)]!;
        const at = this.int(e[1].length + 1);
        e[1] = e[1].slice(0, at) + VALUE_CHARS[this.int(VALUE_CHARS.length)] + e[1].slice(at + 1);
      } else if (kind === 4 && entries.length) entries.push([...entries[this.int(entries.length)]!]);
      else if (kind === 5) entries.push([this.pick(KEY_POOL), this.digits(13)]);
      else if (kind === 6 && entries.length) entries[this.int(entries.length)]![1] = this.digits(16);
    }
    // force=… on settime could move the clock backwards: the fuzz keeps the token's data as it was
    const safe = entries.filter(([k]) => !(k === 'force' && (name === 'settime' || name === 'enroll' || name === 'wipe')));
    let body = `>${this.id()} ${name}`;
    for (const [k, v] of safe) body += ` ${k}=${v}`;
    if (this.chance(0.03)) body = body.replace(' ', '  ');
    if (this.chance(0.03)) body += ' ';
    return withCrc(body, this.chance(0.2));
  }

  /** One generated line, as bytes, always ending in LF. */
  next(): { kind: string; bytes: Uint8Array } {
    const kind = this.int(100);
    let text: string | undefined;
    let bytes: Uint8Array | undefined;
    let label: string;
    if (kind < 10) {
      label = 'random bytes';
      bytes = Uint8Array.from({ length: this.int(300) }, () => this.int(256));
    } else if (kind < 20) {
      label = 'printable junk';
      text = this.printable(this.int(150));
    } else if (kind < 35) {
      label = 'bit flips';
      const b = enc(this.frame());
      for (let f = 1 + this.int(3); f > 0; f--) b[this.int(b.length)]! ^= 1 << this.int(8);
      bytes = b;
    } else if (kind < 45) {
      label = 'cut, duplicated or inserted';
      const f = this.frame();
      const r = this.int(5);
      const at = this.int(f.length);
      if (r === 0) text = f.slice(0, at);
      else if (r === 1) text = f.slice(0, at) + f.slice(at + 1);
      else if (r === 2) text = f.slice(0, at) + f.charAt(at) + f.slice(at);
      else if (r === 3) text = f.slice(0, at) + String.fromCharCode(0x20 + this.int(95)) + f.slice(at);
      else text = f + f.slice(at);
    } else if (kind < 80) {
      label = 'valid CRC, random or mutated request';
      text = this.checkedRequest();
    } else if (kind < 88) {
      label = 'valid request';
      text = this.frame();
    } else if (kind < 91) {
      label = 'response or event';
      const r = this.int(3);
      text = withCrc(
        r === 0 ? `<${this.int(65536)} ok` : r === 1 ? `<${this.int(65536)} err code=bad_crc` : `!${this.int(1000)} press code=123456 counter=1`,
      );
    } else if (kind < 96) {
      label = 'overlong';
      const r = this.int(3);
      if (r === 0) text = 'A'.repeat(256 + this.int(3000));
      else if (r === 1) {
        // a correctly framed request of exactly 256 bytes before the newline: one too many
        const body = `>7 hello pad=${'p'.repeat(256 - 9 - '>7 hello pad='.length)}`;
        text = withCrc(body);
      } else bytes = Uint8Array.from({ length: 256 + this.int(800) }, () => this.int(256));
    } else {
      label = 'empty, CR and CRLF';
      text = this.pick(['', '\r', '\r\r', ' ', `${this.frame()}\r`, `\r${this.frame()}`, `${this.frame()}\r\r`]);
    }
    const content = bytes ?? enc(text!);
    const out = new Uint8Array(content.length + 1);
    out.set(content);
    out[content.length] = 0x0a;
    return { kind: label, bytes: out };
  }
}

// ---- the run ----

interface Tally {
  lines: number;
  seen: number;
  responses: number;
  ok: number;
  byCode: Record<string, number>;
}

function enrolledRig(): { rig: Rig; model: Model } {
  const rig = createRig();
  rig.ok('enroll', { secret: RFC4226_SEED, mode: 'hotp', algorithm: 'sha1', digits: '6', counter: String(START_COUNTER) });
  rig.token.advance(UPTIME);
  rig.drain();
  return { rig, model: { clock: RTC_START + UPTIME, push: true } };
}

/** What the token sent since the last call: each must be a valid frame of at most 256 bytes. */
function takeResponses(rig: Rig): Message[] {
  return rig.link.takeLines().map((line) => {
    if (line.length > 255 || !/^[\x20-\x7e]+$/.test(line)) throw new Error(`the token sent a bad line ${JSON.stringify(line)}`);
    const star = line.lastIndexOf('*');
    if (!/^[0-9A-F]{8}$/.test(line.slice(star + 1)) || parseInt(line.slice(star + 1), 16) !== refCrc(enc(line.slice(0, star)))) {
      throw new Error(`the token sent a line with a wrong check ${JSON.stringify(line)}`);
    }
    return decodeLine(line);
  });
}

const ERROR_CODES = new Set(Object.keys(TOKEN_ERRORS));

function sameFields(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/** Checks one answer against the reference (plain comparisons: this runs 100,000 times), throwing with both sides when they differ. */
function judge(expected: Expectation, got: Message | undefined, tally: Tally): void {
  if (expected.kind === 'none') {
    if (got !== undefined) throw new Error(`expected no answer to an empty line, got ${JSON.stringify(got)}`);
    return;
  }
  if (got === undefined || got.kind !== 'response') throw new Error(`expected one response, got ${JSON.stringify(got)}`);
  tally.responses++;
  if (got.id !== expected.id) throw new Error(`expected response ID ${expected.id}, got ${JSON.stringify(got)}`);
  if (expected.kind === 'ok') {
    if (!got.ok || !sameFields(got.fields, expected.fields)) {
      throw new Error(`expected ok ${JSON.stringify(expected.fields)}, got ${JSON.stringify(got)}`);
    }
    tally.ok++;
    return;
  }
  const { code, detail, ...rest } = got.fields;
  const fine =
    !got.ok &&
    Object.keys(rest).length === 0 &&
    code !== undefined &&
    ERROR_CODES.has(code) &&
    code === expected.code &&
    expected.details.includes(detail);
  if (!fine) {
    const wanted = `err code=${expected.code} detail in ${JSON.stringify(expected.details)} (no other fields; code one of TOKEN_ERRORS)`;
    throw new Error(`expected ${wanted}, got ${JSON.stringify(got)}`);
  }
  const key = detail ? `${code}:${expected.code === 'bad_argument' ? '*' : detail}` : code!;
  tally.byCode[key] = (tally.byCode[key] ?? 0) + 1;
}

function describeFailure(seed: number, index: number, kind: string, bytes: Uint8Array, error: unknown): Error {
  const shown = String.fromCharCode(...bytes.subarray(0, 400));
  const message = error instanceof Error ? error.message : String(error);
  const failure = new Error(`FUZZ_SEED=0x${seed.toString(16)} line #${index} (${kind}) ${JSON.stringify(shown)}: ${message}`);
  console.error(failure.message);
  return failure;
}

/** Runs a test body; any failure names the seed that reproduces it. */
function withSeed(seed: number, run: () => void): void {
  try {
    run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes('FUZZ_SEED=')) throw error;
    const failure = new Error(`FUZZ_SEED=0x${seed.toString(16)}: ${message}`);
    console.error(failure.message);
    throw failure;
  }
}

function finalChecks(rig: Rig, model: Model): void {
  // still enrolled, counter unchanged, clock and push as the model says
  expect(rig.ok('info')).toEqual({
    ...IDENTITY,
    enrolled: '1',
    mode: 'hotp',
    algorithm: 'sha1',
    digits: '6',
    counter: String(START_COUNTER),
    battery: '100',
    clock: String(model.clock),
    push: model.push ? '1' : '0',
    volume: '0',
    speed: '3',
  });
  expect(rig.ok('status')).toMatchObject({ enrolled: '1', counter: String(START_COUNTER), busy: '0' });
  // the seed is the one enrolled: the next press shows RFC 4226's code for the counter it was left at
  rig.ok('push', { on: '1' });
  const { display, event } = rig.press();
  expect(display.trim()).toBe(RFC4226_CODES[START_COUNTER]);
  expect(event?.fields).toEqual({ code: RFC4226_CODES[START_COUNTER], counter: String(START_COUNTER) });
  rig.token.advance(DEFAULT_TIMINGS.displayMs);
  expect(rig.ok('info').counter).toBe(String(START_COUNTER + 1));
  expect(rig.press().display.trim()).toBe(RFC4226_CODES[START_COUNTER + 1]);
}

/** 100,000 lines, one at a time, each answer matched to its line. */
function fuzzLineByLine(): void {
  const started = performance.now();
  const { rig, model } = enrolledRig();
  const gen = new Generator(uniform(SEED), model);
  const tally: Tally = { lines: 0, seen: 0, responses: 0, ok: 0, byCode: {} };
  const kinds: Record<string, number> = {};
  for (let i = 0; i < LINES; i++) {
    const { kind, bytes } = gen.next();
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    try {
      const expectations = splitLines(bytes).map((line) => expectFor(line, model));
      rig.token.receive(0, bytes);
      const answers = takeResponses(rig);
      const expectedCount = expectations.filter((e) => e.kind !== 'none').length;
      if (answers.length !== expectedCount) {
        throw new Error(`expected ${expectedCount} answer(s) to ${expectations.length} line(s), got ${JSON.stringify(answers)}`);
      }
      let next = 0;
      for (const expectation of expectations) {
        tally.seen++;
        judge(expectation, expectation.kind === 'none' ? undefined : answers[next++], tally);
      }
    } catch (error) {
      throw describeFailure(SEED, i, kind, bytes, error);
    }
    tally.lines++;
  }
  finalChecks(rig, model);

  // the corpus really reached every layer and every outcome
  for (const key of [
    'too_long',
    'bad_frame:charset',
    'bad_frame:check',
    'bad_crc',
    'bad_frame:kind',
    'bad_frame:id',
    'bad_frame:name',
    'bad_frame:field',
    'unknown_command',
    'bad_argument:*',
    'unsupported_version',
    'denied:backwards',
  ]) {
    expect(tally.byCode[key] ?? 0, key).toBeGreaterThan(50);
  }
  expect(tally.ok).toBeGreaterThan(LINES / 10);
  expect(tally.lines).toBe(LINES);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `line fuzz seed 0x${SEED.toString(16)}: ${tally.lines} lines sent, ${tally.seen} lines seen by the token, ${tally.responses} answers (${tally.ok} ok) in ${seconds} s`,
    JSON.stringify(kinds),
    JSON.stringify(tally.byCode),
  );
}

/** The same kind of corpus as one stream cut into random chunks: answers matched in order. */
function fuzzChunkedStream(): void {
  const { rig, model } = enrolledRig();
  const random = uniform(SEED + 1);
  const gen = new Generator(random, model);
  const pending: { index: number; expectation: Expectation }[] = [];
  const tally: Tally = { lines: 0, seen: 0, responses: 0, ok: 0, byCode: {} };
  let buffer: number[] = [];
  let lineIndex = 0;
  const flush = (count: number) => {
    const chunk = Uint8Array.from(buffer.slice(0, count));
    buffer = buffer.slice(count);
    rig.token.receive(0, chunk);
    for (const answer of takeResponses(rig)) {
      let head = pending.shift();
      while (head && head.expectation.kind === 'none') head = pending.shift();
      if (!head) throw new Error(`FUZZ_SEED=0x${(SEED + 1).toString(16)}: an answer nobody asked for: ${JSON.stringify(answer)}`);
      try {
        judge(head.expectation, answer, tally);
      } catch (error) {
        throw new Error(`FUZZ_SEED=0x${(SEED + 1).toString(16)} stream line #${head.index}: ${(error as Error).message}`);
      }
    }
  };
  while (lineIndex < CHUNKED_LINES) {
    const { bytes } = gen.next();
    // the reference runs when the line is generated: the token's answers arrive in the same order
    for (const line of splitLines(bytes)) pending.push({ index: lineIndex, expectation: expectFor(line, model) });
    for (const b of bytes) buffer.push(b);
    lineIndex++;
    while (buffer.length > 0 && random() < 0.7) flush(1 + Math.floor(random() * (random() < 0.2 ? 2000 : 80)));
  }
  flush(buffer.length);
  expect(pending.filter((p) => p.expectation.kind !== 'none')).toEqual([]);
  expect(tally.responses).toBeGreaterThan(CHUNKED_LINES * 0.9);
  finalChecks(rig, model);
}

describe('line fuzz against the in-process firmware', () => {
  it(`answers ${LINES.toLocaleString('en')} random and mutated lines as the reference predicts, and keeps its data (seed 0x${SEED.toString(16)})`, () => withSeed(SEED, fuzzLineByLine));

  it(`answers a stream of ${CHUNKED_LINES.toLocaleString('en')} lines cut into random chunks exactly as line by line (seed 0x${(SEED + 1).toString(16)})`, () => withSeed(SEED + 1, fuzzChunkedStream));
});
