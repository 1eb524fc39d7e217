/**
 * The firmware's HID link, in process: a SimToken whose HID transport is captured, driven by a
 * reference host that cuts reports by hand (test/support/hid-rig.ts) and a virtual clock. Channel
 * allocation, every payload size, every kind of packet fault (each with its coded error or its
 * timeout, and the next message working), events to every channel, keepalive while a wipe waits,
 * CANCEL, and one token with one counter across a line link and a HID link.
 */
import { describe, expect, it } from 'vitest';
import { decodeLine, encodeLine } from '../../protocol/framing/line.ts';
import type { Message } from '../../protocol/message.ts';
import { referenceHotp } from '../../test/support/oath-reference.ts';
import { randomBytes, seededBytes, xorshift32 } from '../../test/support/random.ts';
import { SimRng } from '../sim/sim-parts.ts';
import { HidLink } from './hid-link.ts';
import {
  BROADCAST,
  CMD,
  CapturingHidTransport,
  ERR,
  SEED_HEX,
  UPNEEDED,
  channelOf,
  contReport,
  createHidRig,
  frameMessage,
  initReport,
  refReports,
  refSeal,
  reportCount,
  type HidFrame,
  type HidRig,
} from '../../test/support/hid-rig.ts';

const MAX_PAYLOAD = 1024;
const TIMEOUT_MS = 500;
/** Past the time a code stays shown (a press while one is shown makes no new code). */
const DISPLAY_MS = 31_000;
const SEED = Buffer.from(SEED_HEX, 'hex');
const ENROLL = { secret: SEED_HEX, mode: 'hotp', algorithm: 'sha1', digits: '6' };

const error = (channel: number, code: number): Partial<HidFrame> => ({ channel, command: CMD.ERROR, payload: Uint8Array.of(code) });
const expectFrames = (frames: HidFrame[], expected: Partial<HidFrame>[]) => expect(frames).toMatchObject(expected);

/** A request body long enough to take several reports: enroll with a 64-byte seed is 187 bytes (INIT + 3 CONTs). */
function longRequest(id: number): string {
  return `>${id} enroll secret=${'ab'.repeat(64)} mode=hotp algorithm=sha512 digits=8`;
}

function responses(frames: HidFrame[], channel: number): Message[] {
  return frames.filter((f) => f.channel === channel && f.command === CMD.MESSAGE).map(frameMessage);
}

/** A request cut into reports, for tests that send only some of them. */
function requestReports(channel: number, body: string): Uint8Array[] {
  const reports = refReports(channel, CMD.MESSAGE, refSeal(body));
  expect(reports.length).toBeGreaterThanOrEqual(3);
  return reports;
}

/** The next message on the channel works: a status request is answered there. */
function expectWorking(rig: HidRig, channel: number): void {
  const answer = rig.request(channel, 'status', {}, 500);
  expect(answer).toMatchObject([{ kind: 'response', id: 500, ok: true, fields: { enrolled: expect.any(String) } }]);
}

