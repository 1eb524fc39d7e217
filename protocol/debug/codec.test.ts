/**
 * The debug link's codec: every operation's request and result through a round trip, every kind
 * of malformed request and answer as its coded error, the line limits at their edges, and the
 * token's side of a line (answerDebugLine) with its handlers.
 */
import { describe, expect, it } from 'vitest';
import {
  DebugLineReader,
  MAX_DEBUG_ERROR_MESSAGE,
  answerDebugLine,
  decodeAnswer,
  decodeRequest,
  decodeResult,
  encodeFailure,
  encodeRequest,
  encodeResult,
  overlongRequestAnswer,
  type DebugHandlers,
} from './codec.ts';
import {
  DEBUG_ARGS,
  DEBUG_OPS,
  DebugLinkError,
  MAX_DEBUG_ANSWER_LINE,
  MAX_DEBUG_REQUEST_LINE,
  type DebugArgs,
  type DebugOp,
  type DebugResult,
  type DisplayResult,
  type StateResult,
} from './messages.ts';

const SHOWN: DisplayResult = { display: ' 755224 ', segments: [0, 0x07, 0x6d, 0x6d, 0x5b, 0x5b, 0x66, 0], on: true };
const ON_A_BOARD: DisplayResult = { ...SHOWN, driver: { chip: 'HD44780', lines: ['755224', ''], writes: 12 } };
const STATE: StateResult = {
  serial: '40012345',
  port: '/dev/pts/7',
  powered: true,
  boots: 3,
  battery: 87.5,
  clock: 1_767_225_600_000,
  driftPpm: -20,
  flash: { operations: 41, endurance: 10_000, maxPageErases: 2, pageErases: [2, 1, 0, 0, 0, 0, 0, 0] },
  droppedOutputBytes: 0,
  engine: {
    name: 'quickjs-ng',
    version: '0.10.1',
    stackLimitBytes: 32_768,
    memory: {
      emptyContextBytes: 60_000,
      loadedBytes: 190_000,
      bootedBytes: 200_000,
      usedBytes: 210_000,
      peakBytes: 250_000,
      allocations: 3_900,
      firmwareBytes: 150_000,
      codeBytes: 130_000,
      dataBytes: 20_000,
      peakFirmwareBytes: 190_000,
    },
  },
  ...SHOWN,
};

/** Each operation with arguments at the edges of what it takes. */
const REQUESTS: { [Op in DebugOp]: DebugArgs<Op>[] } = {
  press: [{}],
  hold: [{}, { ms: 0 }, { ms: 600_000 }],
  button: [{ pressed: true }, { pressed: false }],
  display: [{}],
  advance: [{ ms: 0 }, { ms: 31_000 }, { ms: 10 * 365 * 86_400_000 }],
  'power-cut': [{}, { offMs: 3_600_000 }, { atOperation: 1, fraction: 0 }, { atOperation: 1_000_000, fraction: 1, offMs: 0 }],
  'power-on': [{}],
  battery: [{ percent: 0 }, { percent: 20.5 }, { percent: 100 }],
  state: [{}],
};

/** Each operation's results, as the emulator and a virtual board give them. */
const RESULTS: { [Op in DebugOp]: DebugResult<Op>[] } = {
  press: [SHOWN, ON_A_BOARD, { display: '        ', segments: [0, 0, 0, 0, 0, 0, 0, 0], on: false }],
  hold: [SHOWN, { ...SHOWN, driver: { chip: 'MAX7219', display: '755224', segments: [0x07, 0x6d], writes: 3 } }],
  button: [SHOWN],
  display: [SHOWN, ON_A_BOARD],
  advance: [{ clock: 1_767_225_631_000, ...SHOWN }],
  'power-cut': [
    { armed: true, atOperation: 1, fraction: 0.5, offMs: 0 },
    { cut: true, offMs: 3_600_000 },
  ],
  'power-on': [{ on: true }],
  battery: [{ battery: 20 }],
  state: [STATE, { ...STATE, serial: null, engine: { name: 'v8', version: '11.3.244.8-node.33' } }],
};

const each = (table: { readonly [Op in DebugOp]: readonly unknown[] }): [DebugOp, unknown][] => DEBUG_OPS.flatMap((op) => table[op].map((entry): [DebugOp, unknown] => [op, entry]));

