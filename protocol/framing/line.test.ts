/**
 * Line framing: `BODY*CRC\n`, at most 256 bytes a line. The check is compared with node:zlib's
 * CRC-32 (or a bitwise reference), never with the code under test; every kind of damage is refused
 * with its own code; and the byte→line assembler cuts any chunking of a stream into the same lines.
 */
import { describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { ProtocolError } from '../errors.ts';
import { decodeMessage, type Message } from '../message.ts';
import { MAX_BODY_BYTES, MAX_LINE_BYTES } from '../version.ts';
import { decodeLine, encodeLine, LineAssembler, unwrapLine } from './line.ts';
import { uniform } from '../../test/support/random.ts';

function referenceCrc32(text: string): number {
  const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
  const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
  if (typeof zlibCrc32 === 'function') return zlibCrc32(bytes) >>> 0;
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A line (without newline) framed by hand: body, '*', eight upper-case hex digits. */
const frame = (body: string) => `${body}*${referenceCrc32(body).toString(16).toUpperCase().padStart(8, '0')}`;

function caught(run: () => unknown): ProtocolError {
  try {
    run();
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

function expectRefused(line: string, code: string, detail?: string): void {
  const error = caught(() => unwrapLine(line));
  expect({ line, code: error.code, detail: error.detail }).toEqual({ line, code, detail });
  // decodeLine refuses the same way
  const again = caught(() => decodeLine(line));
  expect([again.code, again.detail]).toEqual([code, detail]);
}

/** A request whose body is exactly `length` characters. */
function bodyOfLength(length: number): string {
  const head = '>1 x';
  let body = head;
  let n = 0;
  while (body.length < length) {
    const room = length - body.length;
    const key = `k${n++}`;
    // ' key=' + at least one value char
    if (room < key.length + 3) {
      // too little room for a new field: lengthen the name instead
      body = body.replace(/^>1 x/, '>1 x' + 'x'.repeat(room));
      break;
    }
    const valueLength = Math.min(200, room - key.length - 2);
    body += ` ${key}=${'v'.repeat(valueLength)}`;
  }
  return body;
}

describe('encodeLine', () => {
  it('is the body, `*`, the CRC-32 of the body in eight upper-case hex digits, and a newline', () => {
    const message: Message = { kind: 'request', id: 1, name: 'hello', fields: { proto: '1' } };
    expect(encodeLine(message)).toBe(`${frame('>1 hello proto=1')}\n`);
    expect(encodeLine({ kind: 'response', id: 0, ok: false, fields: { code: 'bad_crc' } })).toBe(`${frame('<0 err code=bad_crc')}\n`);
    expect(encodeLine(message)).toMatch(/^>1 hello proto=1\*[0-9A-F]{8}\n$/);
  });

  it('round-trips through decodeLine for a spread of messages', () => {
    const messages: Message[] = [
      { kind: 'request', id: 1, name: 'hello', fields: {} },
      { kind: 'request', id: 65535, name: 'settime', fields: { at: '1767225600000', force: '1' } },
      { kind: 'response', id: 9, ok: true, fields: { clock: '0', push: '1' } },
      { kind: 'response', id: 0, ok: false, fields: { code: 'bad_frame', detail: 'charset' } },
      { kind: 'event', seq: 4294967295, name: 'press', fields: { code: '00123456', counter: '9' } },
    ];
    const random = uniform(0x11e);
    for (let i = 0; i < 500; i++) {
      const fields: Record<string, string> = {};
      const count = Math.floor(random() * 4);
      for (let f = 0; f < count; f++) {
        let value = '';
        const length = 1 + Math.floor(random() * 30);
        for (let c = 0; c < length; c++) {
          const code = 0x21 + Math.floor(random() * 94);
          value += code === 0x2a ? '+' : String.fromCharCode(code);
        }
        fields[`f${f}`] = value;
      }
      messages.push({ kind: 'request', id: 1 + Math.floor(random() * 65535), name: 'cmd', fields });
    }
    for (const message of messages) {
      const line = encodeLine(message);
      expect(line.endsWith('\n')).toBe(true);
      expect(line.length).toBeLessThanOrEqual(MAX_LINE_BYTES);
      const withoutNewline = line.slice(0, -1);
      const star = withoutNewline.lastIndexOf('*');
      expect(parseInt(withoutNewline.slice(star + 1), 16)).toBe(referenceCrc32(withoutNewline.slice(0, star)));
      expect(decodeLine(withoutNewline)).toEqual(message);
    }
  });

  it('refuses a message whose body is longer than MAX_BODY_BYTES', () => {
    const body = bodyOfLength(MAX_BODY_BYTES + 1);
    expect(body.length).toBe(MAX_BODY_BYTES + 1);
    const message = decodeMessage(body); // the body itself is well formed
    expect(() => encodeLine(message)).toThrow(RangeError);
  });
});

describe('unwrapLine / decodeLine', () => {
  it('accepts a line of exactly MAX_LINE_BYTES - 1 characters (256 with its newline) and refuses one more as too_long', () => {
    const longest = frame(bodyOfLength(MAX_BODY_BYTES));
    expect(longest.length).toBe(MAX_LINE_BYTES - 1);
    expect(unwrapLine(longest)).toBe(bodyOfLength(MAX_BODY_BYTES));
    expect(decodeLine(longest).kind).toBe('request');

    const tooLong = frame(bodyOfLength(MAX_BODY_BYTES + 1));
    expect(tooLong.length).toBe(MAX_LINE_BYTES);
    expectRefused(tooLong, 'too_long', undefined);
    // length is judged before anything else: junk that long is too_long, not bad_frame
    expectRefused('\x00'.repeat(MAX_LINE_BYTES), 'too_long', undefined);
    expectRefused('x'.repeat(5000), 'too_long', undefined);
  });

  it('round-trips bodies of every length from the shortest request (4) to MAX_BODY_BYTES', () => {
    for (let length = 4; length <= MAX_BODY_BYTES; length++) {
      const body = bodyOfLength(length);
      expect(body.length).toBe(length);
      expect(unwrapLine(frame(body))).toBe(body);
    }
  });

  it('refuses control characters, DEL and non-ASCII anywhere with bad_frame charset', () => {
    const good = frame('>1 hello');
    const bad = ['\x00', '\x01', '\t', '\r', '\n', '\x1b', '\x1f', '\x7f', '\x80', '\xe5', '\xff', 'å', '€', '\u{1F600}'];
    for (const char of bad) {
      for (const at of [0, 1, 4, good.length - 9, good.length - 1, good.length]) {
        expectRefused(good.slice(0, at) + char + good.slice(at), 'bad_frame', 'charset');
      }
    }
    // even when the CRC is computed over the bad character, it is refused
    expectRefused(frame('>1 hello k=blå'), 'bad_frame', 'charset');
    expectRefused(frame('>1 hello\tk=v'), 'bad_frame', 'charset');
  });

  it('refuses a missing, short, long or non-hex check with bad_frame check', () => {
    const body = '>1 hello';
    const hex = referenceCrc32(body).toString(16).toUpperCase().padStart(8, '0');
    for (const line of [
      body,
      `${body}*`,
      `${body}*${hex.slice(0, 7)}`,
      `${body}*${hex.slice(0, 1)}`,
      `${body}*${hex}0`,
      `${body}*0x${hex.slice(2)}`,
      `${body}*${hex.slice(0, 7)}G`,
      `${body}*${hex.slice(0, 7)}g`,
      `${body}*${hex.slice(0, 4)} ${hex.slice(5)}`,
      `${body}*-${hex.slice(1)}`,
      `${body}*+${hex.slice(1)}`,
      `${body} *${hex}`.replace('*', '* '),
      `${body}${hex}`,
      `${body}*${hex}*`,
      `*`,
      ``,
    ]) {
      expectRefused(line, 'bad_frame', 'check');
    }
  });

  it('accepts a lower-case and a mixed-case hex check', () => {
    const body = '>1 hello proto=1';
    const hex = referenceCrc32(body).toString(16).padStart(8, '0');
    expect(hex).toMatch(/[a-f]/); // the case really matters for this sample
    expect(unwrapLine(`${body}*${hex.toLowerCase()}`)).toBe(body);
    expect(unwrapLine(`${body}*${hex.toUpperCase()}`)).toBe(body);
    const mixed = [...hex].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
    expect(unwrapLine(`${body}*${mixed}`)).toBe(body);
  });

  it('refuses a well-formed check that does not match with bad_crc', () => {
    const body = '>1 hello';
    const crc = referenceCrc32(body);
    for (const wrong of [crc ^ 1, crc ^ 0x80000000, crc + 1, 0, 0xffffffff, ~crc].map((n) => n >>> 0)) {
      if (wrong === crc) continue;
      expectRefused(`${body}*${wrong.toString(16).toUpperCase().padStart(8, '0')}`, 'bad_crc', undefined);
    }
    // the check of another body
    expectRefused(`>2 hello*${referenceCrc32('>1 hello').toString(16).padStart(8, '0')}`, 'bad_crc', undefined);
    // an empty body with its (zero) CRC passes the framing and fails in the message layer
    expect(referenceCrc32('')).toBe(0);
    expect(unwrapLine('*00000000')).toBe('');
    const error = caught(() => decodeLine('*00000000'));
    expect([error.code, error.detail]).toEqual(['bad_frame', 'id']);
  });

  it('refuses every single-bit flip of every byte of a sample frame', () => {
    const line = frame('>4711 settime at=1767225600000 force=1');
    const star = line.lastIndexOf('*');
    let badCrc = 0;
    let checked = 0;
    for (let at = 0; at < line.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const code = line.charCodeAt(at) ^ (1 << bit);
        const damaged = line.slice(0, at) + String.fromCharCode(code) + line.slice(at + 1);
        checked++;
        const printable = code >= 0x20 && code <= 0x7e;
        if (!printable) {
          expectRefused(damaged, 'bad_frame', 'charset');
        } else if (at < star) {
          // a body bit: CRC-32 catches every single-bit error
          expectRefused(damaged, 'bad_crc', undefined);
          badCrc++;
        } else if (at === star) {
          // the separator itself: no '*' left where the check should start
          const error = caught(() => unwrapLine(damaged));
          expect(error.code).toBe('bad_frame');
          expect(error.detail).toBe('check');
        } else {
          const digit = String.fromCharCode(code);
          const original = line.charAt(at);
          if (/[0-9A-Fa-f]/.test(digit) && digit.toLowerCase() === original.toLowerCase()) {
            // only the case of a hex letter changed: the same check, still accepted
            expect(unwrapLine(damaged)).toBe(line.slice(0, star));
          } else if (/[0-9A-Fa-f]/.test(digit)) {
            expectRefused(damaged, 'bad_crc', undefined);
          } else {
            expectRefused(damaged, 'bad_frame', 'check');
          }
        }
      }
    }
    expect(checked).toBe(line.length * 8);
    expect(badCrc).toBeGreaterThan(star * 4); // most body flips stay printable and are caught by the CRC
  });

  it('refuses random pairs of bit flips in the body of a sample frame', () => {
    const body = '>4711 settime at=1767225600000 force=1';
    const check = frame(body).slice(body.length);
    const random = uniform(0xb17);
    for (let i = 0; i < 5000; i++) {
      const chars = [...body].map((c) => c.charCodeAt(0));
      const a = Math.floor(random() * chars.length * 8);
      let b = Math.floor(random() * chars.length * 8);
      if (b === a) b = (a + 1) % (chars.length * 8);
      chars[a >> 3]! ^= 1 << (a & 7);
      chars[b >> 3]! ^= 1 << (b & 7);
      const damaged = String.fromCharCode(...chars) + check;
      const error = caught(() => unwrapLine(damaged));
      expect(['bad_crc', 'bad_frame']).toContain(error.code);
      if (error.code === 'bad_frame') expect(error.detail).toBe('charset');
    }
  });

  it('uses the last `*` as the separator', () => {
    // a '*' inside the body is covered by the CRC, and then refused by the message layer as a field
    const line = frame('>1 hello k=a*b');
    expect(unwrapLine(line)).toBe('>1 hello k=a*b');
    const error = caught(() => decodeLine(line));
    expect([error.code, error.detail]).toEqual(['bad_frame', 'field']);
  });

  it('passes message-layer errors through decodeLine', () => {
    expect(caught(() => decodeLine(frame('>0 hello'))).detail).toBe('id');
    expect(caught(() => decodeLine(frame('>1 HELLO'))).detail).toBe('name');
    expect(caught(() => decodeLine(frame('?1 hello'))).detail).toBe('kind');
    expect(caught(() => decodeLine(frame('>1 hello x'))).detail).toBe('field');
  });
});

// ---- the assembler ----

function assembler() {
  const lines: string[] = [];
  let overflows = 0;
  const events: string[] = [];
  const a = new LineAssembler(
    (line) => {
      lines.push(line);
      events.push(`line:${line}`);
    },
    () => {
      overflows++;
      events.push('overflow');
    },
  );
  const push = (text: string | Uint8Array) => a.push(typeof text === 'string' ? Uint8Array.from(text, (c) => c.charCodeAt(0)) : text);
  return { push, lines, events, get overflows() {
    return overflows;
  } };
}

describe('LineAssembler', () => {
  it('delivers each complete line without its newline, and holds a partial line', () => {
    const a = assembler();
    a.push('abc\ndef');
    expect(a.lines).toEqual(['abc']);
    a.push('\n');
    expect(a.lines).toEqual(['abc', 'def']);
    a.push('ghi');
    expect(a.lines).toEqual(['abc', 'def']);
    expect(a.overflows).toBe(0);
  });

  it('cuts a randomly chunked stream of 2,000 frames into exactly those lines', () => {
    for (const seed of [1, 2, 3, 0xdead]) {
      const random = uniform(seed);
      const expected: string[] = [];
      let stream = '';
      for (let i = 0; i < 2000; i++) {
        const body = `>${1 + Math.floor(random() * 65535)} cmd${i % 7} v=${'x'.repeat(Math.floor(random() * 200))}`;
        const line = frame(body);
        expected.push(line);
        stream += random() < 0.3 ? `${line}\r\n` : `${line}\n`;
      }
      const a = assembler();
      let at = 0;
      while (at < stream.length) {
        const r = random();
        // mostly small chunks, sometimes single bytes, sometimes very large ones
        const size = r < 0.2 ? 1 : r < 0.9 ? 1 + Math.floor(random() * 64) : 1 + Math.floor(random() * 4000);
        a.push(stream.slice(at, at + size));
        at += size;
      }
      expect(a.overflows, `seed ${seed}`).toBe(0);
      expect(a.lines.length, `seed ${seed}`).toBe(expected.length);
      expect(a.lines, `seed ${seed}`).toEqual(expected);
      // and each line is a valid frame
      for (const line of a.lines) expect(() => unwrapLine(line)).not.toThrow();
    }
  });

  it('strips one CR before the newline and keeps other CRs', () => {
    const a = assembler();
    a.push('one\r\ntwo\r');
    a.push('\nthree\n\rfour\n');
    a.push('five\r\r\n');
    expect(a.lines).toEqual(['one', 'two', 'three', '\rfour', 'five\r']);
  });

  it('ignores empty lines, CRLF-only lines included', () => {
    const a = assembler();
    a.push('\n\n\r\n\nx\n\n\r\n');
    expect(a.lines).toEqual(['x']);
    expect(a.overflows).toBe(0);
  });

  it('accepts a line of 255 bytes (256 with its newline)', () => {
    const line = frame(bodyOfLength(MAX_BODY_BYTES));
    expect(line.length).toBe(255);
    const a = assembler();
    a.push(`${line}\n`);
    expect(a.lines).toEqual([line]);
    expect(a.overflows).toBe(0);
    // any 255 bytes, byte by byte too
    const b = assembler();
    const text = 'q'.repeat(255);
    for (const c of `${text}\n`) b.push(c);
    expect(b.lines).toEqual([text]);
    expect(b.overflows).toBe(0);
  });

  it('accepts 254 bytes with CRLF (256 with CR and LF)', () => {
    const a = assembler();
    a.push(`${'q'.repeat(254)}\r\n`);
    expect(a.lines).toEqual(['q'.repeat(254)]);
    expect(a.overflows).toBe(0);
  });

  it('reports an overlong line once, at its newline, and delivers the next line intact', () => {
    for (const length of [256, 257, 300, 1000, 10_000]) {
      const a = assembler();
      const next = frame('>2 info');
      a.push(`${'A'.repeat(length)}`);
      expect(a.overflows, `length ${length}, before the newline`).toBe(0);
      a.push(`\n${next}\n`);
      expect(a.events, `length ${length}`).toEqual(['overflow', `line:${next}`]);
    }
  });

  it('reports an overlong line once however it is chunked', () => {
    const random = uniform(0x0f10);
    for (let i = 0; i < 200; i++) {
      const a = assembler();
      const long = 'B'.repeat(256 + Math.floor(random() * 3000));
      const stream = `short1\n${long}\nshort2\n${long}\r\n\nshort3\n`;
      let at = 0;
      while (at < stream.length) {
        const size = 1 + Math.floor(random() * 700);
        a.push(stream.slice(at, at + size));
        at += size;
      }
      expect(a.events).toEqual(['line:short1', 'overflow', 'line:short2', 'overflow', 'line:short3']);
    }
  });

  it('treats 256 bytes before the newline as overlong, the boundary exactly', () => {
    const a = assembler();
    a.push(`${'c'.repeat(255)}\n${'d'.repeat(256)}\n${'e'.repeat(255)}\n`);
    expect(a.events).toEqual([`line:${'c'.repeat(255)}`, 'overflow', `line:${'e'.repeat(255)}`]);
  });

  it('passes any byte other than LF through, for unwrapLine to judge', () => {
    const a = assembler();
    const bytes = new Uint8Array([0x00, 0xff, 0x80, 0x7f, 0x0d, 0x41, 0x0a]);
    a.push(bytes);
    expect(a.lines).toEqual(['\x00\xff\x80\x7f\rA']);
    expectRefused(a.lines[0]!, 'bad_frame', 'charset');
  });
});
