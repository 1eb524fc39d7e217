/**
 * The debug link's codec (messages.ts says what travels): one JSON object a line, a request at
 * most MAX_DEBUG_REQUEST_LINE characters and an answer at most MAX_DEBUG_ANSWER_LINE before the
 * newline. A request is checked against DEBUG_ARGS (unknown fields refused), an answer against
 * its operation's result (fields it does not define passed on); what does not fit is a
 * DebugLinkError with its code. Text in, text out: the socket glue on each side feeds the
 * LineReader what arrives and writes what the encoders return.
 */
import {
  DEBUG_ARGS,
  DEBUG_OPS,
  DebugLinkError,
  MAX_DEBUG_ANSWER_LINE,
  MAX_DEBUG_REQUEST_LINE,
  isDebugErrorCode,
  isDebugOp,
  type DebugArgs,
  type DebugOp,
  type DebugResult,
} from './messages.ts';

/** A request's id, echoed in its answer; null where a line could not be read as a request (or carried none). */
export type DebugId = number | null;

export type DebugRequest = { readonly [Op in DebugOp]: { readonly op: Op; readonly args: DebugArgs<Op> } }[DebugOp];

export type DecodedRequest =
  | { readonly id: DebugId; readonly request: DebugRequest; readonly error?: undefined }
  | { readonly id: DebugId; readonly request?: undefined; readonly error: DebugLinkError };

export type DecodedAnswer =
  | { readonly id: DebugId; readonly result: Readonly<Record<string, unknown>>; readonly error?: undefined }
  | { readonly id: DebugId; readonly result?: undefined; readonly error: DebugLinkError };

/** What the token does for each operation; a handler that throws is answered with its code (a DebugLinkError) or NV_DEBUG_FAILED. */
export type DebugHandlers = { readonly [Op in DebugOp]: (args: DebugArgs<Op>) => DebugResult<Op> | Promise<DebugResult<Op>> };

/** The longest error message an answer carries; a longer one is cut, so that a failure always fits its line. */
export const MAX_DEBUG_ERROR_MESSAGE = 1024;

/** A request as its line, newline included. The arguments are checked as the token checks them: a bad one fails here, before it is sent. */
export function encodeRequest<Op extends DebugOp>(id: number, op: Op, args: DebugArgs<Op>): string {
  if (!isWholeNumber(id)) throw new DebugLinkError('NV_DEBUG_BAD_REQUEST', `a request id must be a whole number, not ${String(id)}`);
  if (!isDebugOp(op)) throw badOp(op);
  checkArgs(op, args);
  // Arguments are a few known numbers and booleans: a request is always far shorter than MAX_DEBUG_REQUEST_LINE.
  return JSON.stringify(Object.keys(args).length > 0 ? { id, op, args } : { id, op }) + '\n';
}

/** A request line (without its newline), as the token reads it. */
export function decodeRequest(line: string): DecodedRequest {
  if (line.length > MAX_DEBUG_REQUEST_LINE) return { id: null, error: tooLong('request', MAX_DEBUG_REQUEST_LINE) };
  const value = parseJson(line, 'debug request is not JSON');
  if (value instanceof DebugLinkError) return { id: null, error: value };
  if (!isObject(value)) return { id: null, error: new DebugLinkError('NV_DEBUG_BAD_REQUEST', 'a debug request is a JSON object') };
  const id = value.id ?? null;
  if (id !== null && !isWholeNumber(id)) return { id: null, error: new DebugLinkError('NV_DEBUG_BAD_REQUEST', 'a debug request\'s "id" is a whole number') };
  const unknown = Object.keys(value).find((field) => !REQUEST_FIELDS.includes(field));
  if (unknown !== undefined) return { id, error: new DebugLinkError('NV_DEBUG_BAD_REQUEST', `a debug request has no field ${JSON.stringify(unknown)}; it has ${REQUEST_FIELDS.join(', ')}`) };
  const { op } = value;
  if (!isDebugOp(op)) return { id, error: badOp(op) };
  const args = value.args === undefined ? {} : value.args;
  try {
    checkArgs(op, args);
  } catch (error) {
    return { id, error: error as DebugLinkError };
  }
  return { id, request: { op, args } as DebugRequest };
}

const REQUEST_FIELDS: readonly string[] = ['id', 'op', 'args'];

/** A result as its answer line; one too long for a client to read is answered as NV_DEBUG_TOO_LONG instead. */
export function encodeResult(id: DebugId, result: DebugResult): string {
  const line = JSON.stringify({ id, ok: true, result });
  return line.length > MAX_DEBUG_ANSWER_LINE ? encodeFailure(id, tooLong('answer', MAX_DEBUG_ANSWER_LINE)) : line + '\n';
}