describe('channel allocation', () => {
  it('a broadcast INIT gets the nonce back with a new channel (not 0, not broadcast), the protocol and firmware versions, and the NMSG capability', () => {
    const rig = createHidRig();
    const nonce = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const frames = rig.deliver([initReport(BROADCAST, CMD.INIT, 8, nonce)]);
    expect(frames).toHaveLength(1);
    const [frame] = frames as [HidFrame];
    expect(frame).toMatchObject({ channel: BROADCAST, command: CMD.INIT });
    expect(frame.payload).toHaveLength(17);
    expect([...frame.payload.subarray(0, 8)]).toEqual([...nonce]);
    const channel = channelOf(frame.payload.subarray(8, 12));
    expect(channel).not.toBe(0);
    expect(channel).not.toBe(BROADCAST);
    expect(frame.payload[12]).toBe(1); // protocol version
    expect([...frame.payload.subarray(13, 16)]).toEqual([0, 1, 0]); // firmware 0.1.0
    expect(frame.payload[16]).toBe(0x08); // capabilities: NMSG only (no MSG, no WINK, no CBOR)
    // And the channel is usable.
    expect(rig.ok(channel, 'hello')).toMatchObject({ proto: '1', serial: '40000001' });
  });

  it('every allocation gets a channel of its own', () => {
    const rig = createHidRig();
    const channels = Array.from({ length: 8 }, () => rig.allocate());
    expect(new Set(channels).size).toBe(8);
    for (const channel of channels) {
      expect(channel).not.toBe(0);
      expect(channel).not.toBe(BROADCAST);
      expect(rig.ok(channel, 'hello').serial).toBe('40000001');
    }
  });

  it('keeps 8 channels: a 9th host takes the place of the one used longest ago', () => {
    const rig = createHidRig();
    const channels = Array.from({ length: 8 }, () => rig.allocate());
    rig.ok(channels[0]!, 'hello'); // channel 1 is now the one used longest ago
    const ninth = rig.allocate();
    expect(rig.ok(ninth, 'hello').serial).toBe('40000001');
    expect(rig.ok(channels[0]!, 'hello').serial).toBe('40000001');
    expectFrames(rig.message(channels[1]!, '>1 hello'), [error(channels[1]!, ERR.INVALID_CHANNEL)]);
  });

  it('INIT on an allocated channel resets it: the same channel back, a half-sent message dropped, no timeout after', () => {
    const rig = createHidRig();
    const channel = rig.allocate();
    const reports = requestReports(channel, longRequest(3));
    expect(rig.deliver(reports.slice(0, 2))).toEqual([]);
    const nonce = Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2);
    const [frame, ...rest] = rig.deliver([initReport(channel, CMD.INIT, 8, nonce)]);
    expect(rest).toEqual([]);
    expect(frame).toMatchObject({ channel, command: CMD.INIT });
    expect([...frame!.payload.subarray(0, 8)]).toEqual([...nonce]);
    expect(channelOf(frame!.payload.subarray(8, 12))).toBe(channel);
    // The dropped message neither times out nor blocks anyone, and its tail is ignored.
    rig.token.advance(2 * TIMEOUT_MS);
    expect(rig.frames()).toEqual([]);
    expect(rig.deliver(reports.slice(2))).toEqual([]);
    const other = rig.allocate();
    expectWorking(rig, other);
    expectWorking(rig, channel);
  });

  it.each([0, 1, 7, 9, 16, 17, 57, 58, 1024])('INIT with a length of %i (not 8) → INVALID_LEN', (length) => {
    const rig = createHidRig();
    const channel = rig.allocate();
    const nonce = Uint8Array.from({ length: 57 }, (_, i) => i + 1);
    expectFrames(rig.deliver([initReport(BROADCAST, CMD.INIT, length, nonce)]), [error(BROADCAST, ERR.INVALID_LEN)]);
    expectFrames(rig.deliver([initReport(channel, CMD.INIT, length, nonce)]), [error(channel, ERR.INVALID_LEN)]);
    // A multi-report INIT's CONTs are no message either.
    expect(rig.deliver([contReport(BROADCAST, 0), contReport(channel, 0)])).toEqual([]);
    expectWorking(rig, channel);
  });

  it('a message, PING or INIT on a channel that was never allocated → INVALID_CHANNEL on that channel', () => {
    const rig = createHidRig();
    const allocated = rig.allocate();
    const next = xorshift32(99);
    const channels = [0, 1, allocated + 1, allocated - 1, ...Array.from({ length: 20 }, () => next())].filter((c) => c !== allocated && c !== BROADCAST);
    for (const channel of channels) {
      expectFrames(rig.message(channel, '>1 info'), [error(channel, ERR.INVALID_CHANNEL)]);
      expectFrames(rig.deliver([initReport(channel, CMD.PING, 1, Uint8Array.of(5))]), [error(channel, ERR.INVALID_CHANNEL)]);
      expectFrames(rig.deliver([initReport(channel, CMD.INIT, 8, new Uint8Array(8))]), [error(channel, ERR.INVALID_CHANNEL)]);
    }
    // Only INIT is taken on the broadcast channel.
    expectFrames(rig.message(BROADCAST, '>1 info'), [error(BROADCAST, ERR.INVALID_CHANNEL)]);
    expectWorking(rig, allocated);
  });

  it('a command the token does not take from a host → INVALID_CMD', () => {
    const rig = createHidRig();
    const channel = rig.allocate();
    for (const command of [0x00, CMD.KEEPALIVE, CMD.ERROR, CMD.EVENT, 0x7f]) {
      expectFrames(rig.deliver([initReport(channel, command, 0)]), [error(channel, ERR.INVALID_CMD)]);
    }
    expectWorking(rig, channel);
  });

  it('ignores reports that are not 64 bytes', () => {
    const rig = createHidRig();
    const channel = rig.allocate();
    const good = refReports(channel, CMD.PING, Uint8Array.of(1, 2, 3))[0]!;
    for (const length of [0, 1, 4, 7, 63, 65, 128]) {
      const report = new Uint8Array(length);
      report.set(good.subarray(0, Math.min(length, 64)));
      expect(rig.deliver([report])).toEqual([]);
    }
    expectWorking(rig, channel);
  });
});

