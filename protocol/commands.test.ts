/**
 * Protocol v1's message set: every command's arguments and reply, and every event, survive the
 * whole trip (schema → fields → line → fields → schema) with representative values; the wire
 * form of each is pinned by hand; and tokens read arguments strictly while hosts read replies
 * leniently.
 */
import { describe, expect, it } from 'vitest';
import {
  COMMANDS,
  MAX_CLOCK_MS,
  EVENTS,
  isCommandName,
  isEventName,
  MAX_SECRET_BYTES,
  type CommandName,
  type EventFields,
  type EventName,
  type ReplyFields,
  type RequestArgs,
} from './commands.ts';
import { decodeFields, encodeFields, type Schema } from './fields.ts';
import { decodeLine, encodeLine } from './framing/line.ts';
import type { Fields } from './message.ts';
import { MAX_BODY_BYTES } from './version.ts';

const SEED_20 = new Uint8Array([...'12345678901234567890'].map((c) => c.charCodeAt(0)));

/** Each case: a value, and the wire fields it must become (written by hand). */
type Case<T> = readonly [value: T, wire: Fields];

const ARGS: { [C in CommandName]: readonly Case<RequestArgs[C]>[] } = {
  hello: [
    [{}, {}],
    [{ proto: 1 }, { proto: '1' }],
    [{ proto: 65535 }, { proto: '65535' }],
  ],
  info: [[{}, {}]],
  status: [[{}, {}]],
  enroll: [
    [
      { secret: SEED_20, mode: 'hotp', algorithm: 'sha1', digits: 6 },
      { secret: '3132333435363738393031323334353637383930', mode: 'hotp', algorithm: 'sha1', digits: '6' },
    ],
    [
      { secret: new Uint8Array([0xab]), mode: 'hotp', algorithm: 'sha256', digits: 8, counter: 9007199254740991 },
      { secret: 'ab', mode: 'hotp', algorithm: 'sha256', digits: '8', counter: '9007199254740991' },
    ],
    [
      { secret: new Uint8Array(MAX_SECRET_BYTES).fill(0x5a), mode: 'totp', algorithm: 'sha512', digits: 7, period: 3600 },
      { secret: '5a'.repeat(MAX_SECRET_BYTES), mode: 'totp', algorithm: 'sha512', digits: '7', period: '3600' },
    ],
    [
      { secret: SEED_20, mode: 'totp', algorithm: 'sha1', digits: 6, period: 1 },
      { secret: '3132333435363738393031323334353637383930', mode: 'totp', algorithm: 'sha1', digits: '6', period: '1' },
    ],
  ],
  time: [[{}, {}]],
  settime: [
    [{ at: 0 }, { at: '0' }],
    [{ at: 1767225600000 }, { at: '1767225600000' }],
    [{ at: 1767225600000, force: true }, { at: '1767225600000', force: '1' }],
    [{ at: 5, force: false }, { at: '5', force: '0' }],
  ],
  wipe: [[{}, {}]],
  push: [
    [{ on: true }, { on: '1' }],
    [{ on: false }, { on: '0' }],
  ],
  audio: [
    [{}, {}],
    [{ volume: 0 }, { volume: '0' }],
    [{ speed: 5 }, { speed: '5' }],
    [{ volume: 5, speed: 1 }, { volume: '5', speed: '1' }],
  ],
};

const IDENTITY = { proto: 1, model: 'NV1', hardware: 'johnny-five', serial: '40000001', firmware: '0.1.0' } as const;
const IDENTITY_WIRE = { proto: '1', model: 'NV1', hardware: 'johnny-five', serial: '40000001', firmware: '0.1.0' } as const;

