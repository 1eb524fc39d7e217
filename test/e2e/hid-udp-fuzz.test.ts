/**
 * 10,000+ random and mutated reports into a real emulator process over its HID-over-UDP port:
 * random datagrams of 0..100 bytes, INIT and CONT packets with random channels, commands,
 * lengths and sequence numbers (on channels the token really gave out, too), and mutated copies
 * of good packets. The process stays alive, everything it sends back is a well-formed report, and
 * afterwards a good request on a fresh channel is answered correctly — over HID and over the pty.
 * On each engine: the firmware core on V8, and the firmware bundle inside QuickJS-NG.
 *
 * Pacing: the reports go in batches, each followed by a probe (a PING on a channel the token never
 * gives out, answered at once with INVALID_CHANNEL); the next batch waits for the probe's answer.
 * UDP keeps order on loopback, so every report of a batch has been handled before the next one
 * goes: none is lost to a full socket buffer, and a token that stopped answering is noticed at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import {
  BROADCAST_CHANNEL,
  HID_COMMAND,
  HID_ERROR,
  HID_REPORT_BYTES,
  MAX_HID_PAYLOAD_BYTES,
  fragment,
  hidErrorName,
  openBody,
  parsePacket,
  sealBody,
} from '../../protocol/framing/hid.ts';
import { decodeMessageText } from '../../protocol/message.ts';
import { ENGINE_RUNS } from '../support/engines.ts';
import { cli, startEmulatorProcess, tempDir, type EmulatorProcess } from '../support/processes.ts';
import { UdpHidClient, emulatorHidAddress } from '../support/hid-udp.ts';
import { xorshift32 } from '../support/random.ts';

const REPORTS = 10_000;
const BATCH = 100;
const SEED = 0x4d1d;
/** A channel the fuzz never uses: its probes always get INVALID_CHANNEL, busy or not. */
const PROBE_CHANNEL = 0x0bad_cafe;

