/**
 * The firmware bundle inside QuickJS-NG under its memory budget, by QuickJS's own report
 * (`memory_used_size`), loaded as a board loads it (stripped bytecode), with a 32 KiB stack limit,
 * on a token with a line link and a HID link as the emulator runs it: 10,000 presses and 10,000
 * protocol requests (over both links), a full garbage collection after every thousand and the
 * memory printed then; it must not grow. The budgets are for the firmware's share (the
 * runtime's use minus an empty context's): within 64 KiB after boot, and its peak within 96 KiB.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createRig, type Rig } from '../../../test/support/rig.ts';
import { SimFlash } from '../../sim/sim-flash.ts';
import { BROADCAST_CHANNEL, CMD_INIT, CMD_MESSAGE, MessageAssembler, fragment, openBody, parsePacket, sealBody } from '../../../protocol/framing/hid.ts';
import { decodeMessage, encodeMessage, type Message } from '../../../protocol/message.ts';
import type { Transport } from '../../hal/transport.ts';
import { QUICKJS_BUDGET, QUICKJS_STACK_LIMIT, QuickJsEngine, type CodeBreakdown, type QuickJsMemory } from './quickjs-engine.ts';

const RUNS = 10_000;
const EVERY = 1000;
const SEED_HEX = '3132333435363738393031323334353637383930';
const KIB = 1024;
const kib = (bytes: number) => `${(bytes / KIB).toFixed(1)} KiB`;

/** The line the test prints after each thousand: the firmware's share (used − empty context) and its data (used − loaded). */
function report(label: string, memory: QuickJsMemory): string {
  return (
    `[quickjs memory] ${label}: firmware ${kib(memory.usedBytes - memory.emptyContextBytes)} ` +
    `(code ${kib(memory.loadedBytes - memory.emptyContextBytes)}, data ${kib(memory.usedBytes - memory.loadedBytes)}), ` +
    `peak data ${kib(memory.peakBytes - memory.loadedBytes)}, ${memory.allocations} allocations`
  );
}

/** The emulator's second host link: HID reports, kept until read. */
class HidReports implements Transport {
  readonly framing = 'hid' as const;
  reports: Uint8Array[] = [];
  send(report: Uint8Array): void {
    this.reports.push(report.slice());
  }
}

/** The peak share against the budget for it. */
function peakShare(memory: QuickJsMemory): string {
  const share = memory.peakBytes - memory.emptyContextBytes;
  return `[quickjs memory] the issue's budget for the share's peak, ${kib(QUICKJS_BUDGET.peakShare)}: ${share <= QUICKJS_BUDGET.peakShare ? 'met' : 'missed'} (${kib(share)})`;
}

/** The loaded bundle, part by part, as the memory report counts it. */
const parts = (code: CodeBreakdown) =>
  Object.entries(code)
    .map(([part, bytes]) => `${part} ${kib(bytes)}`)
    .join(', ');