const REPLIES: { [C in CommandName]: readonly Case<ReplyFields[C]>[] } = {
  hello: [[IDENTITY, IDENTITY_WIRE]],
  info: [
    [
      { ...IDENTITY, enrolled: false, battery: 100, clock: 1767225600000, push: true },
      { ...IDENTITY_WIRE, enrolled: '0', battery: '100', clock: '1767225600000', push: '1' },
    ],
    [
      { ...IDENTITY, enrolled: true, mode: 'hotp', algorithm: 'sha512', digits: 8, counter: 9007199254740991, battery: 0, clock: MAX_CLOCK_MS, push: false },
      {
        ...IDENTITY_WIRE,
        enrolled: '1',
        mode: 'hotp',
        algorithm: 'sha512',
        digits: '8',
        counter: '9007199254740991',
        battery: '0',
        clock: String(MAX_CLOCK_MS),
        push: '0',
      },
    ],
    [
      { ...IDENTITY, enrolled: true, mode: 'totp', algorithm: 'sha256', digits: 6, period: 30, battery: 57, clock: 0, push: true },
      { ...IDENTITY_WIRE, enrolled: '1', mode: 'totp', algorithm: 'sha256', digits: '6', period: '30', battery: '57', clock: '0', push: '1' },
    ],
    [
      { ...IDENTITY, enrolled: false, battery: 100, clock: 0, push: true, volume: 3, speed: 4 },
      { ...IDENTITY_WIRE, enrolled: '0', battery: '100', clock: '0', push: '1', volume: '3', speed: '4' },
    ],
  ],
  status: [
    [
      { enrolled: true, counter: 12, battery: 9, clock: 1767225600000, push: true, busy: false, uptime: 123456 },
      { enrolled: '1', counter: '12', battery: '9', clock: '1767225600000', push: '1', busy: '0', uptime: '123456' },
    ],
    [
      { enrolled: false, battery: 100, clock: 0, push: false, busy: true, uptime: 0 },
      { enrolled: '0', battery: '100', clock: '0', push: '0', busy: '1', uptime: '0' },
    ],
  ],
  enroll: [
    [{ counter: 0 }, { counter: '0' }],
    [{}, {}],
  ],
  time: [[{ clock: 1767225600000 }, { clock: '1767225600000' }]],
  settime: [[{ clock: 42 }, { clock: '42' }]],
  wipe: [[{}, {}]],
  push: [
    [{ push: true }, { push: '1' }],
    [{ push: false }, { push: '0' }],
  ],
  audio: [
    [{ volume: 0, speed: 3 }, { volume: '0', speed: '3' }],
    [{ volume: 5, speed: 5 }, { volume: '5', speed: '5' }],
  ],
};

const EVENT_CASES: { [E in EventName]: readonly Case<EventFields[E]>[] } = {
  press: [
    [{ code: '755224', counter: 0 }, { code: '755224', counter: '0' }],
    [{ code: '00123456', step: 59000000 }, { code: '00123456', step: '59000000' }],
    [{ code: '0000000', counter: 3, battery: 'low' }, { code: '0000000', counter: '3', battery: 'low' }],
  ],
  confirm: [[{ op: 'wipe', timeout_ms: 30000 }, { op: 'wipe', timeout_ms: '30000' }]],
  boot: [[{ serial: '40000001' }, { serial: '40000001' }]],
};

/** schema → fields → a framed line → fields → schema, in strict mode. */
function throughTheWire<T>(schema: Schema<T>, value: T, kind: 'request' | 'response' | 'event'): { wire: Fields; back: T } {
  const wire = encodeFields(schema, value);
  const line =
    kind === 'request'
      ? encodeLine({ kind, id: 65535, name: 'settime', fields: wire })
      : kind === 'response'
        ? encodeLine({ kind, id: 65535, ok: true, fields: wire })
        : encodeLine({ kind, seq: 4294967295, name: 'confirm', fields: wire });
  const message = decodeLine(line.slice(0, -1));
  const result = decodeFields(schema, message.fields, true);
  if (!result.ok) throw new Error(`field ${result.key} did not survive`);
  return { wire, back: result.value };
}

const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