describe('messages', () => {
  it(`PING echoes payloads of every size from 0 to ${MAX_PAYLOAD} bytes, on the channel it came on`, () => {
    const rig = createHidRig();
    const channel = rig.allocate();
    const other = rig.allocate();
    const next = xorshift32(0x9196);
    for (let size = 0; size <= MAX_PAYLOAD; size++) {
      const payload = randomBytes(next, size);
      for (const report of refReports(channel, CMD.PING, payload)) rig.token.receive(rig.hidLink, report);
      const reports = rig.hid.takeReports();
      expect(reports.length, `size ${size}`).toBe(reportCount(size));
      // The echo, byte for byte, is the request's own reports: same channel, command, length, data.
      const frames = refReports(channel, CMD.PING, payload);
      expect(reports.map((r) => r.report), `size ${size}`).toEqual(frames);
    }
    expect(rig.ok(channel, 'hello').serial).toBe('40000001');
    expect(rig.deliver(refReports(other, CMD.PING, Uint8Array.of(42)))).toMatchObject([{ channel: other, command: CMD.PING, payload: Uint8Array.of(42) }]);
  });

  it('a payload over the maximum → INVALID_LEN at once, and the channel works after', () => {
    const rig = createHidRig();
    const channel = rig.allocate();
    for (const length of [MAX_PAYLOAD + 1, 0xffff]) {
      expectFrames(rig.deliver([initReport(channel, CMD.PING, length)]), [error(channel, ERR.INVALID_LEN)]);
      // Its CONTs, should the host go on sending, are nothing.
      expect(rig.deliver([contReport(channel, 0), contReport(channel, 1)])).toEqual([]);
    }
    rig.token.advance(TIMEOUT_MS * 2);
    expect(rig.frames()).toEqual([]);
    expect(rig.deliver(refReports(channel, CMD.PING, new Uint8Array(MAX_PAYLOAD).fill(7)))).toMatchObject([{ channel, command: CMD.PING }]);
  });

  it('a request in MESSAGE is answered in MESSAGE on the same channel, and only there', () => {
    const rig = createHidRig();
    const a = rig.allocate();
    const b = rig.allocate();
    const frames = rig.message(b, '>77 info');
    expect(frames.map((f) => [f.channel, f.command])).toEqual([[b, CMD.MESSAGE]]);
    expect(frameMessage(frames[0]!)).toMatchObject({ kind: 'response', id: 77, ok: true, fields: { serial: '40000001', model: 'NV1', enrolled: '0' } });
    expect(rig.request(a, 'hello', {}, 78)).toMatchObject([{ kind: 'response', id: 78, ok: true }]);
  });

  it('a request that takes several reports (enroll with a 64-byte seed) is put together and run', () => {
    const rig = createHidRig();
    const channel = rig.allocate();
    const reports = requestReports(channel, longRequest(12));
    const frames = rig.deliver(reports);
    expect(responses(frames, channel)).toMatchObject([{ kind: 'response', id: 12, ok: true, fields: { counter: '0' } }]);
    expect(rig.ok(channel, 'info')).toMatchObject({ enrolled: '1', algorithm: 'sha512', digits: '8' });
  });

  it('a MESSAGE whose CRC is wrong → err bad_crc (id 0), for a flip anywhere; the next message works', () => {
    const rig = createHidRig();
    const channel = rig.allocate();
    const sealed = refSeal('>5 info');
    for (let byte = 0; byte < sealed.length; byte++) {
      const damaged = sealed.slice();
      damaged[byte]! ^= 0x10;
      const answer = responses(rig.deliver(refReports(channel, CMD.MESSAGE, damaged)), channel);
      expect(answer, `byte ${byte}`).toEqual([{ kind: 'response', id: 0, ok: false, fields: { code: 'bad_crc' } }]);
    }
    expect(responses(rig.deliver(refReports(channel, CMD.MESSAGE, new Uint8Array(3))), channel)).toMatchObject([{ ok: false, fields: { code: 'bad_crc' } }]);
    expectWorking(rig, channel);
  });

  it('a MESSAGE with a good CRC but a bad body gets its coded error', () => {
    const rig = createHidRig();
    const channel = rig.allocate();
    const ask = (body: string) => responses(rig.message(channel, body), channel);
    expect(ask('>9 frobnicate')).toEqual([{ kind: 'response', id: 9, ok: false, fields: { code: 'unknown_command' } }]);
    expect(ask('>9 info\u0001')).toMatchObject([{ ok: false, fields: { code: 'bad_frame', detail: 'charset' } }]);
    expect(ask('<9 ok')).toMatchObject([{ ok: false, fields: { code: 'bad_frame', detail: 'kind' } }]);
    expect(ask(`>9 info x=${'y'.repeat(300)}`)).toMatchObject([{ ok: false, fields: { code: 'too_long' } }]);
    expect(ask('')).toMatchObject([{ ok: false, fields: { code: 'bad_frame' } }]);
    expectWorking(rig, channel);
  });
});

