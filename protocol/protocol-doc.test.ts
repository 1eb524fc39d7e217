/**
 * PROTOCOL.md cannot drift from the code: every example line in it is decoded by the codec (its
 * CRC, its grammar, its fields by the command's schema, a damaged line's answer as the codec
 * predicts it), every HID report is parsed and put back together, every number in its limits
 * table is the constant it names, and every command, event, error code, HID command, HID error
 * and capability flag defined in protocol/ has its place in it, and nothing else does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as commands from './commands.ts';
import { COMMANDS, EVENTS, isCommandName, isEventName } from './commands.ts';
import { crc32Ascii, crcHex } from './crc32.ts';
import { ProtocolError, TOKEN_ERRORS, isTokenErrorCode } from './errors.ts';
import { decodeFields, type Schema } from './fields.ts';
import * as hid from './framing/hid.ts';
import { HID_CAPABILITY, HID_COMMAND, HID_ERROR, MessageAssembler, TOKEN_CAPABILITIES, openBody, parsePacket } from './framing/hid.ts';
import { decodeLine, encodeLine, unwrapLine } from './framing/line.ts';
import * as message from './message.ts';
import { decodeMessage, decodeMessageText, readableRequestId, type Message } from './message.ts';
import * as oath from './oath/parameters.ts';
import * as version from './version.ts';

const DOC_PATH = path.join(import.meta.dirname, 'PROTOCOL.md');

type Direction = 'host' | 'token';

interface ExampleLine {
  readonly who: Direction;
  readonly text: string;
}

/** The fenced blocks with a given info string, each as its lines. */
function blocks(doc: string, kind: string): string[][] {
  const found: string[][] = [];
  const fence = new RegExp('^```' + kind + '\\n([\\s\\S]*?)^```$', 'gm');
  for (const match of doc.matchAll(fence)) found.push(match[1]!.split('\n').filter((line) => line.trim() !== ''));
  return found;
}

function exampleLine(raw: string): ExampleLine {
  const match = /^(host|token):\s{1,2}(.*)$/.exec(raw);
  if (!match) throw new Error(`not an example line: ${raw}`);
  return { who: match[1] as Direction, text: match[2]!.replace(/^ /, '') };
}