describe('the command set', () => {
  it('is exactly the protocol v1 commands', () => {
    expect(COMMAND_NAMES.sort()).toEqual(['audio', 'enroll', 'hello', 'info', 'push', 'settime', 'status', 'time', 'wipe']);
    for (const name of COMMAND_NAMES) expect(isCommandName(name)).toBe(true);
  });

  it('marks as mutating exactly the commands that change what the token stores', () => {
    const mutating = COMMAND_NAMES.filter((name) => COMMANDS[name].mutating).sort();
    expect(mutating).toEqual(['audio', 'enroll', 'push', 'settime', 'wipe']);
    // a command that must not be repeated blindly when its answer is lost
    const notIdempotent = COMMAND_NAMES.filter((name) => !COMMANDS[name].idempotent).sort();
    expect(notIdempotent).toEqual(['enroll', 'wipe']);
  });

  it('does not take names inherited from Object as commands or events', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf', 'isPrototypeOf', '', 'HELLO', 'hello ']) {
      expect(isCommandName(name), name).toBe(false);
      expect(isEventName(name), name).toBe(false);
    }
    expect(isEventName('press')).toBe(true);
    expect(isEventName('hello')).toBe(false);
    expect(isCommandName('press')).toBe(false);
  });
});

describe.each(COMMAND_NAMES)('%s', (name) => {
  const spec = COMMANDS[name];
  const args = ARGS[name] as readonly Case<RequestArgs[typeof name]>[];
  const replies = REPLIES[name] as readonly Case<ReplyFields[typeof name]>[];

  it('encodes its arguments to the hand-written wire fields and back', () => {
    for (const [value, wire] of args) {
      const trip = throughTheWire(spec.args as Schema<typeof value>, value, 'request');
      expect(trip.wire).toEqual(wire);
      expect(trip.back).toEqual(value);
    }
  });

  it('encodes its reply to the hand-written wire fields and back', () => {
    for (const [value, wire] of replies) {
      const trip = throughTheWire(spec.reply as Schema<typeof value>, value, 'response');
      expect(trip.wire).toEqual(wire);
      // an optional property set to undefined comes back absent
      const defined = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
      expect(trip.back).toEqual(defined);
    }
  });

  it('refuses an unknown argument in strict mode (as a token reads requests)', () => {
    for (const [, wire] of args) {
      expect(decodeFields(spec.args, { ...wire, zz: '1' }, true)).toEqual({ ok: false, key: 'zz' });
    }
  });

  it('ignores an unknown reply field in lenient mode (as a host reads a newer token)', () => {
    for (const [value, wire] of replies) {
      const result = decodeFields(spec.reply, { ...wire, newfield: 'x' }, false);
      const defined = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
      expect(result).toEqual({ ok: true, value: defined });
      expect(decodeFields(spec.reply, { ...wire, newfield: 'x' }, true)).toEqual({ ok: false, key: 'newfield' });
    }
  });

  it('requires exactly its required arguments', () => {
    // An optional field's codec starts with `? ` (protocol/fields.ts).
    const required = Object.entries(spec.args as Record<string, string>)
      .filter(([, codec]) => !codec.startsWith('? '))
      .map(([key]) => key);
    const expected: Record<CommandName, string[]> = {
      hello: [],
      info: [],
      status: [],
      enroll: ['secret', 'mode', 'algorithm', 'digits'],
      time: [],
      settime: ['at'],
      wipe: [],
      push: ['on'],
      audio: [],
    };
    expect(required.sort()).toEqual(expected[name].sort());
    // leaving out any one required argument is refused and names it
    const [, full] = args[args.length - 1]!;
    for (const key of required) {
      const { [key]: _dropped, ...rest } = full;
      expect(decodeFields(spec.args, rest, true)).toEqual({ ok: false, key });
    }
  });
});