/** The line without its newline, as a reader hands it on. */
const bare = (line: string): string => {
  expect(line.endsWith('\n')).toBe(true);
  expect(line.slice(0, -1)).not.toContain('\n');
  return line.slice(0, -1);
};

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DebugLinkError);
    return (error as DebugLinkError).code;
  }
  return undefined;
}

describe('round trips', () => {
  it.each(each(REQUESTS))('a %s request survives encoding and decoding: %j', (op, args) => {
    const line = encodeRequest(17, op, args as DebugArgs);
    expect(decodeRequest(bare(line))).toEqual({ id: 17, request: { op, args } });
  });

  it('a request without arguments is {"id","op"} alone; one with them carries "args"', () => {
    expect(encodeRequest(1, 'press', {})).toBe('{"id":1,"op":"press"}\n');
    expect(encodeRequest(2, 'advance', { ms: 31_000 })).toBe('{"id":2,"op":"advance","args":{"ms":31000}}\n');
  });

  it('a request carrying no id is answered with id null', () => {
    expect(decodeRequest('{"op":"display"}')).toEqual({ id: null, request: { op: 'display', args: {} } });
  });

  it.each(each(RESULTS))('a %s result survives encoding and decoding: %j', (op, result) => {
    const answer = decodeAnswer(bare(encodeResult(9, result as DebugResult)));
    expect(answer).toEqual({ id: 9, result });
    expect(decodeResult(op, answer.result!)).toEqual(result);
  });

  it('a coded failure keeps its code and message; anything else thrown is NV_DEBUG_FAILED with its message', () => {
    expect(decodeAnswer(bare(encodeFailure(4, new DebugLinkError('NV_DEBUG_POWERED_OFF', 'the token is powered off'))))).toEqual({
      id: 4,
      error: new DebugLinkError('NV_DEBUG_POWERED_OFF', 'the token is powered off'),
    });
    const failed = decodeAnswer(bare(encodeFailure(null, new RangeError('flash page out of range'))));
    expect(failed.id).toBeNull();
    expect(failed.error).toMatchObject({ code: 'NV_DEBUG_FAILED', message: 'flash page out of range' });
    expect(decodeAnswer(bare(encodeFailure(5, 'a string'))).error).toMatchObject({ code: 'NV_DEBUG_FAILED', message: 'a string' });
  });

  it('fields a result does not define are passed on', () => {
    const answer = decodeAnswer('{"id":1,"ok":true,"result":{"on":true,"since":3}}');
    expect(decodeResult('power-on', answer.result!)).toEqual({ on: true, since: 3 });
  });
});