describe('packet faults: each gets its coded error or a timeout, and the next message works', () => {
  function setup() {
    const rig = createHidRig();
    const channel = rig.allocate();
    const reports = requestReports(channel, longRequest(20)); // INIT, CONT 0, 1, 2
    return { rig, channel, reports };
  }

  it(`a lost last CONT: MSG_TIMEOUT ${TIMEOUT_MS} ms after the last packet, not before`, () => {
    const { rig, channel, reports } = setup();
    const start = rig.token.clock.now();
    expect(rig.deliver(reports.slice(0, 2))).toEqual([]);
    rig.token.advance(300);
    expect(rig.deliver([reports[2]!])).toEqual([]); // the deadline moves on with each packet
    rig.token.advance(TIMEOUT_MS - 1);
    expect(rig.frames()).toEqual([]);
    rig.token.advance(1);
    const frames = rig.frames();
    expectFrames(frames, [error(channel, ERR.MSG_TIMEOUT)]);
    expect(frames[0]!.at).toBe(start + 300 + TIMEOUT_MS);
    // The lost packet turning up late is no message, and the request never ran.
    expect(rig.deliver([reports[3]!])).toEqual([]);
    expect(rig.ok(channel, 'info').enrolled).toBe('0');
    // The same request sent whole goes through.
    expect(responses(rig.deliver(reports), channel)).toMatchObject([{ kind: 'response', id: 20, ok: true }]);
  });

  it('a lost CONT in the middle → INVALID_SEQ at the next one; the rest is ignored and nothing times out later', () => {
    const { rig, channel, reports } = setup();
    const frames = rig.deliver([reports[0]!, reports[1]!, reports[3]!]);
    expectFrames(frames, [error(channel, ERR.INVALID_SEQ)]);
    expect(frames).toHaveLength(1);
    expect(rig.deliver([reports[2]!])).toEqual([]);
    rig.token.advance(TIMEOUT_MS * 3);
    expect(rig.frames()).toEqual([]);
    expect(responses(rig.deliver(reports), channel)).toMatchObject([{ id: 20, ok: true }]);
  });

  it('a duplicated CONT → INVALID_SEQ', () => {
    const { rig, channel, reports } = setup();
    const frames = rig.deliver([reports[0]!, reports[1]!, reports[2]!, reports[2]!, reports[3]!]);
    expect(frames).toHaveLength(1);
    expectFrames(frames, [error(channel, ERR.INVALID_SEQ)]);
    expect(rig.ok(channel, 'info').enrolled).toBe('0');
    expectWorking(rig, channel);
  });

  it('reordered CONTs → INVALID_SEQ', () => {
    const { rig, channel, reports } = setup();
    const frames = rig.deliver([reports[0]!, reports[2]!, reports[1]!, reports[3]!]);
    expect(frames).toHaveLength(1);
    expectFrames(frames, [error(channel, ERR.INVALID_SEQ)]);
    expect(rig.ok(channel, 'info').enrolled).toBe('0');
    expectWorking(rig, channel);
  });

  it('a new message started on the channel before the last one ended → INVALID_SEQ, and both are dropped', () => {
    const { rig, channel, reports } = setup();
    expect(rig.deliver(reports.slice(0, 2))).toEqual([]);
    expectFrames(rig.message(channel, '>21 info'), [error(channel, ERR.INVALID_SEQ)]);
    rig.token.advance(TIMEOUT_MS * 2);
    expect(rig.frames()).toEqual([]);
    expectWorking(rig, channel);
  });

  it(`a truncated message (INIT only, the rest never sent) → MSG_TIMEOUT after ${TIMEOUT_MS} ms`, () => {
    const { rig, channel, reports } = setup();
    expect(rig.deliver([reports[0]!])).toEqual([]);
    rig.token.advance(TIMEOUT_MS - 1);
    expect(rig.frames()).toEqual([]);
    rig.token.advance(1);
    expectFrames(rig.frames(), [error(channel, ERR.MSG_TIMEOUT)]);
    rig.token.advance(TIMEOUT_MS * 4);
    expect(rig.frames()).toEqual([]); // one timeout, not one a tick
    expectWorking(rig, channel);
  });

  it('a second channel interrupting a half-sent message → CHANNEL_BUSY on the second; the first completes; then the second works', () => {
    const { rig, channel: first, reports } = setup();
    const second = rig.allocate();
    expect(rig.deliver(reports.slice(0, 2))).toEqual([]);
    expectFrames(rig.message(second, '>30 info'), [error(second, ERR.CHANNEL_BUSY)]);
    expectFrames(rig.deliver([initReport(second, CMD.PING, 1, Uint8Array.of(1))]), [error(second, ERR.CHANNEL_BUSY)]);
    // CONTs from the second channel are not taken into the first's message.
    expect(rig.deliver([contReport(second, 1, new Uint8Array(59).fill(0x41))])).toEqual([]);
    const done = rig.deliver(reports.slice(2));
    expect(done.map((f) => f.channel)).toEqual([first]);
    expect(responses(done, first)).toMatchObject([{ kind: 'response', id: 20, ok: true, fields: { counter: '0' } }]);
    expect(rig.request(second, 'info', {}, 31)).toMatchObject([{ kind: 'response', id: 31, ok: true, fields: { enrolled: '1', digits: '8' } }]);
  });

  it('a host that vanishes mid-message: others are busy until the timeout, then a fresh channel works', () => {
    const { rig, channel: gone, reports } = setup();
    const waiting = rig.allocate();
    expect(rig.deliver(reports.slice(0, 2))).toEqual([]);
    rig.token.advance(250);
    expectFrames(rig.message(waiting, '>40 status'), [error(waiting, ERR.CHANNEL_BUSY)]);
    rig.token.advance(250);
    expectFrames(rig.frames(), [error(gone, ERR.MSG_TIMEOUT)]);
    const fresh = rig.allocate();
    expect(fresh).not.toBe(gone);
    expect(rig.request(fresh, 'info', {}, 41)).toMatchObject([{ kind: 'response', id: 41, ok: true, fields: { serial: '40000001', enrolled: '0' } }]);
    expect(rig.request(waiting, 'status', {}, 42)).toMatchObject([{ kind: 'response', id: 42, ok: true }]);
  });
});

