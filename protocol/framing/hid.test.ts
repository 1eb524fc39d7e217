/**
 * HID framing: 64-byte INIT/CONT reports. What `fragment` writes is compared byte for byte with
 * the layout cut by hand (test/support/hid-rig.ts), for every payload size the token takes; the
 * CRC with node:zlib's; and the assembler is driven through every way a message can go wrong.
 */
import { describe, expect, it } from 'vitest';
import {
  BROADCAST_CHANNEL,
  CONT_DATA_BYTES,
  HID_COMMAND,
  HID_ERROR,
  HID_REPORT_BYTES,
  HID_TRANSACTION_TIMEOUT_MS,
  INIT_DATA_BYTES,
  MAX_HID_PAYLOAD_BYTES,
  MAX_SEQUENCE,
  MessageAssembler,
  fragment,
  hidErrorName,
  openBody,
  parsePacket,
  sealBody,
  type AssemblyResult,
  type HidPacket,
} from './hid.ts';
import { randomBytes, xorshift32 } from '../../test/support/random.ts';
import { CMD, ERR, contReport, initReport, refCrc32, refReports, refSeal, reportCount } from '../../test/support/hid-rig.ts';

type Init = Extract<HidPacket, { kind: 'init' }>;
type Cont = Extract<HidPacket, { kind: 'cont' }>;

function parsed(report: Uint8Array): HidPacket {
  const packet = parsePacket(report);
  if (!packet) throw new Error('a 64-byte report did not parse');
  return packet;
}

const init = (report: Uint8Array) => parsed(report) as Init;
const cont = (report: Uint8Array) => parsed(report) as Cont;

/** Feeds reports to an assembler; returns every result. */
function feed(assembler: MessageAssembler, reports: readonly Uint8Array[], nowMs = 0): AssemblyResult[] {
  return reports.map((report) => {
    const packet = parsed(report);
    return assembler.add(packet, nowMs);
  });
}

describe('the wire constants', () => {
  it('are those of CTAPHID (64-byte reports, 7- and 5-byte headers) and the token', () => {
    expect(HID_REPORT_BYTES).toBe(64);
    expect(INIT_DATA_BYTES).toBe(57);
    expect(CONT_DATA_BYTES).toBe(59);
    expect(MAX_SEQUENCE).toBe(127);
    expect(MAX_HID_PAYLOAD_BYTES).toBe(1024);
    expect(HID_TRANSACTION_TIMEOUT_MS).toBe(500);
    expect(BROADCAST_CHANNEL).toBe(0xffffffff);
    expect(HID_COMMAND).toEqual(CMD);
    expect(HID_ERROR).toEqual(ERR);
  });

  it('names every error code, and no other', () => {
    for (const [name, code] of Object.entries(ERR)) expect(hidErrorName(code)).toBe(name);
    for (let code = 0; code < 256; code++) {
      if (!Object.values(ERR).includes(code as never)) expect(hidErrorName(code)).toBeUndefined();
    }
  });
});