describe('malformed requests are coded errors, with the id where one was read', () => {
  const refused: [string, string, number | null][] = [
    ['{"id":1,"op":"press"', 'NV_DEBUG_BAD_JSON', null],
    ['', 'NV_DEBUG_BAD_JSON', null],
    ['press', 'NV_DEBUG_BAD_JSON', null],
    ['[{"id":1,"op":"press"}]', 'NV_DEBUG_BAD_REQUEST', null],
    ['null', 'NV_DEBUG_BAD_REQUEST', null],
    ['42', 'NV_DEBUG_BAD_REQUEST', null],
    ['"press"', 'NV_DEBUG_BAD_REQUEST', null],
    ['{"id":-1,"op":"press"}', 'NV_DEBUG_BAD_REQUEST', null],
    ['{"id":1.5,"op":"press"}', 'NV_DEBUG_BAD_REQUEST', null],
    ['{"id":"1","op":"press"}', 'NV_DEBUG_BAD_REQUEST', null],
    ['{"id":9007199254740993,"op":"press"}', 'NV_DEBUG_BAD_REQUEST', null],
    ['{"id":1,"op":"press","arg":{}}', 'NV_DEBUG_BAD_REQUEST', 1],
    ['{"id":2}', 'NV_DEBUG_BAD_OP', 2],
    ['{"id":2,"op":"jump"}', 'NV_DEBUG_BAD_OP', 2],
    ['{"id":2,"op":["press"]}', 'NV_DEBUG_BAD_OP', 2],
    ['{"id":2,"op":"constructor"}', 'NV_DEBUG_BAD_OP', 2],
    ['{"id":3,"op":"press","args":[]}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"press","args":null}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"press","args":{"ms":1}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"advance"}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"advance","args":{"ms":"31000"}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"advance","args":{"ms":-1}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"advance","args":{"ms":1e999}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"hold","args":{"ms":600001}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"hold","args":{"ms":null}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"button","args":{}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"button","args":{"pressed":1}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"power-cut","args":{"atOperation":0}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"power-cut","args":{"fraction":1.01}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"power-cut","args":{"offMs":3600001}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"battery","args":{}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"battery","args":{"percent":-0.5}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"battery","args":{"percent":100.5}}', 'NV_DEBUG_BAD_ARG', 3],
    ['{"id":3,"op":"battery","args":{"percent":50,"volts":3}}', 'NV_DEBUG_BAD_ARG', 3],
  ];

  it.each(refused)('%s → %s', (line, code, id) => {
    const decoded = decodeRequest(line);
    expect(decoded.request).toBeUndefined();
    expect(decoded.id).toBe(id);
    expect(decoded.error).toBeInstanceOf(DebugLinkError);
    expect(decoded.error!.code).toBe(code);
  });

  it('each argument range is the one DEBUG_ARGS gives, at both edges', () => {
    for (const op of DEBUG_OPS) {
      for (const [name, spec] of Object.entries(DEBUG_ARGS[op]) as [string, { type: string; min?: number; max?: number }][]) {
        if (spec.type !== 'number') continue;
        const line = (value: number) => JSON.stringify({ id: 1, op, args: { ...requiredArgs(op), [name]: value } });
        expect(decodeRequest(line(spec.min!)).error, `${op} ${name} ${spec.min}`).toBeUndefined();
        expect(decodeRequest(line(spec.max!)).error, `${op} ${name} ${spec.max}`).toBeUndefined();
        expect(decodeRequest(line(spec.min! - 0.001)).error?.code, `${op} ${name} below`).toBe('NV_DEBUG_BAD_ARG');
        expect(decodeRequest(line(spec.max! + 0.001)).error?.code, `${op} ${name} above`).toBe('NV_DEBUG_BAD_ARG');
      }
    }
  });

  it('the unknown operation is named with the known ones; a bad argument by its name and range', () => {
    expect(decodeRequest('{"id":1,"op":"jump"}').error!.message).toBe(`unknown debug operation "jump"; known: ${DEBUG_OPS.join(', ')}`);
    expect(decodeRequest('{"id":1,"op":"battery","args":{"percent":101}}').error!.message).toBe('"percent" must be a number from 0 to 100');
    expect(decodeRequest('{"id":1,"op":"button","args":{"pressed":"yes"}}').error!.message).toBe('"pressed" must be true or false');
    expect(decodeRequest('{"id":1,"op":"hold","args":{"sec":1}}').error!.message).toBe('"hold" takes no argument "sec"; it takes ms');
  });

  it('a client cannot send what the token would refuse: a bad argument or id fails before a line is made', () => {
    expect(codeOf(() => encodeRequest(1, 'battery', { percent: 101 }))).toBe('NV_DEBUG_BAD_ARG');
    expect(codeOf(() => encodeRequest(1, 'hold', { ms: Number.NaN }))).toBe('NV_DEBUG_BAD_ARG');
    expect(codeOf(() => encodeRequest(1, 'press', { ms: 1 } as unknown as DebugArgs<'press'>))).toBe('NV_DEBUG_BAD_ARG');
    expect(codeOf(() => encodeRequest(1, 'jump' as DebugOp, {}))).toBe('NV_DEBUG_BAD_OP');
    expect(codeOf(() => encodeRequest(-1, 'press', {}))).toBe('NV_DEBUG_BAD_REQUEST');
    expect(codeOf(() => encodeRequest(0.5, 'press', {}))).toBe('NV_DEBUG_BAD_REQUEST');
  });
});