describe('HidLink on its own (no firmware timer)', () => {
  it('a packet that arrives after the deadline finds the old message timed out, even if expire() was never called', () => {
    const hid = new CapturingHidTransport();
    const requests: number[] = [];
    const link = new HidLink(hid, { onRequest: (request) => requests.push(request.id), endConfirm: () => {} }, new SimRng(seededBytes(3)), [0, 1, 0]);
    link.receive(initReport(BROADCAST, CMD.INIT, 8, new Uint8Array(8)), 0);
    const [init] = hid.takeFrames();
    const channel = channelOf(init!.payload.subarray(8, 12));
    const reports = requestReports(channel, longRequest(9));
    link.receive(reports[0]!, 1000);
    expect(link.expire(1000)).toBe(1000 + TIMEOUT_MS);
    for (const report of reports.slice(1)) link.receive(report, 1000 + TIMEOUT_MS);
    expectFrames(hid.takeFrames(), [error(channel, ERR.MSG_TIMEOUT)]);
    expect(requests).toEqual([]);
    expect(link.expire(1000 + TIMEOUT_MS)).toBeNull();
    for (const report of reports) link.receive(report, 2000);
    expect(requests).toEqual([9]);
  });
});

describe('events, keepalive and CANCEL', () => {
  it('a press event reaches every allocated channel, each with a good CRC and the same code', () => {
    const rig = createHidRig();
    const channels = [rig.allocate(), rig.allocate(), rig.allocate()];
    expect(rig.ok(channels[1]!, 'enroll', ENROLL)).toEqual({ counter: '0' });
    for (const counter of [0, 1]) {
      rig.token.advance(DISPLAY_MS); // a press while a code is shown only shows it longer
      rig.token.press();
      const frames = rig.frames();
      expect(frames.map((f) => f.command)).toEqual([CMD.EVENT, CMD.EVENT, CMD.EVENT]);
      expect(new Set(frames.map((f) => f.channel))).toEqual(new Set(channels));
      const code = referenceHotp(SEED, counter);
      for (const frame of frames) expect(frameMessage(frame)).toMatchObject({ kind: 'event', name: 'press', fields: { code, counter: String(counter) } });
      expect(rig.token.readDisplay().replace(/\s/g, '')).toContain(code);
    }
  });

  it('a wipe waiting for the hold sends KEEPALIVE UPNEEDED every 100 ms to its channel; CANCEL ends it with denied cancelled', () => {
    const rig = createHidRig();
    const channel = rig.allocate();
    const bystander = rig.allocate();
    rig.ok(channel, 'enroll', ENROLL);
    const start = rig.token.clock.now();
    const asked = rig.request(channel, 'wipe', {}, 60);
    expect(asked).toMatchObject([{ kind: 'event', name: 'confirm', fields: { op: 'wipe' } }]);
    rig.frames();
    rig.token.advance(1050);
    const keepalives = rig.frames();
    expect(keepalives.length).toBe(10);
    keepalives.forEach((frame, i) => {
      expect(frame).toMatchObject({ channel, command: CMD.KEEPALIVE, payload: Uint8Array.of(UPNEEDED) });
      expect(frame.at - start).toBe(100 * (i + 1));
    });
    // A CANCEL on another channel is not this request's.
    expect(rig.deliver([initReport(bystander, CMD.CANCEL, 0)])).toEqual([]);
    rig.token.advance(100);
    expectFrames(rig.frames(), [{ channel, command: CMD.KEEPALIVE }]);
    // The host's CANCEL ends the wait.
    const cancelled = rig.deliver([initReport(channel, CMD.CANCEL, 0)]);
    expect(responses(cancelled, channel)).toEqual([{ kind: 'response', id: 60, ok: false, fields: { code: 'denied', detail: 'cancelled' } }]);
    expect(cancelled.every((f) => f.channel === channel)).toBe(true);
    rig.token.advance(1000);
    expect(rig.frames()).toEqual([]);
    // Nothing was wiped, and the token takes new work.
    expect(rig.ok(channel, 'info')).toMatchObject({ enrolled: '1' });
    expect(rig.ok(bystander, 'status')).toMatchObject({ busy: '0' });
  });

  it('two hosts using the same request ID: the waiting wipe keeps its keepalives, its CANCEL and its answer', () => {
    // Each host numbers its own requests (the bridge's sessions start at 1), so IDs repeat across channels.
    const rig = createHidRig();
    const first = rig.allocate();
    const second = rig.allocate();
    rig.ok(first, 'enroll', ENROLL);
    rig.request(first, 'wipe', {}, 2);
    expect(rig.request(second, 'status', {}, 2)).toMatchObject([{ kind: 'response', id: 2, ok: true, fields: { busy: '1' } }]);
    expect(rig.request(second, 'wipe', {}, 2)).toMatchObject([{ kind: 'response', id: 2, ok: false, fields: { code: 'busy' } }]);
    rig.token.advance(300);
    expectFrames(rig.frames(), [1, 2, 3].map(() => ({ channel: first, command: CMD.KEEPALIVE })));
    // The second host's CANCEL is not for the first host's request, though the IDs are the same.
    expect(rig.deliver([initReport(second, CMD.CANCEL, 0)])).toEqual([]);
    const cancelled = rig.deliver([initReport(first, CMD.CANCEL, 0)]);
    expect(cancelled.map((f) => f.channel)).toEqual([first]);
    expect(responses(cancelled, first)).toEqual([{ kind: 'response', id: 2, ok: false, fields: { code: 'denied', detail: 'cancelled' } }]);
  });

  it('two hosts using the same request ID: a wipe confirmed by a hold is answered to the host that asked', () => {
    const rig = createHidRig();
    const first = rig.allocate();
    const second = rig.allocate();
    rig.ok(first, 'enroll', ENROLL);
    rig.request(first, 'wipe', {}, 2);
    rig.request(second, 'info', {}, 2);
    rig.token.hold();
    const frames = rig.frames();
    expect(responses(frames, second)).toEqual([]);
    expect(responses(frames, first)).toEqual([{ kind: 'response', id: 2, ok: true, fields: {} }]);
  });

  it('a wipe confirmed by a hold ends with ok and the keepalives stop', () => {
    const rig = createHidRig();
    const channel = rig.allocate();
    rig.ok(channel, 'enroll', ENROLL);
    rig.request(channel, 'wipe', {}, 61);
    rig.token.advance(250);
    rig.token.hold();
    const frames = rig.frames();
    const keepalives = frames.filter((f) => f.command === CMD.KEEPALIVE);
    expect(keepalives.length).toBeGreaterThanOrEqual(2 + 20);
    expect(responses(frames, channel)).toEqual([{ kind: 'response', id: 61, ok: true, fields: {} }]);
    rig.token.advance(1000);
    expect(rig.frames()).toEqual([]);
    expect(rig.ok(channel, 'info')).toMatchObject({ enrolled: '0' });
  });
});

