/**
 * Flash endurance: presses until the first page of the default chip (8 × 4 KiB, 10,000 erases a
 * page) reaches its erase limit. Every press commits one counter record, so the count is run on
 * the journal itself (the firmware's own FlashStore on the simulated chip), remounting it from the
 * chip's image as a reboot would every so often to check that no counter ever goes back; and a
 * stretch of real presses through the firmware checks that no code repeats across those writes.
 */
import { randomBytes } from 'node:crypto';
import { FlashStore } from '../../device/firmware/flash-store.ts';
import { TAG, decodeRecord, encodeRecord } from '../../device/firmware/records.ts';
import { SimFlash } from '../../device/sim/sim-flash.ts';
import { SimPower } from '../../device/sim/sim-parts.ts';
import { SimToken } from '../../device/sim/sim-token.ts';
import type { Transport } from '../../device/hal/transport.ts';
import { bytesToHex } from '../../protocol/bytes.ts';
import type { Row } from '../table.ts';

const REMOUNT_EVERY = 250_000;

export async function flashEnduranceRows(): Promise<Row[]> {
  const flash = new SimFlash();
  let store = new FlashStore(flash);
  let counter = 0;
  const worn = () => Math.max(...flash.eraseCounts) >= flash.endurance;
  while (!worn()) {
    for (let i = 0; i < REMOUNT_EVERY && !(i % 1000 === 0 && worn()); i++) {
      counter++;
      store.put(TAG.counter, encodeRecord(TAG.counter, counter));
    }
    store = new FlashStore(flash);
    const stored = decodeRecord(TAG.counter, store.get(TAG.counter)!);
    if (stored !== counter) throw new Error(`after ${counter} presses the journal holds ${stored}`);
  }
  const increasing = pressesNeverRepeat(20_000);
  return [
    {
      figure: 'flash endurance: presses until the first page reaches 10,000 erases',
      ours: `${counter.toLocaleString('en-US')} presses`,
      reference: '—',
      ratio: '—',
      goal: '≥ 1,000,000 presses',
      met: counter >= 1_000_000,
    },
    {
      figure: '20,000 presses through the firmware: each code for a new counter',
      ours: `${increasing.toLocaleString('en-US')} of 20,000`,
      reference: '—',
      ratio: '—',
      goal: 'never a repeated code',
      met: increasing === 20_000,
    },
  ];
}

/**
 * Presses a simulated token `presses` times (through many page changes) and counts the presses
 * whose code came from a counter never used before. (Two counters may share a 6-digit code by
 * chance; a repeated code is a counter used twice.)
 */
function pressesNeverRepeat(presses: number): number {
  let output = '';
  const link: Transport = { framing: 'line', send: (bytes) => (output += new TextDecoder().decode(bytes)) };
  // A battery that does not run down: 20,000 codes would empty a coin cell's model.
  const token = new SimToken({ config: { model: 'NV1', hardware: 'bench', factorySerial: '40000000' }, flash: new SimFlash(), transports: [link], power: new SimPower(100, 0) });
  token.powerOn();
  const secret = bytesToHex(new Uint8Array(randomBytes(20)));
  const line = `>1 enroll secret=${secret} mode=hotp algorithm=sha1 digits=6`;
  token.receive(0, new TextEncoder().encode(`${line}*${crc32Hex(line)}\n`));
  let fresh = 0;
  let last = -1;
  for (let i = 0; i < presses; i++) {
    token.advance(31_000);
    output = '';
    token.press();
    const counter = /press code=\d+ counter=(\d+)/.exec(output)?.[1];
    if (counter !== undefined && Number(counter) > last) {
      fresh++;
      last = Number(counter);
    }
  }
  return fresh;
}

function crc32Hex(text: string): string {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i);
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return ((crc ^ 0xffffffff) >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