describe('fragment, parsePacket and MessageAssembler round-trip every payload size', () => {
  it(`0 to ${MAX_HID_PAYLOAD_BYTES} bytes: the hand-cut layout, the right report count, and the same payload back`, () => {
    const next = xorshift32(0x41d);
    const assembler = new MessageAssembler();
    let totalReports = 0;
    for (let size = 0; size <= MAX_HID_PAYLOAD_BYTES; size++) {
      const payload = randomBytes(next, size);
      const channel = next() || 1;
      const command = [HID_COMMAND.MESSAGE, HID_COMMAND.PING, HID_COMMAND.EVENT][size % 3]!;
      const reports = fragment(channel, command, payload);
      totalReports += reports.length;
      expect(reports.length, `size ${size}`).toBe(reportCount(size));
      // Byte for byte the layout written out by hand, zero padded.
      expect(reports, `size ${size}`).toEqual(refReports(channel, command, payload));
      for (const report of reports) expect(report.length).toBe(HID_REPORT_BYTES);

      const first = init(reports[0]!);
      expect(first).toMatchObject({ kind: 'init', channel, command, length: size });
      reports.slice(1).forEach((report, i) => expect(cont(report)).toMatchObject({ kind: 'cont', channel, sequence: i }));

      const results = feed(assembler, reports, size);
      for (const result of results.slice(0, -1)) expect(result, `size ${size}`).toEqual({ kind: 'pending' });
      const last = results.at(-1)!;
      expect(last.kind, `size ${size}`).toBe('complete');
      if (last.kind !== 'complete') continue;
      expect(last.channel).toBe(channel);
      expect(last.command).toBe(command);
      expect(last.payload).toEqual(payload);
      expect(assembler.busyChannel).toBeUndefined();
    }
    expect(totalReports).toBe(Array.from({ length: MAX_HID_PAYLOAD_BYTES + 1 }, (_, size) => reportCount(size)).reduce((a, b) => a + b));
  });

  it('the payload comes back as a copy: reusing the assembler does not change a message already taken', () => {
    const assembler = new MessageAssembler();
    const a = feed(assembler, fragment(1, 1, new Uint8Array(100).fill(0xaa))).at(-1)!;
    feed(assembler, fragment(1, 1, new Uint8Array(100).fill(0x55)));
    expect(a.kind === 'complete' && a.payload.every((b) => b === 0xaa)).toBe(true);
  });

  it.each([
    [0, 1],
    [1, 1],
    [57, 1],
    [58, 2],
    [57 + 59, 2],
    [57 + 59 + 1, 3],
    [57 + 59 * 2, 3],
    [57 + 59 * 2 + 1, 4],
    [57 + 59 * 16, 17],
    [57 + 59 * 16 + 1, 18],
    [1024, 18],
  ])('a %i-byte payload takes %i reports (57 + 59n boundaries)', (size, count) => {
    expect(fragment(7, HID_COMMAND.MESSAGE, new Uint8Array(size))).toHaveLength(count);
  });

  it('CONT sequence numbers run 0..127: the framing carries at most 57 + 128 × 59 bytes', () => {
    const most = INIT_DATA_BYTES + (MAX_SEQUENCE + 1) * CONT_DATA_BYTES;
    expect(most).toBe(7609);
    const reports = fragment(9, HID_COMMAND.MESSAGE, new Uint8Array(most));
    expect(reports).toHaveLength(129);
    expect(cont(reports.at(-1)!).sequence).toBe(127);
    expect(() => fragment(9, HID_COMMAND.MESSAGE, new Uint8Array(most + 1))).toThrow(RangeError);
  });

  it('writes the channel and length big-endian, and the INIT bit over the command', () => {
    const [report] = fragment(0x01020304, HID_COMMAND.MESSAGE, new Uint8Array(0x0102)) as [Uint8Array];
    expect([...report.subarray(0, 7)]).toEqual([1, 2, 3, 4, 0x80 | 0x40, 0x01, 0x02]);
    const [broadcast] = fragment(BROADCAST_CHANNEL, HID_COMMAND.INIT, new Uint8Array(8)) as [Uint8Array];
    expect([...broadcast.subarray(0, 7)]).toEqual([0xff, 0xff, 0xff, 0xff, 0x86, 0, 8]);
  });
});

describe('parsePacket', () => {
  it('rejects every report that is not exactly 64 bytes', () => {
    for (let length = 0; length <= 200; length++) {
      const report = new Uint8Array(length).fill(0x86);
      if (length === HID_REPORT_BYTES) expect(parsePacket(report)).toBeDefined();
      else expect(parsePacket(report), `${length} bytes`).toBeUndefined();
    }
  });

  it('reads INIT by the top bit of byte 4, CONT otherwise, with every sequence number', () => {
    for (let byte = 0; byte < 256; byte++) {
      const report = new Uint8Array(64);
      report.set([0xde, 0xad, 0xbe, 0xef, byte, 0x03, 0xff]);
      const packet = parsed(report);
      if (byte & 0x80) expect(packet).toMatchObject({ kind: 'init', channel: 0xdeadbeef, command: byte & 0x7f, length: 0x03ff });
      else expect(packet).toMatchObject({ kind: 'cont', channel: 0xdeadbeef, sequence: byte });
      expect(packet.data.length).toBe(byte & 0x80 ? 57 : 59);
    }
  });

  it('reads a report that is a view into a larger buffer (as a Node Buffer from a socket is)', () => {
    const pool = new Uint8Array(300).fill(0xee);
    const original = initReport(0x0a0b0c0d, HID_COMMAND.PING, 3, Uint8Array.of(1, 2, 3));
    pool.set(original, 37);
    const packet = parsed(pool.subarray(37, 37 + 64));
    expect(packet).toMatchObject({ kind: 'init', channel: 0x0a0b0c0d, command: HID_COMMAND.PING, length: 3 });
    expect([...packet.data.subarray(0, 3)]).toEqual([1, 2, 3]);
  });
});