describe(`the firmware in QuickJS-NG, ${QUICKJS_STACK_LIMIT / KIB} KiB of stack, within its memory budget`, () => {
  let engine: QuickJsEngine;
  let rig: Rig;
  const hid = new HidReports();
  let hidChannel = 0;
  let hidId = 0;

  /** One request over the HID link (link 1) on the channel INIT allocated; its response. */
  const hidRequest = (name: string): Message => {
    hid.reports = [];
    hidId = (hidId % 0xfffe) + 1;
    for (const report of fragment(hidChannel, CMD_MESSAGE, sealBody(encodeMessage({ kind: 'request', id: hidId, name, fields: {} })))) rig.token.receive(1, report);
    const assembler = new MessageAssembler();
    for (const report of hid.reports) {
      const result = assembler.add(parsePacket(report)!, 0);
      if (result.kind === 'complete') return decodeMessage(openBody(result.payload)!);
    }
    throw new Error(`no HID response to ${name}`);
  };

  /** A full collection, then QuickJS's report. */
  const collected = (): QuickJsMemory => {
    engine.collectGarbage();
    return engine.memory()!;
  };

  beforeAll(async () => {
    engine = await QuickJsEngine.load();
    // As the emulator runs it: a line link and a HID link.
    rig = createRig({ core: engine.createCore, flash: new SimFlash(), links: [hid] });
  });

  it('boots with its share within 64 KiB, and says what the whole runtime holds', () => {
    const booted = collected();
    console.log(report('after boot', booted));
    console.log(`[quickjs memory] an empty context (runtime, context, the host binding): ${kib(booted.emptyContextBytes)}; the whole runtime now: ${kib(booted.usedBytes)}`);
    console.log(`[quickjs memory] the code, part by part: ${parts(engine.codeBreakdown()!)}`);
    console.log(
      `[quickjs memory] the issue's budget for the share after boot, ${kib(QUICKJS_BUDGET.bootedShare)}: ` +
        `${booted.bootedBytes - booted.emptyContextBytes <= QUICKJS_BUDGET.bootedShare ? 'met' : 'missed'} (${kib(booted.bootedBytes - booted.emptyContextBytes)})`,
    );
    expect(booted.bootedBytes - booted.emptyContextBytes).toBeLessThanOrEqual(QUICKJS_BUDGET.bootedShare);
  });

  it(`${RUNS.toLocaleString('en-US')} presses: every code new, the memory after each thousand not growing, the share's peak within 96 KiB`, () => {
    expect(rig.ok('enroll', { secret: SEED_HEX, mode: 'hotp', algorithm: 'sha1', digits: '6' })).toEqual({ counter: '0' });
    rig.token.advance(5000);
    let first: number | undefined;
    for (let press = 1; press <= RUNS; press++) {
      const { display, event } = rig.press();
      if (event?.fields.counter !== String(press - 1) || display.trim() !== event.fields.code) {
        throw new Error(`press ${press} showed "${display.trim()}" with event ${JSON.stringify(event?.fields)}`);
      }
      rig.token.advance(31_000);
      if (press % EVERY === 0) {
        // A battery that lasts: 10,000 codes would take half the coin cell's model.
        rig.token.power.percent = 100;
        const memory = collected();
        console.log(report(`${press.toLocaleString('en-US')} presses`, memory));
        first ??= memory.usedBytes;
        expect(memory.usedBytes, `after ${press} presses`).toBeLessThanOrEqual(first);
        expect(memory.peakBytes - memory.emptyContextBytes).toBeLessThanOrEqual(QUICKJS_BUDGET.peakShare);
      }
    }
    console.log(peakShare(engine.memory()!));
  });

  it(`${RUNS.toLocaleString('en-US')} protocol requests of every kind, good and bad: the memory after each thousand not growing, the share's peak within 96 KiB`, () => {
    const requests: (() => void)[] = [
      () => rig.ok('hello', { proto: '1' }),
      () => rig.ok('info'),
      () => rig.ok('status'),
      () => rig.ok('time'),
      () => rig.ok('settime', { at: String(Date.UTC(2030, 0, 1)), force: '1' }),
      () => rig.ok('push', { on: '0' }),
      () => rig.ok('push', { on: '1' }),
      () => expect(rig.send('enroll', { secret: SEED_HEX, mode: 'hotp', algorithm: 'sha1', digits: '6' })).toMatchObject([{ ok: false, fields: { code: 'already_enrolled' } }]),
      () => expect(rig.send('launch')).toMatchObject([{ ok: false, fields: { code: 'unknown_command' } }]),
      () => expect(rig.sendRaw('>9 info*00000000\n')).toMatchObject([{ ok: false, fields: { code: 'bad_crc' } }]),
      () => expect(hidRequest('status')).toMatchObject({ kind: 'response', ok: true, fields: { enrolled: '1' } }),
      () => expect(hidRequest('info')).toMatchObject({ kind: 'response', ok: true, fields: { serial: rig.ok('info').serial } }),
    ];
    // A channel for this host, as INIT on the broadcast channel allocates one.
    hid.reports = [];
    for (const report of fragment(BROADCAST_CHANNEL, CMD_INIT, new Uint8Array(8).fill(7))) rig.token.receive(1, report);
    const init = parsePacket(hid.reports[0]!)!;
    expect(init).toMatchObject({ kind: 'init', channel: BROADCAST_CHANNEL, command: CMD_INIT });
    hidChannel = new DataView(init.data.buffer, init.data.byteOffset).getUint32(8);
    let first: number | undefined;
    for (let request = 1; request <= RUNS; request++) {
      requests[request % requests.length]!();
      if (request % EVERY === 0) {
        const memory = collected();
        console.log(report(`${request.toLocaleString('en-US')} requests`, memory));
        first ??= memory.usedBytes;
        expect(memory.usedBytes, `after ${request} requests`).toBeLessThanOrEqual(first);
        expect(memory.peakBytes - memory.emptyContextBytes).toBeLessThanOrEqual(QUICKJS_BUDGET.peakShare);
      }
    }
    console.log(peakShare(engine.memory()!));
  });
});