/** The body of the section under `heading` (up to the next heading of the same or a higher level). */
function section(doc: string, heading: RegExp): string | undefined {
  const lines = doc.split('\n');
  const start = lines.findIndex((line) => heading.test(line));
  if (start < 0) return undefined;
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((line, i) => i > start && /^#+ /.test(line) && /^#+/.exec(line)![0].length <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The rows of every table in a text, as trimmed cells. */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[-| ]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

function fieldKeys(schema: object): string[] {
  return Object.keys(schema);
}

/** Everything wrong with the document; empty when it is right. */
function problems(doc: string): string[] {
  const found: string[] = [];
  const check = (ok: boolean, problem: string) => {
    if (!ok) found.push(problem);
  };

  // ---- the wire examples ----
  const wire = blocks(doc, 'wire');
  check(wire.length > 0, 'no ```wire example blocks');
  for (const block of wire) {
    const lines = block.map(exampleLine);
    const requests = new Map<number, string>();
    for (let i = 0; i < lines.length; i++) {
      const { who, text } = lines[i]!;
      let decoded: Message;
      // Until the line passes its check the token cannot trust the ID in it: it answers under 0.
      let answerId = 0;
      try {
        const body = unwrapLine(text);
        answerId = readableRequestId(body);
        decoded = decodeMessage(body);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        if (who === 'token') {
          found.push(`token line does not decode (${error.message}): ${text}`);
          continue;
        }
        // A damaged host line: the next token answer is the one the codec predicts.
        if (answerId !== 0) requests.set(answerId, '');
        const answer = lines.slice(i + 1).find((line) => line.who === 'token');
        const expected = encodeLine({ kind: 'response', id: answerId, ok: false, fields: error.detail ? { code: error.code, detail: error.detail } : { code: error.code } });
        check(answer !== undefined && `${answer.text}\n` === expected, `damaged line ${text} should be answered ${expected.trim()}, not ${answer?.text}`);
        continue;
      }
      check(`${text}\n`.toUpperCase() === encodeLine(decoded).toUpperCase(), `not in canonical form: ${text}`);
      if (who === 'token') check(`${text}\n` === encodeLine(decoded), `a token sends its CRC in upper case: ${text}`);
      if (who === 'host') {
        if (decoded.kind !== 'request') {
          const answer = lines.slice(i + 1).find((line) => line.who === 'token');
          check(answer?.text.startsWith('<0 err code=bad_frame detail=kind*') ?? false, `${text} should be answered bad_frame kind`);
          continue;
        }
        requests.set(decoded.id, decoded.name);
        const answer = lines.slice(i + 1).find((line) => line.who === 'token' && line.text.startsWith(`<${decoded.id} `));
        check(answer !== undefined, `request ${text} has no answer in its block`);
        if (!isCommandName(decoded.name)) {
          check(answer?.text.startsWith(`<${decoded.id} err code=unknown_command*`) ?? false, `${text} should be answered unknown_command`);
          continue;
        }
        const args = decodeFields(COMMANDS[decoded.name].args as Schema<unknown>, decoded.fields, true);
        if (!args.ok) {
          check(answer?.text.startsWith(`<${decoded.id} err code=bad_argument detail=${args.key}*`) ?? false, `${text} should be answered bad_argument detail=${args.key}`);
        }
        continue;
      }
      if (decoded.kind === 'event') {
        check(isEventName(decoded.name), `unknown event in ${text}`);
        if (isEventName(decoded.name)) check(decodeFields(EVENTS[decoded.name] as Schema<unknown>, decoded.fields, true).ok, `event fields do not decode: ${text}`);
      } else if (decoded.kind === 'response') {
        const command = requests.get(decoded.id);
        if (decoded.id !== 0) check(command !== undefined, `response to no request of its block: ${text}`);
        if (decoded.ok) {
          check(command !== undefined && isCommandName(command) && decodeFields(COMMANDS[command].reply as Schema<unknown>, decoded.fields, true).ok, `reply fields do not decode for ${command}: ${text}`);
        } else {
          check(isTokenErrorCode(decoded.fields.code ?? ''), `unknown error code: ${text}`);
        }
      } else {
        found.push(`a token sent a request: ${text}`);
      }
    }
  }

  // ---- CRC examples ----
  const crcs = blocks(doc, 'crc').flat();
  check(crcs.length > 0, 'no ```crc block');
  for (const line of crcs) {
    const match = /^([0-9A-F]{8}) {2}(.*)$/.exec(line);
    check(match !== null && crcHex(crc32Ascii(match[2]!)) === match[1], `wrong CRC: ${line}`);
  }

  // ---- HID examples ----
  const hidBlocks = blocks(doc, 'hid');
  check(hidBlocks.length > 0, 'no ```hid example blocks');
  let nonce: Uint8Array | undefined;
  let channel: number | undefined;
  const assemblers = { host: new MessageAssembler(), token: new MessageAssembler() };
  const pendingBadCrc: string[] = [];
  for (const raw of hidBlocks.flat()) {
    const { who, text } = exampleLine(raw);
    const report = hidReport(text);
    if (!report) {
      found.push(`not a report: ${raw}`);
      continue;
    }
    const packet = parsePacket(report)!;
    const result = assemblers[who].add(packet, 0);
    if (result.kind === 'pending') continue;
    if (result.kind === 'error') {
      found.push(`reports do not assemble (${result.error}): ${raw}`);
      continue;
    }
    const { command, payload } = result;
    if (command === HID_COMMAND.INIT && who === 'host') {
      check(payload.length === hid.INIT_NONCE_BYTES && result.channel === hid.BROADCAST_CHANNEL, `INIT request: ${raw}`);
      nonce = payload;
    } else if (command === HID_COMMAND.INIT) {
      check(payload.length === hid.INIT_RESPONSE_BYTES, `INIT answer is not ${hid.INIT_RESPONSE_BYTES} bytes: ${raw}`);
      check(nonce !== undefined && payload.subarray(0, 8).every((byte, i) => byte === nonce![i]), `INIT answer does not return the nonce: ${raw}`);
      check(payload[12] === version.PROTOCOL_VERSION, `INIT answer's protocol version: ${raw}`);
      check(payload[16] === TOKEN_CAPABILITIES, `INIT answer's capabilities are not ${TOKEN_CAPABILITIES}: ${raw}`);
      channel = new DataView(payload.buffer, payload.byteOffset).getUint32(8);
    } else if (command === HID_COMMAND.MESSAGE || command === HID_COMMAND.EVENT) {
      const body = openBody(payload);
      if (body === undefined) {
        check(who === 'host', `a token report with a bad CRC: ${raw}`);
        pendingBadCrc.push(raw);
        continue;
      }
      let decoded: Message | undefined;
      try {
        decoded = decodeMessageText(body);
      } catch (error) {
        found.push(`HID body does not decode (${(error as Error).message}): ${body}`);
      }
      if (decoded && who === 'token' && decoded.kind === 'response' && decoded.id === 0 && decoded.fields.code === 'bad_crc') pendingBadCrc.shift();
      if (decoded) check((command === HID_COMMAND.EVENT) === (decoded.kind === 'event'), `events go in EVENT, the rest in MESSAGE: ${raw}`);
    } else if (command === HID_COMMAND.ERROR) {
      check(payload.length === 1 && hid.hidErrorName(payload[0]!) !== undefined, `ERROR with an unknown code: ${raw}`);
    } else if (command === HID_COMMAND.KEEPALIVE) {
      check(payload.length === 1 && payload[0] === hid.KEEPALIVE_STATUS.UPNEEDED, `KEEPALIVE status: ${raw}`);
    }
    if (who === 'host' && command !== HID_COMMAND.INIT && channel !== undefined && result.channel !== channel) {
      const next = hidBlocks.flat()[hidBlocks.flat().indexOf(raw) + 1];
      check(next !== undefined && hidReport(exampleLine(next).text)?.[4] === (0x80 | HID_COMMAND.ERROR), `a report on an unknown channel should be answered with ERROR: ${raw}`);
    }
  }
  check(channel !== undefined, 'no INIT answer among the HID examples');
  check(pendingBadCrc.length === 0, `damaged HID messages without their bad_crc answer: ${pendingBadCrc.join('; ')}`);

  // ---- every command, event and error, and nothing else ----
  const commandSection = section(doc, /^## \d+\. Commands$/) ?? '';
  const documentedCommands = [...commandSection.matchAll(/^### [\d.]+ `([a-z_-]+)`$/gm)].map((m) => m[1]!);
  check(JSON.stringify([...documentedCommands].sort()) === JSON.stringify(Object.keys(COMMANDS).sort()), `commands documented ${documentedCommands.join(' ')}, defined ${Object.keys(COMMANDS).join(' ')}`);
  for (const [name, spec] of Object.entries(COMMANDS)) {
    const body = section(commandSection, new RegExp(`^### [\\d.]+ \`${name}\`$`)) ?? '';
    for (const key of [...fieldKeys(spec.args), ...fieldKeys(spec.reply)]) check(body.includes(`\`${key}\``), `command ${name}: field ${key} is not described`);
  }
  const eventSection = section(doc, /^## \d+\. Events$/) ?? '';
  const documentedEvents = [...eventSection.matchAll(/^### [\d.]+ `([a-z_-]+)`$/gm)].map((m) => m[1]!);
  check(JSON.stringify([...documentedEvents].sort()) === JSON.stringify(Object.keys(EVENTS).sort()), `events documented ${documentedEvents.join(' ')}, defined ${Object.keys(EVENTS).join(' ')}`);
  for (const [name, schema] of Object.entries(EVENTS)) {
    const body = section(eventSection, new RegExp(`^### [\\d.]+ \`${name}\`$`)) ?? '';
    for (const key of fieldKeys(schema)) check(body.includes(`\`${key}\``), `event ${name}: field ${key} is not described`);
  }
  const errorRows = tableRows(section(doc, /^## \d+\. Error codes$/) ?? '').filter((row) => /^`[a-z_]+`$/.test(row[0]!));
  const documentedErrors = errorRows.map((row) => row[0]!.slice(1, -1));
  check(JSON.stringify([...documentedErrors].sort()) === JSON.stringify(Object.keys(TOKEN_ERRORS).sort()), `error codes documented ${documentedErrors.join(' ')}, defined ${Object.keys(TOKEN_ERRORS).join(' ')}`);
  for (const row of errorRows) {
    const code = row[0]!.slice(1, -1);
    if (isTokenErrorCode(code)) check(row[1] === TOKEN_ERRORS[code], `error ${code}: meaning "${row[1]}", the code says "${TOKEN_ERRORS[code]}"`);
  }

  // ---- the HID tables ----
  const hidSection = section(doc, /^## \d+\. The HID framing$/) ?? '';
  for (const [title, table] of [
    ['HID command', HID_COMMAND],
    ['HID error', HID_ERROR],
    ['HID capability', HID_CAPABILITY],
  ] as const) {
    const rows = tableRows(hidSection).filter((row) => /^`[A-Z_]+`$/.test(row[0]!) && Object.prototype.hasOwnProperty.call(table, row[0]!.slice(1, -1)));
    const documented = new Map(rows.map((row) => [row[0]!.slice(1, -1), row[1]!]));
    for (const [name, value] of Object.entries(table)) {
      check(documented.get(name) === `0x${value.toString(16).toUpperCase().padStart(2, '0')}`, `${title} ${name} (0x${value.toString(16)}) is not in its table with its value`);
    }
  }

  // ---- the limits ----
  const constants: Record<string, unknown> = { ...version, ...message, ...commands, ...hid, ...oath };
  const limitRows = tableRows(section(doc, /^## \d+\. Limits$/) ?? '').filter((row) => /^`[A-Za-z_.]+`$/.test(row.at(-1)!));
  check(limitRows.length > 0, 'no limits table');
  for (const row of limitRows) {
    const name = row.at(-1)!.slice(1, -1);
    const value = name.split('.').reduce<unknown>((object, part) => (object as Record<string, unknown> | undefined)?.[part], constants);
    const stated = Number(/\d+/.exec(row[1]!)?.[0]);
    check(value === stated, `limit ${name}: the document says ${stated}, the code ${String(value)}`);
  }
  return found;
}

/** `CHANNEL CMD [LENGTH] | DATA…  # comment` as a 64-byte report, zero-padded. */
function hidReport(text: string): Uint8Array | undefined {
  const hex = text.replace(/#.*$/, '').replace(/[|\s]/g, '');
  if (!/^([0-9a-f]{2})+$/.test(hex) || hex.length > 128) return undefined;
  const report = new Uint8Array(hid.HID_REPORT_BYTES);
  for (let i = 0; i < hex.length; i += 2) report[i / 2] = parseInt(hex.slice(i, i + 2), 16);
  return report;
}

const doc = fs.readFileSync(DOC_PATH, 'utf8');

describe('protocol/PROTOCOL.md', () => {
  it('agrees with the code: examples, tables, commands, events, error codes and limits', () => {
    expect(problems(doc)).toEqual([]);
  });

  it('has worked examples of every command, every event and the CRC', () => {
    const lines = blocks(doc, 'wire').flat().map(exampleLine);
    const decoded = lines.flatMap((line) => {
      try {
        return [decodeLine(line.text)];
      } catch {
        return [];
      }
    });
    for (const name of Object.keys(COMMANDS)) expect(decoded.some((m) => m.kind === 'request' && m.name === name), name).toBe(true);
    for (const name of Object.keys(EVENTS)) expect(decoded.some((m) => m.kind === 'event' && m.name === name), name).toBe(true);
  });

  describe('the check catches a document that drifted', () => {
    const mutations: [string, (text: string) => string, RegExp][] = [
      ['a command left out', (text) => text.replace(/^### 5\.5 `time`$[\s\S]*?(?=^### 5\.6)/m, ''), /commands documented/],
      ['an event field left out', (text) => text.replace('| `timeout_ms` | uint |', '| `timeout` | uint |'), /event confirm: field timeout_ms/],
      ['an error code left out', (text) => text.replace(/^\| `low_battery` .*\n/m, ''), /error codes documented/],
      ['a CRC altered', (text) => text.replace('>2 info*078E6698', '>2 info*078E6699'), /damaged line >2 info\*078E6699/],
      ['a reply that its command does not have', (text) => text.replace('<5 ok clock=1767225631000*7EB26AC5', encodeLine({ kind: 'response', id: 5, ok: true, fields: { clock: '1767225631000', when: 'now' } }).trim()), /reply fields do not decode for time/],
      ['an HID capability byte altered', (text) => text.replace('01 00 01 00 08', '01 00 01 00 00'), /capabilities/],
      ['an HID error value altered', (text) => text.replace('| `INVALID_CHANNEL` | 0x0B |', '| `INVALID_CHANNEL` | 0x0C |'), /HID error INVALID_CHANNEL/],
      ['a limit altered', (text) => text.replace('| 246 bytes | `MAX_BODY_BYTES` |', '| 250 bytes | `MAX_BODY_BYTES` |'), /limit MAX_BODY_BYTES/],
    ];
    it.each(mutations)('%s', (_what, mutate, complaint) => {
      const mutated = mutate(doc);
      expect(mutated).not.toBe(doc);
      expect(problems(mutated).join('\n')).toMatch(complaint);
    });
  });
});