describe('malformed answers are NV_DEBUG_BAD_ANSWER', () => {
  const unreadable = [
    '{"id":1,"ok":true',
    '[]',
    'null',
    '{"id":"1","ok":true,"result":{}}',
    '{"id":-1,"ok":true,"result":{}}',
    '{"id":1,"result":{}}',
    '{"id":1,"ok":true}',
    '{"id":1,"ok":true,"result":[1]}',
    '{"id":1,"ok":"true","result":{}}',
    '{"id":1,"ok":false}',
    '{"id":1,"ok":false,"error":"NV_DEBUG_FAILED"}',
    '{"id":1,"ok":false,"error":{"code":"NV_SOMETHING_ELSE","message":"…"}}',
    '{"id":1,"ok":false,"error":{"code":"NV_DEBUG_FAILED"}}',
    '{"id":1,"ok":false,"error":{"code":"NV_DEBUG_FAILED","message":7}}',
  ];
  it.each(unreadable)('%s', (line) => {
    expect(codeOf(() => decodeAnswer(line))).toBe('NV_DEBUG_BAD_ANSWER');
  });

  const wrongResults: [DebugOp, unknown][] = [
    ['display', { display: 42, segments: [], on: true }],
    ['display', { display: '', segments: [256], on: true }],
    ['display', { display: '', segments: [1.5], on: true }],
    ['display', { display: '', segments: 'abc', on: true }],
    ['display', { display: '', segments: [] }],
    ['press', { display: '', segments: [], on: true, driver: { chip: 'SSD1306' } }],
    ['hold', { display: '', segments: [], on: true, driver: { chip: 'HD44780', lines: [1], writes: 0 } }],
    ['advance', SHOWN],
    ['power-cut', { armed: true, offMs: 0 }],
    ['power-cut', { cut: false, offMs: 0 }],
    ['power-on', {}],
    ['battery', { battery: '20' }],
    ['state', { ...STATE, engine: undefined }],
    ['state', { ...STATE, engine: { ...STATE.engine, memory: { ...STATE.engine.memory, usedBytes: 'lots' } } }],
    ['state', { ...STATE, flash: { ...STATE.flash, pageErases: [1, null] } }],
    ['state', { ...STATE, serial: 40012345 }],
    ['state', SHOWN],
  ];
  it.each(wrongResults)('a %s answered with %j', (op, result) => {
    const answer = decodeAnswer(bare(JSON.stringify({ id: 1, ok: true, result }) + '\n'));
    expect(codeOf(() => decodeResult(op, answer.result!))).toBe('NV_DEBUG_BAD_ANSWER');
  });
});

describe('line limits', () => {
  const padded = (text: string, length: number) => text + ' '.repeat(length - text.length);

  it(`a request line of ${MAX_DEBUG_REQUEST_LINE} characters is read; one more is NV_DEBUG_TOO_LONG`, () => {
    expect(decodeRequest(padded('{"id":1,"op":"press"}', MAX_DEBUG_REQUEST_LINE))).toEqual({ id: 1, request: { op: 'press', args: {} } });
    expect(decodeRequest(padded('{"id":1,"op":"press"}', MAX_DEBUG_REQUEST_LINE + 1))).toMatchObject({ id: null, error: { code: 'NV_DEBUG_TOO_LONG' } });
    expect(decodeAnswer(bare(overlongRequestAnswer()))).toMatchObject({ id: null, error: { code: 'NV_DEBUG_TOO_LONG' } });
  });

  it(`an answer line of ${MAX_DEBUG_ANSWER_LINE} characters is read; one more is NV_DEBUG_TOO_LONG`, () => {
    expect(decodeAnswer(padded('{"id":1,"ok":true,"result":{"on":true}}', MAX_DEBUG_ANSWER_LINE)).result).toEqual({ on: true });
    expect(codeOf(() => decodeAnswer(padded('{"id":1,"ok":true,"result":{"on":true}}', MAX_DEBUG_ANSWER_LINE + 1)))).toBe('NV_DEBUG_TOO_LONG');
  });

  it('a result too long for a client to read is answered as NV_DEBUG_TOO_LONG instead, within the limit', () => {
    const wornOut = (pages: number): StateResult => ({ ...STATE, flash: { ...STATE.flash, pageErases: new Array<number>(pages).fill(1) } });
    // The most pages whose result fits (each page more adds "1," to the line), and one page more.
    const base = encodeResult(1, wornOut(1)).length - 1;
    const pages = 1 + Math.floor((MAX_DEBUG_ANSWER_LINE - base) / 2);
    const fits = encodeResult(1, wornOut(pages));
    expect(fits.length - 1).toBeLessThanOrEqual(MAX_DEBUG_ANSWER_LINE);
    expect(decodeResult('state', decodeAnswer(bare(fits)).result!)).toEqual(wornOut(pages));
    const tooLong = encodeResult(1, wornOut(pages + 1));
    expect(tooLong.length - 1).toBeLessThanOrEqual(MAX_DEBUG_ANSWER_LINE);
    expect(decodeAnswer(bare(tooLong))).toMatchObject({ id: 1, error: { code: 'NV_DEBUG_TOO_LONG' } });
  });

  it(`an error message is cut to ${MAX_DEBUG_ERROR_MESSAGE} characters`, () => {
    const answer = decodeAnswer(bare(encodeFailure(1, new Error('x'.repeat(MAX_DEBUG_ANSWER_LINE * 2)))));
    expect(answer.error!.message).toBe('x'.repeat(MAX_DEBUG_ERROR_MESSAGE));
  });

  it('the line reader joins pieces into lines, and reports an overlong line once, as soon as it is one, reading the next line after it', () => {
    const lines: string[] = [];
    let overflows = 0;
    const reader = new DebugLineReader(
      10,
      (line) => lines.push(line),
      () => overflows++,
    );
    reader.push('abc');
    reader.push('defghij\nshort\n\n');
    expect(lines).toEqual(['abcdefghij', 'short', '']);
    reader.push('0123456789');
    expect(overflows).toBe(0);
    reader.push('X');
    expect(overflows).toBe(1);
    reader.push('still the same long line');
    expect(reader.held).toBe(0);
    reader.push('and more of it\nnext');
    expect(overflows).toBe(1);
    expect(reader.held).toBe(4);
    reader.push(' one\n0123456789A\n');
    expect(lines).toEqual(['abcdefghij', 'short', '', 'next one']);
    expect(overflows).toBe(2);
    reader.push('\r\n');
    expect(lines).toEqual(['abcdefghij', 'short', '', 'next one', '\r']);
  });
});