describe('argument values out of range are refused and named', () => {
  const enroll = { secret: '3132333435363738393031323334353637383930', mode: 'hotp', algorithm: 'sha1', digits: '6' };

  it.each([
    ['hello', { proto: '0' }, 'proto'],
    ['hello', { proto: '65536' }, 'proto'],
    ['hello', { proto: '01' }, 'proto'],
    ['enroll', { ...enroll, secret: '' }, 'secret'],
    ['enroll', { ...enroll, secret: 'abc' }, 'secret'],
    ['enroll', { ...enroll, secret: '00'.repeat(MAX_SECRET_BYTES + 1) }, 'secret'],
    ['enroll', { ...enroll, mode: 'ocra' }, 'mode'],
    ['enroll', { ...enroll, algorithm: 'md5' }, 'algorithm'],
    ['enroll', { ...enroll, algorithm: 'SHA1' }, 'algorithm'],
    ['enroll', { ...enroll, digits: '5' }, 'digits'],
    ['enroll', { ...enroll, digits: '9' }, 'digits'],
    ['enroll', { ...enroll, period: '0' }, 'period'],
    ['enroll', { ...enroll, period: '3601' }, 'period'],
    ['enroll', { ...enroll, counter: '-1' }, 'counter'],
    ['enroll', { ...enroll, counter: '9007199254740992' }, 'counter'],
    ['settime', { at: '-1' }, 'at'],
    ['settime', { at: '1.5' }, 'at'],
    ['settime', { at: '1', force: 'yes' }, 'force'],
    ['push', { on: 'true' }, 'on'],
    ['push', { on: '' }, 'on'],
    ['audio', { volume: '6' }, 'volume'],
    ['audio', { volume: '-1' }, 'volume'],
    ['audio', { speed: '0' }, 'speed'],
    ['audio', { speed: '6' }, 'speed'],
    ['audio', { volume: '3', speed: 'fast' }, 'speed'],
  ] as const)('%s %j → %s', (name, fields, key) => {
    expect(decodeFields(COMMANDS[name].args as unknown as Schema<Record<string, unknown>>, fields, true)).toEqual({ ok: false, key });
  });

  it('accepts every algorithm and digit count the engine supports', () => {
    for (const algorithm of ['sha1', 'sha256', 'sha512']) {
      for (const digits of ['6', '7', '8']) {
        expect(decodeFields(COMMANDS.enroll.args, { ...enroll, algorithm, digits }, true).ok).toBe(true);
      }
    }
  });
});

describe('events', () => {
  it.each(Object.keys(EVENTS) as EventName[])('%s encodes to the hand-written wire fields and back', (name) => {
    const schema = EVENTS[name] as Schema<EventFields[typeof name]>;
    for (const [value, wire] of EVENT_CASES[name] as readonly Case<EventFields[typeof name]>[]) {
      const trip = throughTheWire(schema, value, 'event');
      expect(trip.wire).toEqual(wire);
      expect(trip.back).toEqual(value);
    }
  });

  it('refuses a press code of the wrong length or with non-digits', () => {
    for (const code of ['12345', '123456789', '12345a', '']) {
      expect(decodeFields(EVENTS.press, { code }, false)).toEqual({ ok: false, key: 'code' });
    }
    expect(decodeFields(EVENTS.press, { code: '123456', battery: 'high' }, false)).toEqual({ ok: false, key: 'battery' });
  });
});

describe('sizes', () => {
  it('the largest realistic info reply (8-digit serial, longest numbers, ID 65535) fits in one body', () => {
    const fields = encodeFields(COMMANDS.info.reply, {
      proto: 65535,
      model: 'NV1',
      hardware: 'johnny-five',
      serial: '99999999',
      firmware: '10.10.10',
      enrolled: true,
      mode: 'hotp',
      algorithm: 'sha512',
      digits: 8,
      counter: Number.MAX_SAFE_INTEGER,
      battery: 100,
      clock: Number.MAX_SAFE_INTEGER,
      push: true,
      volume: 5,
      speed: 5,
    });
    const line = encodeLine({ kind: 'response', id: 65535, ok: true, fields });
    expect(line.length - 10).toBeLessThanOrEqual(MAX_BODY_BYTES);
  });

  it('the longest enroll request (64-byte secret, every optional field) fits in one body', () => {
    const fields = encodeFields(COMMANDS.enroll.args, {
      secret: new Uint8Array(MAX_SECRET_BYTES).fill(0xff),
      mode: 'totp',
      algorithm: 'sha512',
      digits: 8,
      period: 3600,
      counter: Number.MAX_SAFE_INTEGER,
    });
    const line = encodeLine({ kind: 'request', id: 65535, name: 'enroll', fields });
    expect(decodeLine(line.slice(0, -1)).fields).toEqual(fields);
  });
});
