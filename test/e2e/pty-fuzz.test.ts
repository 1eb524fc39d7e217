/**
 * 10,000 random and mutated lines into a real emulator process over its pty: every one is
 * answered with a coded error (or ignored), the token never stops, and a good request afterwards
 * is answered correctly with nothing stored lost. On each engine: the firmware core on V8, and the
 * firmware bundle inside QuickJS-NG.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { ReadlineParser } from '@serialport/parser-readline';
import { SerialPort } from 'serialport';
import { crc32Ascii, crcHex } from '../../protocol/crc32.ts';
import { TOKEN_ERRORS } from '../../protocol/errors.ts';
import { decodeLine, encodeLine } from '../../protocol/framing/line.ts';
import type { Message } from '../../protocol/message.ts';
import { seededBytes } from '../support/random.ts';
import { ENGINE_RUNS } from '../support/engines.ts';
import { startEmulatorProcess, tempDir, type EmulatorProcess } from '../support/processes.ts';

const LINES = 10_000;
const SEED = 0x5eed;
const PROBE_ID = 65_000;

/** A fuzz corpus: random bytes, printable junk, damaged frames, and well-framed requests with bad arguments. */
function* corpus(count: number, random: () => number): Generator<Buffer> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const withCrc = (body: string) => `${body}*${crcHex(crc32Ascii(body))}`;
  const valid = [
    '>1 hello proto=1',
    '>2 info',
    '>3 status',
    '>4 time',
    '>5 push on=1',
    '>6 enroll secret=3132333435363738393031323334353637383930 mode=hotp algorithm=sha1 digits=6',
    '>7 settime at=1800000000000',
  ].map(withCrc);
  for (let i = 0; i < count; i++) {
    const kind = i % 6;
    let line: Buffer;
    if (kind === 0) {
      line = Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
    } else if (kind === 1) {
      line = Buffer.from(Array.from({ length: Math.floor(random() * 120) }, () => 32 + Math.floor(random() * 95)));
    } else if (kind === 2) {
      const frame = Buffer.from(pick(valid));
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) frame[Math.floor(random() * frame.length)]! ^= 1 << Math.floor(random() * 8);
      line = frame;
    } else if (kind === 3) {
      const frame = pick(valid);
      line = Buffer.from(random() < 0.5 ? frame.slice(0, Math.floor(random() * frame.length)) : frame + frame.slice(Math.floor(random() * frame.length)));
    } else if (kind === 4) {
      const name = pick(['hello', 'info', 'status', 'time', 'push', 'settime', 'enroll', 'frobnicate', 'HELLO', 'x']);
      const args = Array.from({ length: Math.floor(random() * 4) }, () => `${pick(['on', 'at', 'proto', 'secret', 'digits', 'force', 'zz'])}=${pick(['1', '0', '-1', '99999999999999999999', 'abc', 'on', '3132'])}`);
      const body = `>${1 + Math.floor(random() * 60_000)} ${name}${args.length ? ' ' + args.join(' ') : ''}`;
      // Arguments that would really change the token are not sent: the fuzz must leave its data as it was.
      line = Buffer.from(/settime|push|enroll/.test(name) && !/zz=|=abc|=-1|=9999/.test(body) ? withCrc(`${body} zz=1`) : withCrc(body));
    } else {
      line = Buffer.from('A'.repeat(256 + Math.floor(random() * 2000)));
    }
    // A newline inside would make two lines of one; the stream framing is what is under test here.
    yield Buffer.from(line.filter((byte) => byte !== 0x0a));
  }
}

describe.each(ENGINE_RUNS)('fuzzing the token on $engine over its serial port', ({ args }) => {
  const dir = tempDir('fuzz');
  let emulator: EmulatorProcess;
  let port: SerialPort;
  const received: string[] = [];
  let notify: (() => void) | undefined;

  beforeAll(async () => {
    emulator = await startEmulatorProcess({ profile: path.join(dir, 'token'), runtimeDir: path.join(dir, 'run'), args: [...args] });
    port = new SerialPort({ path: emulator.port, baudRate: 115_200 });
    await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
    port.pipe(new ReadlineParser({ delimiter: '\n', encoding: 'latin1' })).on('data', (line: string) => {
      received.push(line);
      notify?.();
    });
  });
  afterAll(async () => {
    if (port?.isOpen) await new Promise((resolve) => port.close(resolve));
    await emulator?.stop('SIGKILL');
  });

  /** Sends bytes then a probe, and returns the messages that came back before the probe's answer. */
  async function exchange(bytes: Buffer, probeId: number): Promise<Message[]> {
    const probe = encodeLine({ kind: 'request', id: probeId, name: 'status', fields: {} });
    port.write(Buffer.concat([bytes, Buffer.from('\n'), Buffer.from(probe)]));
    const before: Message[] = [];
    for (;;) {
      while (received.length === 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no answer to probe ${probeId}; the token stopped answering`)), 5000);
          notify = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const message = decodeLine(received.shift()!);
      if (message.kind === 'response' && message.id === probeId) {
        expect(message.ok).toBe(true);
        return before;
      }
      before.push(message);
    }
  }

  it(`answers ${LINES} hostile lines with coded errors, then a good request as before`, async () => {
    const setup = await exchange(Buffer.from(encodeLine({ kind: 'request', id: 9, name: 'enroll', fields: { secret: '3132333435363738393031323334353637383930', mode: 'hotp', algorithm: 'sha1', digits: '6' } }).trimEnd()), PROBE_ID);
    expect(setup.filter((m) => m.kind === 'response')).toMatchObject([{ id: 9, ok: true }]);

    const bytes = seededBytes(SEED);
    const word = new Uint8Array(4);
    const uniform = () => {
      bytes(word);
      return new DataView(word.buffer).getUint32(0) / 2 ** 32;
    };
    const codes = new Map<string, number>();
    let answered = 0;
    let sent = 0;
    for (const line of corpus(LINES, uniform)) {
      const replies = (await exchange(line, PROBE_ID)).filter((m) => m.kind === 'response');
      sent++;
      expect(replies.length, `line ${sent} (seed ${SEED}) got ${replies.length} answers`).toBeLessThanOrEqual(1);
      for (const reply of replies) {
        if (reply.kind !== 'response') continue;
        answered++;
        if (!reply.ok) {
          expect(Object.keys(TOKEN_ERRORS), `line ${sent}: ${JSON.stringify(reply)}`).toContain(reply.fields.code);
          codes.set(reply.fields.code!, (codes.get(reply.fields.code!) ?? 0) + 1);
        }
      }
    }
    expect(sent).toBe(LINES);
    console.log(`fuzz: ${sent} lines, ${answered} answered, by code: ${JSON.stringify(Object.fromEntries(codes))}`);
    // Each kind of damage met its own coded answer.
    for (const code of ['bad_frame', 'bad_crc', 'too_long', 'unknown_command', 'bad_argument']) expect(codes.get(code) ?? 0).toBeGreaterThan(0);

    const info = await exchange(Buffer.from(encodeLine({ kind: 'request', id: 11, name: 'info', fields: {} }).trimEnd()), PROBE_ID);
    expect(info).toMatchObject([{ kind: 'response', id: 11, ok: true, fields: { enrolled: '1', mode: 'hotp', counter: '0', serial: emulator.serial } }]);
  });
});