/** A failure as its answer line: a DebugLinkError with its code, anything else as NV_DEBUG_FAILED with its message. */
export function encodeFailure(id: DebugId, failure: unknown): string {
  const { code, message } = asDebugLinkError(failure);
  return JSON.stringify({ id, ok: false, error: { code, message: message.slice(0, MAX_DEBUG_ERROR_MESSAGE) } }) + '\n';
}

export function asDebugLinkError(failure: unknown): DebugLinkError {
  if (failure instanceof DebugLinkError) return failure;
  return new DebugLinkError('NV_DEBUG_FAILED', failure instanceof Error ? failure.message : String(failure));
}

/**
 * The token's side of one request line: the answer line to write, or none for a blank line. The
 * handler runs only for a request that decoded; whatever it throws is answered, never thrown.
 */
export async function answerDebugLine(line: string, handlers: DebugHandlers): Promise<string | undefined> {
  if (line.trim() === '') return undefined;
  const decoded = decodeRequest(line);
  if (decoded.error) return encodeFailure(decoded.id, decoded.error);
  const { op, args } = decoded.request;
  const handle = handlers[op] as (args: DebugArgs) => DebugResult | Promise<DebugResult>;
  try {
    return encodeResult(decoded.id, await handle(args));
  } catch (error) {
    return encodeFailure(decoded.id, error);
  }
}

/** The answer to a line the token could not even read as a line: too long. */
export function overlongRequestAnswer(): string {
  return encodeFailure(null, tooLong('request', MAX_DEBUG_REQUEST_LINE));
}

/** An answer line (without its newline), as a client reads it: a result still to be checked by decodeResult, or the token's coded error. */
export function decodeAnswer(line: string): DecodedAnswer {
  if (line.length > MAX_DEBUG_ANSWER_LINE) throw tooLong('answer', MAX_DEBUG_ANSWER_LINE);
  const value = parseJson(line, 'a debug answer is not JSON');
  if (value instanceof DebugLinkError) throw badAnswer(value.message);
  if (!isObject(value)) throw badAnswer('a debug answer is not a JSON object');
  const id = value.id ?? null;
  if (id !== null && !isWholeNumber(id)) throw badAnswer('a debug answer\'s "id" is not a whole number');
  if (value.ok === true && isObject(value.result)) return { id, result: value.result };
  const { error } = value;
  if (value.ok === false && isObject(error) && isDebugErrorCode(error.code) && typeof error.message === 'string') {
    return { id, error: new DebugLinkError(error.code, error.message) };
  }
  throw badAnswer('a debug answer is neither {"ok":true,"result":{…}} nor {"ok":false,"error":{"code","message"}} with a known code');
}

/** A result checked against what its operation answers. */
export function decodeResult<Op extends DebugOp>(op: Op, result: Readonly<Record<string, unknown>>): DebugResult<Op> {
  if (!RESULTS[op](result)) throw badAnswer(`the answer to "${op}" is not the result it defines`);
  return result as unknown as DebugResult<Op>;
}

/**
 * Gathers text as it arrives into lines (without their newline) of at most `maxLength`
 * characters. A longer line is reported once, as soon as it is one, and dropped up to its
 * newline, so the line after it is read normally.
 */
export class DebugLineReader {
  private buffered = '';
  private overflowed = false;

  constructor(
    private readonly maxLength: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: () => void,
  ) {}

  /** Characters held waiting for their newline: never more than `maxLength`, none while an overlong line is dropped. */
  get held(): number {
    return this.buffered.length;
  }

  push(text: string): void {
    for (let start = 0; ; ) {
      const newline = text.indexOf('\n', start);
      const piece = newline < 0 ? text.slice(start) : text.slice(start, newline);
      if (!this.overflowed && this.buffered.length + piece.length > this.maxLength) {
        this.overflowed = true;
        this.buffered = '';
        this.onOverflow();
      }
      if (!this.overflowed) this.buffered += piece;
      if (newline < 0) return;
      start = newline + 1;
      const line = this.buffered;
      this.buffered = '';
      if (this.overflowed) this.overflowed = false;
      else this.onLine(line);
    }
  }
}