describe('one token across framings', () => {
  function lineRequest(rig: HidRig, id: number, name: string, fields: Record<string, string> = {}): Message[] {
    rig.token.receive(0, new TextEncoder().encode(encodeLine({ kind: 'request', id, name, fields })));
    return rig.line!.takeLines().map((line) => decodeLine(line));
  }

  it('enrolled over HID, pressed: the same press event and counter on the line link and on every HID channel', () => {
    const rig = createHidRig({ withLine: true });
    const a = rig.allocate();
    const b = rig.allocate();
    expect(rig.ok(a, 'enroll', ENROLL)).toEqual({ counter: '0' });
    expect(lineRequest(rig, 1, 'enroll', ENROLL)).toMatchObject([{ kind: 'response', id: 1, ok: false, fields: { code: 'already_enrolled' } }]);
    for (const counter of [0, 1, 2]) {
      rig.token.advance(DISPLAY_MS);
      rig.token.press();
      const code = referenceHotp(SEED, counter);
      const expected = { kind: 'event', name: 'press', fields: { code, counter: String(counter) } };
      const onLine = rig.line!.takeLines().map((line) => decodeLine(line));
      expect(onLine).toMatchObject([expected]);
      const frames = rig.frames();
      expect(frames.map((f) => f.channel).sort()).toEqual([a, b].sort());
      // One press is one event: the same sequence number wherever it is heard.
      for (const frame of frames) expect(frameMessage(frame)).toMatchObject({ ...expected, seq: (onLine[0] as { seq: number }).seq });
    }
    expect(lineRequest(rig, 2, 'info')).toMatchObject([{ kind: 'response', id: 2, ok: true, fields: { enrolled: '1', counter: '3' } }]);
    expect(rig.ok(b, 'info')).toMatchObject({ enrolled: '1', counter: '3' });
  });

  it('enrolled over the line, the HID host sees that token; answers go back on the link each request came on', () => {
    const rig = createHidRig({ withLine: true });
    const channel = rig.allocate();
    expect(lineRequest(rig, 5, 'enroll', { ...ENROLL, counter: '7' })).toMatchObject([{ kind: 'response', id: 5, ok: true, fields: { counter: '7' } }]);
    expect(rig.frames()).toEqual([]); // the line's answer did not go out over HID
    expect(rig.request(channel, 'enroll', ENROLL, 5)).toMatchObject([{ kind: 'response', id: 5, ok: false, fields: { code: 'already_enrolled' } }]);
    expect(rig.line!.takeLines()).toEqual([]); // nor HID's over the line
    rig.token.press();
    const [event] = rig.frames().map(frameMessage);
    expect(event).toMatchObject({ kind: 'event', name: 'press', fields: { code: referenceHotp(SEED, 7), counter: '7' } });
    expect(rig.line!.takeLines().map((line) => decodeLine(line))).toMatchObject([{ kind: 'event', name: 'press', fields: { code: referenceHotp(SEED, 7), counter: '7' } }]);
    expect(lineRequest(rig, 6, 'status')).toMatchObject([{ ok: true, fields: { counter: '8' } }]);
    expect(rig.ok(channel, 'status')).toMatchObject({ counter: '8' });
  });

  it('a wipe asked over HID is refused as busy over the line while it waits, and the line cannot cancel it', () => {
    const rig = createHidRig({ withLine: true });
    const channel = rig.allocate();
    rig.ok(channel, 'enroll', ENROLL);
    rig.request(channel, 'wipe', {}, 70);
    rig.line!.takeLines();
    expect(lineRequest(rig, 71, 'push', { on: '0' })).toMatchObject([{ id: 71, ok: false, fields: { code: 'busy' } }]);
    expect(lineRequest(rig, 72, 'status')).toMatchObject([{ id: 72, ok: true, fields: { busy: '1' } }]);
    rig.token.advance(300);
    expect(rig.frames().filter((f) => f.command === CMD.KEEPALIVE)).toHaveLength(3);
    expect(rig.line!.takeLines()).toEqual([]); // the line link has no keepalive
    expect(responses(rig.deliver([initReport(channel, CMD.CANCEL, 0)]), channel)).toMatchObject([{ id: 70, ok: false, fields: { code: 'denied', detail: 'cancelled' } }]);
    expect(lineRequest(rig, 73, 'status')).toMatchObject([{ id: 73, ok: true, fields: { busy: '0', enrolled: '1' } }]);
  });
});