describe("the token's side of a line", () => {
  const calls: string[] = [];
  const handlers: DebugHandlers = {
    press: () => (calls.push('press'), SHOWN),
    hold: ({ ms }) => (calls.push(`hold ${ms}`), SHOWN),
    button: () => SHOWN,
    display: () => SHOWN,
    advance: async ({ ms }) => ({ clock: ms, ...SHOWN }),
    'power-cut': () => {
      throw new DebugLinkError('NV_DEBUG_POWERED_OFF', 'the token is powered off');
    },
    'power-on': () => ({ on: true }),
    battery: async () => {
      throw new Error('battery compartment open');
    },
    state: () => STATE,
  };

  it('a blank line has no answer; a request its result; a handler is given its arguments', async () => {
    expect(await answerDebugLine('', handlers)).toBeUndefined();
    expect(await answerDebugLine('  \r', handlers)).toBeUndefined();
    expect(await answerDebugLine('{"id":1,"op":"hold","args":{"ms":250}}', handlers)).toBe(encodeResult(1, SHOWN));
    expect(await answerDebugLine('{"id":2,"op":"advance","args":{"ms":5}}', handlers)).toBe(encodeResult(2, { clock: 5, ...SHOWN }));
    expect(calls).toEqual(['hold 250']);
  });

  it('what a handler throws is answered with its code, or NV_DEBUG_FAILED', async () => {
    expect(decodeAnswer(bare((await answerDebugLine('{"id":3,"op":"power-cut"}', handlers))!))).toEqual({
      id: 3,
      error: new DebugLinkError('NV_DEBUG_POWERED_OFF', 'the token is powered off'),
    });
    expect(decodeAnswer(bare((await answerDebugLine('{"id":4,"op":"battery","args":{"percent":5}}', handlers))!)).error).toMatchObject({
      code: 'NV_DEBUG_FAILED',
      message: 'battery compartment open',
    });
  });

  it('a request that does not decode reaches no handler', async () => {
    calls.length = 0;
    for (const line of ['{"id":5,"op":"press","args":{"ms":1}}', '{"id":6,"op":"hold","args":{"ms":-1}}', '{"id":7,"op":"press"']) {
      expect(decodeAnswer(bare((await answerDebugLine(line, handlers))!)).error).toBeInstanceOf(DebugLinkError);
    }
    expect(calls).toEqual([]);
  });
});

/** The arguments an operation cannot go without, at their least. */
function requiredArgs(op: DebugOp): Record<string, unknown> {
  const specs = Object.entries(DEBUG_ARGS[op]) as [string, { type: string; min?: number; required?: true }][];
  return Object.fromEntries(specs.filter(([, spec]) => spec.required).map(([name, spec]) => [name, spec.type === 'boolean' ? true : spec.min]));
}