function checkArgs(op: DebugOp, args: unknown): void {
  if (!isObject(args)) throw new DebugLinkError('NV_DEBUG_BAD_ARG', `the arguments of "${op}" are a JSON object`);
  const specs: Readonly<Record<string, { readonly type: 'number' | 'boolean'; readonly min?: number; readonly max?: number }>> = DEBUG_ARGS[op];
  const names = Object.keys(specs);
  const unknown = Object.keys(args).find((name) => !names.includes(name));
  if (unknown !== undefined) {
    throw new DebugLinkError('NV_DEBUG_BAD_ARG', `"${op}" takes no argument ${JSON.stringify(unknown)}` + (names.length ? `; it takes ${names.join(', ')}` : ''));
  }
  for (const name of names) {
    const spec = specs[name]!;
    const value = args[name];
    if (value === undefined && !(spec as { required?: true }).required) continue;
    if (spec.type === 'boolean') {
      if (typeof value !== 'boolean') throw new DebugLinkError('NV_DEBUG_BAD_ARG', `"${name}" must be true or false`);
    } else if (typeof value !== 'number' || !Number.isFinite(value) || value < spec.min! || value > spec.max!) {
      throw new DebugLinkError('NV_DEBUG_BAD_ARG', `"${name}" must be a number from ${spec.min} to ${spec.max}`);
    }
  }
}

type Check = (value: unknown) => boolean;

const isNumber: Check = (value) => typeof value === 'number' && Number.isFinite(value);
const isString: Check = (value) => typeof value === 'string';
const isBoolean: Check = (value) => typeof value === 'boolean';
const isTrue: Check = (value) => value === true;
const isByte: Check = (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 255;
const arrayOf =
  (item: Check): Check =>
  (value) =>
    Array.isArray(value) && value.every(item);
/** An object with each of `fields` (and each of `optional` it has) as its check says; other fields pass. */
const shape =
  (fields: Readonly<Record<string, Check>>, optional: Readonly<Record<string, Check>> = {}): Check =>
  (value) =>
    isObject(value) &&
    Object.entries(fields).every(([name, check]) => check(value[name])) &&
    Object.entries(optional).every(([name, check]) => value[name] === undefined || check(value[name]));
const either =
  (...checks: Check[]): Check =>
  (value) =>
    checks.some((check) => check(value));

const DRIVER = either(
  shape({ chip: (v) => v === 'MAX7219', display: isString, segments: arrayOf(isByte), writes: isNumber }),
  shape({ chip: (v) => v === 'HD44780', lines: arrayOf(isString), writes: isNumber }),
);
const DISPLAY_FIELDS = { display: isString, segments: arrayOf(isByte), on: isBoolean };
const DISPLAY = shape(DISPLAY_FIELDS, { driver: DRIVER });
const MEMORY_FIELDS = [
  'emptyContextBytes',
  'loadedBytes',
  'bootedBytes',
  'usedBytes',
  'peakBytes',
  'allocations',
  'firmwareBytes',
  'codeBytes',
  'dataBytes',
  'peakFirmwareBytes',
] as const;
const ENGINE = shape({ name: isString, version: isString }, { stackLimitBytes: isNumber, memory: shape(Object.fromEntries(MEMORY_FIELDS.map((name) => [name, isNumber]))) });
const FLASH = shape({ operations: isNumber, endurance: isNumber, maxPageErases: isNumber, pageErases: arrayOf(isNumber) });
const STATE = shape(
  {
    ...DISPLAY_FIELDS,
    serial: either((v) => v === null, isString),
    port: isString,
    powered: isBoolean,
    boots: isNumber,
    battery: isNumber,
    clock: isNumber,
    driftPpm: isNumber,
    flash: FLASH,
    droppedOutputBytes: isNumber,
    engine: ENGINE,
  },
  { driver: DRIVER },
);

const RESULTS: { readonly [Op in DebugOp]: Check } = {
  press: DISPLAY,
  hold: DISPLAY,
  button: DISPLAY,
  display: DISPLAY,
  advance: (value) => DISPLAY(value) && shape({ clock: isNumber })(value),
  'power-cut': either(shape({ armed: isTrue, atOperation: isNumber, fraction: isNumber, offMs: isNumber }), shape({ cut: isTrue, offMs: isNumber })),
  'power-on': shape({ on: isBoolean }),
  battery: shape({ battery: isNumber }),
  state: STATE,
};

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isWholeNumber(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function parseJson(line: string, complaint: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return new DebugLinkError('NV_DEBUG_BAD_JSON', complaint);
  }
}

function badOp(op: unknown): DebugLinkError {
  return new DebugLinkError('NV_DEBUG_BAD_OP', `unknown debug operation ${JSON.stringify(op) ?? String(op)}; known: ${DEBUG_OPS.join(', ')}`);
}

function badAnswer(message: string): DebugLinkError {
  return new DebugLinkError('NV_DEBUG_BAD_ANSWER', message);
}

function tooLong(what: 'request' | 'answer', max: number): DebugLinkError {
  return new DebugLinkError('NV_DEBUG_TOO_LONG', `a debug ${what} is longer than ${max} characters`);
}