describe.each(ENGINE_RUNS)('fuzzing the token on $engine over its HID-over-UDP port', ({ args }) => {
  const dir = tempDir('hidfuzz');
  const runtimeDir = path.join(dir, 'run');
  let emulator: EmulatorProcess;
  let client: UdpHidClient;

  beforeAll(async () => {
    emulator = await startEmulatorProcess({ profile: path.join(dir, 'token'), runtimeDir, args: [...args] });
    client = await UdpHidClient.open(emulatorHidAddress(runtimeDir, emulator));
  });
  afterAll(async () => {
    await client?.close();
    await emulator?.stop('SIGKILL');
  });

  it(`survives ${REPORTS} hostile reports, then answers a good request on a fresh channel (HID) and on the pty`, async () => {
    const started = performance.now();
    const next = xorshift32(SEED);
    const random = () => next() / 0x1_0000_0000;
    const int = (n: number) => Math.floor(random() * n);
    const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff);

    // Channels the token gave out (to us, and to the fuzz's own broadcast INITs), harvested from its answers.
    const allocated = [await client.allocate(bytes(8))];
    let harvestedUpTo = 0;
    const harvest = () => {
      for (; harvestedUpTo < client.received.length; harvestedUpTo++) {
        const packet = parsePacket(client.received[harvestedUpTo]!);
        if (packet?.kind === 'init' && packet.channel === BROADCAST_CHANNEL && packet.command === HID_COMMAND.INIT && packet.length === 17) {
          allocated.push(new DataView(packet.data.buffer, packet.data.byteOffset + 8, 4).getUint32(0));
          if (allocated.length > 8) allocated.shift(); // the token keeps 8
        }
      }
    };
    const channel = () => {
      const roll = random();
      let chosen: number;
      if (roll < 0.45) chosen = pick(allocated);
      else if (roll < 0.6) chosen = BROADCAST_CHANNEL;
      else if (roll < 0.65) chosen = 0;
      else chosen = next();
      return chosen === PROBE_CHANNEL ? 0 : chosen;
    };
    const commands = [...Object.values(HID_COMMAND), 0x00, 0x02, 0x10, 0x3a, 0x42, 0x7f];
    // Good packets to mutate; their requests only read (a mutation that slipped past the CRC could change nothing).
    const goodBodies = ['>1 info', '>2 status', '>3 hello proto=1', '>4 time', '>5 hello'];
    const goodPackets = () => {
      const ch = pick(allocated);
      switch (int(5)) {
        case 0:
          return fragment(BROADCAST_CHANNEL, HID_COMMAND.INIT, bytes(8));
        case 1:
          return fragment(ch, HID_COMMAND.MESSAGE, sealBody(pick(goodBodies)));
        case 2:
          return fragment(ch, HID_COMMAND.PING, bytes(int(300)));
        case 3:
          return fragment(ch, HID_COMMAND.CANCEL, new Uint8Array(0));
        default:
          return fragment(ch, HID_COMMAND.INIT, bytes(8));
      }
    };

    const kinds = new Map<string, number>();
    function* corpus(): Generator<Uint8Array> {
      let made = 0;
      while (made < REPORTS) {
        const kind = made % 6;
        let out: Uint8Array[];
        let name: string;
        if (kind === 0) {
          name = 'random bytes';
          out = [bytes(int(101))];
        } else if (kind === 1) {
          name = 'random INIT';
          const report = bytes(HID_REPORT_BYTES);
          const view = new DataView(report.buffer);
          view.setUint32(0, channel());
          report[4] = 0x80 | pick(commands);
          view.setUint16(5, pick([0, 1, 8, 8, 8, 17, 57, 58, 200, MAX_HID_PAYLOAD_BYTES, MAX_HID_PAYLOAD_BYTES + 1, 0xffff, int(0x10000)]));
          out = [report];
        } else if (kind === 2) {
          name = 'random CONT';
          const report = bytes(HID_REPORT_BYTES);
          const view = new DataView(report.buffer);
          view.setUint32(0, channel());
          report[4] = random() < 0.5 ? int(4) : int(0x80);
          out = [report];
        } else if (kind === 3) {
          name = 'mutated good packet';
          const packets = goodPackets();
          const copy = packets[int(packets.length)]!.slice();
          const flips = 1 + int(3);
          for (let f = 0; f < flips; f++) copy[int(copy.length)]! ^= 1 << int(8);
          out = [copy];
        } else if (kind === 4) {
          name = 'good packets, some lost, repeated or reordered';
          const packets = goodPackets();
          out = packets.filter(() => random() < 0.8);
          if (out.length > 1 && random() < 0.5) out.reverse();
          if (out.length > 0 && random() < 0.3) out.push(out[int(out.length)]!);
        } else {
          name = random() < 0.3 ? 'cut or padded good packet' : 'good packets';
          const packets = goodPackets();
          out = name === 'good packets' ? packets : [packets[0]!.slice(0, int(HID_REPORT_BYTES)), Uint8Array.of(...packets[0]!, ...bytes(1 + int(36)))];
        }
        for (const report of out) {
          if (made >= REPORTS) return;
          made++;
          kinds.set(name, (kinds.get(name) ?? 0) + 1);
          yield report;
        }
      }
    }

    let probes = 0;
    const probeAnswers = () => client.received.filter((r) => r.length === HID_REPORT_BYTES && new DataView(r.buffer, r.byteOffset).getUint32(0) === PROBE_CHANNEL).length;
    async function probe(): Promise<void> {
      probes++;
      const before = probeAnswers();
      for (let attempt = 0; ; attempt++) {
        await client.send(fragment(PROBE_CHANNEL, HID_COMMAND.PING, Uint8Array.of(probes & 0xff))[0]!);
        try {
          await client.waitFor(() => (probeAnswers() > before ? true : undefined), 0, 1000, 'probe answer');
          return;
        } catch (error) {
          if (attempt >= 4 || emulator.child.exitCode !== null) throw new Error(`the token stopped answering after ${sent} reports: ${(error as Error).message}; stderr: ${emulator.stderr()}`);
        }
      }
    }

    const fuzzFrom = client.received.length;
    let sent = 0;
    let batch: Promise<void>[] = [];
    for (const report of corpus()) {
      batch.push(client.send(report));
      sent++;
      if (batch.length === BATCH) {
        await Promise.all(batch);
        batch = [];
        await probe();
        harvest();
      }
    }
    await Promise.all(batch);
    await probe();
    expect(sent).toBe(REPORTS);
    expect(emulator.child.exitCode).toBeNull();
    expect(emulator.child.signalCode).toBeNull();

    // Everything the token sent back is a 64-byte report; count what it said.
    const replies = client.received.slice(fuzzFrom);
    const byKind = new Map<string, number>();
    for (const reply of replies) {
      expect(reply.length).toBe(HID_REPORT_BYTES);
      const packet = parsePacket(reply)!;
      if (packet.channel === PROBE_CHANNEL) continue;
      let key: string;
      if (packet.kind === 'cont') key = 'CONT';
      else if (packet.command === HID_COMMAND.ERROR) key = `ERROR ${hidErrorName(packet.data[0]!) ?? packet.data[0]}`;
      else key = (Object.entries(HID_COMMAND).find(([, code]) => code === packet.command)?.[0] ?? `0x${packet.command.toString(16)}`) + ' (INIT packet)';
      byKind.set(key, (byKind.get(key) ?? 0) + 1);
    }
    const summary = Object.fromEntries([...byKind].sort((a, b) => b[1] - a[1]));
    console.log(
      `hid fuzz: ${sent} reports (seed ${SEED}) in ${probes} batches, ${replies.length - probeAnswers()} reports back, ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
        `sent ${JSON.stringify(Object.fromEntries(kinds))}; back ${JSON.stringify(summary)}`,
    );
    // The fuzz reached the framing's every refusal, and real answers too.
    for (const name of ['INVALID_CHANNEL', 'INVALID_LEN', 'INVALID_SEQ', 'INVALID_CMD', 'CHANNEL_BUSY'] as const) {
      expect(byKind.get(`ERROR ${name}`) ?? 0, `ERROR ${name} (code ${HID_ERROR[name]})`).toBeGreaterThan(0);
    }
    for (const answer of ['INIT (INIT packet)', 'PING (INIT packet)', 'MESSAGE (INIT packet)']) expect(byKind.get(answer) ?? 0, answer).toBeGreaterThan(0);

    // A half-sent message left by the fuzz holds the token for at most the transaction timeout.
    await new Promise((resolve) => setTimeout(resolve, 600));

    // A fresh channel, and a good request on it.
    const nonce = Uint8Array.of(0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87);
    const fresh = await client.allocate(nonce);
    expect(fresh).not.toBe(0);
    expect(fresh).not.toBe(BROADCAST_CHANNEL);
    const answer = await client.message(fresh, '>1 info');
    expect(answer.command).toBe(HID_COMMAND.MESSAGE);
    const body = openBody(answer.payload);
    expect(body).toBeDefined();
    expect(decodeMessageText(body!)).toMatchObject({
      kind: 'response',
      id: 1,
      ok: true,
      fields: { serial: emulator.serial, model: 'NV1', hardware: 'emulator', enrolled: '0', proto: '1' },
    });
    const echo = await client.message(fresh, '>2 status');
    expect(decodeMessageText(openBody(echo.payload)!)).toMatchObject({ kind: 'response', id: 2, ok: true, fields: { busy: '0' } });

    // The serial side of the same token still answers.
    const info = await cli(['info', '--port', emulator.port, '--json']);
    expect(info.code, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ serial: emulator.serial, enrolled: false });
    expect(emulator.child.exitCode).toBeNull();
    expect(emulator.stderr(), 'the emulator reported an error').not.toMatch(/error|exception|uncaught/i);
  }, 60_000);
});
