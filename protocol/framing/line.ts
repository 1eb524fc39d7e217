/**
 * Line framing, for serial ports: each message body travels as `BODY*CRC\n`, where CRC is the
 * CRC-32 of BODY in eight hex digits (after NMEA's `*hh` checksum), the whole line at most
 * MAX_LINE_BYTES bytes of printable ASCII. An empty line is ignored, so a host may send `\n` to
 * clear whatever half-line a token holds.
 */
import { crc32 } from '../crc32.ts';
import { ProtocolError } from '../errors.ts';
import { decodeValue, hexBytes } from '../fields.ts';
import { PRINTABLE, decodeMessage, encodeMessage, type Message } from '../message.ts';
import { MAX_LINE_BYTES } from '../version.ts';

const LF = 0x0a;
const CR = 0x0d;

export function encodeLine(message: Message): string {
  const body = encodeMessage(message);
  // crcHex, inline (one function fewer in the firmware), and without padStart (one built-in fewer
  // at its boot): 2^32 added, the CRC has nine hex digits, the first of them that 1.
  return `${body}*${(crc32(body) + 0x100000000).toString(16).slice(1).toUpperCase()}\n`;
}

/** The check after the `*`: a CRC-32, four bytes. */
const CHECK = hexBytes(4, 4);

/** Checks a received line (its `\n` and any `\r` already removed) and returns its body. */
export function unwrapLine(line: string): string {
  if (line.length > MAX_LINE_BYTES - 1) throw new ProtocolError('too_long');
  if (!PRINTABLE.test(line)) throw new ProtocolError('bad_frame', 'charset');
  const star = line.lastIndexOf('*');
  const check = line.slice(star + 1);
  // Eight hex digits, any case, by the hex codec rather than a regular expression of its own
  // (the firmware keeps each loaded, text and compiled program).
  if (star < 0 || decodeValue(CHECK, check) === undefined) throw new ProtocolError('bad_frame', 'check');
  const body = line.slice(0, star);
  if (parseInt(check, 16) !== crc32(body)) throw new ProtocolError('bad_crc');
  return body;
}

export function decodeLine(line: string): Message {
  return decodeMessage(unwrapLine(line));
}

/**
 * Gathers bytes into lines, at most MAX_LINE_BYTES - 1 of them before the newline. The line so far
 * is kept as text, not in a fixed buffer: a firmware idle between lines then holds an empty string,
 * not a 256-byte array (about 400 bytes of a small engine's heap). An overlong line is dropped up
 * to its newline and reported once, so the next line is read normally.
 */
export class LineAssembler {
  // Set in the constructor, not declared as class fields: a class with fields costs an engine like
  // QuickJS one more function (their initialiser), kept in the firmware's RAM.
  private declare text: string;
  private declare overflowed: boolean;
  private declare readonly onLine: (line: string) => void;
  private declare readonly onOverflow: () => void;

  constructor(onLine: (line: string) => void, onOverflow: () => void) {
    this.text = '';
    this.overflowed = false;
    this.onLine = onLine;
    this.onOverflow = onOverflow;
  }

  push(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte !== LF) {
        if (this.text.length < MAX_LINE_BYTES - 1) this.text += String.fromCharCode(byte);
        else this.overflowed = true;
        continue;
      }
      // The end of a line: without its `\r`; reported as an overflow when it was, ignored when empty.
      let line = this.text;
      if (line.length > 0 && line.charCodeAt(line.length - 1) === CR) line = line.slice(0, -1);
      const overflowed = this.overflowed;
      this.text = '';
      this.overflowed = false;
      if (overflowed) this.onOverflow();
      else if (line.length > 0) this.onLine(line);
    }
  }
}