describe('sealBody and openBody', () => {
  it('append the CRC-32 (node:zlib) big-endian, and take it off again', () => {
    for (const body of ['', '>1 info', '<1 ok serial=40000001', '!0 boot serial=12345678', 'x'.repeat(246)]) {
      const sealed = sealBody(body);
      expect(sealed).toEqual(refSeal(body));
      expect(new DataView(sealed.buffer).getUint32(body.length)).toBe(refCrc32(Uint8Array.from(body, (c) => c.charCodeAt(0))));
      expect(openBody(sealed)).toBe(body);
    }
  });

  it('detect every single-bit flip of a sealed message, in the body and in the CRC', () => {
    const sample = sealBody('>42 enroll mode=hotp digits=6');
    let flips = 0;
    for (let byte = 0; byte < sample.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = sample.slice();
        damaged[byte]! ^= 1 << bit;
        expect(openBody(damaged), `byte ${byte} bit ${bit}`).toBeUndefined();
        flips++;
      }
    }
    expect(flips).toBe(sample.length * 8);
  });

  it('refuse payloads too short to hold a CRC', () => {
    for (let length = 0; length < 4; length++) expect(openBody(new Uint8Array(length))).toBeUndefined();
    expect(openBody(sealBody(''))).toBe('');
  });

  it('open a payload that is a view into a larger buffer', () => {
    const sealed = sealBody('>7 status');
    const pool = new Uint8Array(100).fill(0x11);
    pool.set(sealed, 13);
    expect(openBody(pool.subarray(13, 13 + sealed.length))).toBe('>7 status');
  });
});

