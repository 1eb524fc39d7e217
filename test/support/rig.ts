/**
 * An in-process bench for the firmware core: a SimToken whose one host link is captured here,
 * with a tiny host that frames requests and reads back framed answers. No Node, no ports.
 */
import { encodeLine, decodeLine } from '../../protocol/framing/line.ts';
import { asciiToBytes, bytesToAscii } from '../../protocol/bytes.ts';
import type { Fields, Message } from '../../protocol/message.ts';
import type { Transport } from '../../device/hal/transport.ts';
import type { FirmwareConfig } from '../../device/firmware/token.ts';
import { SimFlash, type SimFlashOptions } from '../../device/sim/sim-flash.ts';
import { SimToken, type CoreFactory } from '../../device/sim/sim-token.ts';
import { SimRng } from '../../device/sim/sim-parts.ts';
import { seededBytes } from './random.ts';

export class CapturingTransport implements Transport {
  readonly framing = 'line' as const;
  private text = '';

  send(bytes: Uint8Array): void {
    this.text += bytesToAscii(bytes);
  }

  /** Complete lines sent since the last call. */
  takeLines(): string[] {
    const lines = this.text.split('\n');
    this.text = lines.pop() ?? '';
    return lines;
  }
}

export interface Rig {
  token: SimToken;
  link: CapturingTransport;
  /** Sends one request and returns every message the token sent in answer (events included). */
  send(name: string, fields?: Fields): Message[];
  /** Sends raw text (a whole line with its newline, or any bytes) and returns the messages sent back. */
  sendRaw(text: string): Message[];
  /** Sends a request and returns its response's fields, throwing on an error response. */
  ok(name: string, fields?: Fields): Fields;
  /** Messages the token sent on its own (events), decoded. */
  drain(): Message[];
  /** Presses the button and returns the display text and the press event, if any. */
  press(): { display: string; event?: Extract<Message, { kind: 'event' }> };
}

export const TEST_CONFIG: FirmwareConfig = { model: 'NV1', hardware: 'test', factorySerial: '40000001' };

/** `links`: host links after the rig's own line link (link 1 onwards), e.g. a HID transport a test drives itself through `token.receive`. */
export function createRig(options: { flash?: SimFlash; flashOptions?: SimFlashOptions; config?: FirmwareConfig; core?: CoreFactory; links?: readonly Transport[] } = {}): Rig {
  const link = new CapturingTransport();
  const flash = options.flash ?? new SimFlash(options.flashOptions);
  const token = new SimToken({
    config: options.config ?? TEST_CONFIG,
    core: options.core,
    flash,
    transports: [link, ...(options.links ?? [])],
    rng: new SimRng(seededBytes(7)), // reproducible serial numbers
  });
  token.powerOn();
  link.takeLines(); // the boot event
  let nextId = 1;
  const decodeAll = () => link.takeLines().map((line) => decodeLine(line));
  const rig: Rig = {
    token,
    link,
    sendRaw(text) {
      token.receive(0, asciiToBytes(text));
      return decodeAll();
    },
    send(name, fields = {}) {
      const id = nextId++;
      if (nextId > 0xffff) nextId = 1;
      return rig.sendRaw(encodeLine({ kind: 'request', id, name, fields }));
    },
    ok(name, fields = {}) {
      const messages = rig.send(name, fields);
      const response = messages.find((m) => m.kind === 'response');
      if (!response || response.kind !== 'response') throw new Error(`no response to ${name}`);
      if (!response.ok) throw new Error(`${name} failed: ${response.fields.code} ${response.fields.detail ?? ''}`);
      return response.fields;
    },
    drain: decodeAll,
    press() {
      token.press();
      const event = decodeAll().find((m): m is Extract<Message, { kind: 'event' }> => m.kind === 'event' && m.name === 'press');
      return { display: token.readDisplay(), event };
    },
  };
  return rig;
}
