/**
 * One request and its answer between the bridge and an emulated token over its pty, against raw
 * serialport + readline echoing a line of the same length over a pty owned by another process.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ReadlineParser } from '@serialport/parser-readline';
import { SerialPort } from 'serialport';
import { encodeLine } from '../../protocol/framing/line.ts';
import { connectToken } from '../../host/bridge/operations.ts';
import { ROOT, startEmulatorProcess, tempDir } from '../../test/support/processes.ts';
import { median, times, type Row } from '../table.ts';

export async function bridgeRttRows(): Promise<Row[]> {
  const dir = tempDir('bench-rtt');
  const emulator = await startEmulatorProcess({ profile: path.join(dir, 'token'), runtimeDir: path.join(dir, 'run') });
  const echo = await startEcho();
  try {
    const token = await connectToken(emulator.port);
    const line = encodeLine({ kind: 'request', id: 1234, name: 'status', fields: {} });
    const raw = await openEchoPort(echo.port, line.slice(0, -1));
    try {
      const ours: number[] = [];
      const theirs: number[] = [];
      const time = async (samples: number[], roundTrip: () => Promise<unknown>) => {
        const start = performance.now();
        await roundTrip();
        samples.push(performance.now() - start);
      };
      // Taken in alternation, so that whatever the machine does meanwhile falls on both alike.
      for (let round = 0; round < ROUNDS + 1; round++) {
        const warmUp = round === 0;
        for (let i = 0; i < BATCH; i++) await time(warmUp ? [] : ours, () => token.session.request('status', {}));
        for (let i = 0; i < BATCH; i++) await time(warmUp ? [] : theirs, raw.roundTrip);
      }
      const ratio = median(ours) / median(theirs);
      return [
        {
          figure: 'bridge: one request/response to an emulated token over its pty',
          ours: `${(median(ours) * 1000).toFixed(0)} µs`,
          reference: `${(median(theirs) * 1000).toFixed(0)} µs raw serialport echo`,
          ratio: times(ratio),
          goal: '≤ 1.5× the raw round trip',
          met: ratio <= 1.5,
        },
      ];
    } finally {
      await token.close();
      await raw.close();
    }
  } finally {
    await emulator.stop('SIGTERM');
    echo.stop();
  }
}

const ROUNDS = 15;
const BATCH = 200;

async function startEcho(): Promise<{ port: string; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'pty-echo.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const ready = out.split('\n').find((l) => l.includes('"ready"'));
      if (ready) resolve((JSON.parse(ready) as { port: string }).port);
    });
  });
  return { port, stop: () => child.kill('SIGTERM') };
}

/** Raw serialport + readline on the echo's pty: write a line, wait for it to come back. */
async function openEchoPort(portPath: string, text: string): Promise<{ roundTrip(): Promise<void>; close(): Promise<void> }> {
  const port = new SerialPort({ path: portPath, baudRate: 115_200 });
  await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
  const lines = port.pipe(new ReadlineParser({ delimiter: '\n', encoding: 'latin1' }));
  return {
    roundTrip: () =>
      new Promise<void>((resolve) => {
        lines.once('data', () => resolve());
        port.write(text + '\n');
      }),
    close: () => new Promise<void>((resolve) => port.close(() => resolve())),
  };
}