describe('MessageAssembler refuses what is not one whole message', () => {
  const payload = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff); // INIT + 5 CONTs (seq 0..4)
  const channel = 0x11223344;
  const reports = refReports(channel, HID_COMMAND.MESSAGE, payload);

  it.each([
    ['a skipped CONT (lost packet)', [0, 2]],
    ['a duplicated CONT', [0, 1, 1]],
    ['reordered CONTs', [0, 2, 1]],
    ['CONTs swapped at the start', [1, 0]],
    ['a CONT that starts at 1', [1]],
  ])('%s → INVALID_SEQ, and the assembler is idle again', (_name, order) => {
    const assembler = new MessageAssembler();
    expect(assembler.add(init(reports[0]!), 0)).toEqual({ kind: 'pending' });
    const results = order.map((i) => assembler.add(cont(reports[i + 1]!), 1));
    // The first CONT out of place is the error; what comes after it is ignored.
    const wrong = order.findIndex((sequence, i) => sequence !== i);
    results.forEach((result, i) =>
      expect(result, `CONT ${i}`).toEqual(i === wrong ? { kind: 'error', channel, error: HID_ERROR.INVALID_SEQ } : { kind: 'pending' }),
    );
    expect(assembler.busyChannel).toBeUndefined();
    // The rest of the broken message is ignored, not assembled into something.
    for (const report of reports.slice(1)) expect(assembler.add(cont(report), 2)).toEqual({ kind: 'pending' });
    // And the next message goes through.
    expect(feed(assembler, reports, 3).at(-1)).toMatchObject({ kind: 'complete', channel, payload });
  });

  it('a first CONT with any sequence number but 0 (1..127) → INVALID_SEQ', () => {
    for (let sequence = 1; sequence <= MAX_SEQUENCE; sequence++) {
      const assembler = new MessageAssembler();
      assembler.add(init(reports[0]!), 0);
      expect(assembler.add(cont(contReport(channel, sequence)), 0)).toEqual({ kind: 'error', channel, error: HID_ERROR.INVALID_SEQ });
    }
  });

  it('over-long declared lengths → INVALID_LEN (and nothing is left pending)', () => {
    const assembler = new MessageAssembler();
    for (const length of [MAX_HID_PAYLOAD_BYTES + 1, 2048, 0xffff]) {
      expect(assembler.add(init(initReport(5, HID_COMMAND.MESSAGE, length)), 0)).toEqual({ kind: 'error', channel: 5, error: HID_ERROR.INVALID_LEN });
      expect(assembler.busyChannel).toBeUndefined();
    }
    expect(assembler.add(init(initReport(5, HID_COMMAND.MESSAGE, MAX_HID_PAYLOAD_BYTES)), 0)).toEqual({ kind: 'pending' });
    const small = new MessageAssembler(100);
    expect(small.add(init(initReport(6, HID_COMMAND.MESSAGE, 101)), 0)).toEqual({ kind: 'error', channel: 6, error: HID_ERROR.INVALID_LEN });
    expect(feed(small, fragment(6, HID_COMMAND.MESSAGE, new Uint8Array(100).fill(3))).at(-1)).toMatchObject({ kind: 'complete' });
  });

  it('a length the 128 sequence numbers cannot carry → INVALID_LEN when they run out', () => {
    const assembler = new MessageAssembler(8000);
    expect(assembler.add(init(initReport(8, HID_COMMAND.MESSAGE, 7610)), 0)).toEqual({ kind: 'pending' });
    for (let sequence = 0; sequence < MAX_SEQUENCE; sequence++) expect(assembler.add(cont(contReport(8, sequence)), 0)).toEqual({ kind: 'pending' });
    expect(assembler.add(cont(contReport(8, MAX_SEQUENCE)), 0)).toEqual({ kind: 'error', channel: 8, error: HID_ERROR.INVALID_LEN });
    expect(assembler.busyChannel).toBeUndefined();
  });

  it("ignores CONTs of another channel, and CONTs when nothing is pending", () => {
    const assembler = new MessageAssembler();
    expect(assembler.add(cont(reports[1]!), 0)).toEqual({ kind: 'pending' });
    expect(assembler.busyChannel).toBeUndefined();
    assembler.add(init(reports[0]!), 0);
    expect(assembler.add(cont(contReport(channel + 1, 0)), 0)).toEqual({ kind: 'pending' });
    expect(assembler.busyChannel).toBe(channel);
    expect(feed(assembler, reports.slice(1), 0).at(-1)).toMatchObject({ kind: 'complete', channel, payload });
  });

  it('notes when the last packet came (the token times the message out HID_TRANSACTION_TIMEOUT_MS later)', () => {
    const assembler = new MessageAssembler();
    assembler.add(init(reports[0]!), 1000);
    expect(assembler.busyChannel).toBe(channel);
    expect(assembler.lastPacketAt).toBe(1000);
    // Each packet moves it on; one of another channel does not.
    assembler.add(cont(reports[1]!), 1400);
    expect(assembler.lastPacketAt).toBe(1400);
    assembler.add(cont(contReport(channel + 1, 1)), 1450);
    expect(assembler.lastPacketAt).toBe(1400);
    expect(assembler.busyChannel).toBe(channel);
  });

  it('busyChannel = undefined drops a half-received message (a timeout, an abort); a new INIT begins again at sequence 0', () => {
    const assembler = new MessageAssembler();
    assembler.add(init(reports[0]!), 0);
    assembler.add(cont(reports[1]!), 0);
    assembler.busyChannel = undefined;
    // The rest of the dropped message does not complete anything.
    for (const report of reports.slice(2)) expect(assembler.add(cont(report), 0)).toEqual({ kind: 'pending' });
    assembler.add(init(reports[0]!), 0);
    assembler.add(cont(reports[1]!), 0);
    assembler.add(init(reports[0]!), 0);
    expect(feed(assembler, reports.slice(1), 0).at(-1)).toMatchObject({ kind: 'complete', channel, payload });
  });
});
