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

const ROUND_TRIPS = 3000;

export async function bridgeRttRows(): Promise<Row[]> {
  const dir = tempDir('bench-rtt');
  const emulator = await startEmulatorProcess({ profile: path.join(dir, 'token'), runtimeDir: path.join(dir, 'run') });
  let ours: number;
  try {
    const token = await connectToken(emulator.port);
    try {
      for (let i = 0; i < 200; i++) await token.session.request('status', {});
      const samples: number[] = [];
      for (let i = 0; i < ROUND_TRIPS; i++) {
        const start = performance.now();
        await token.session.request('status', {});
        samples.push(performance.now() - start);
      }
      ours = median(samples);
    } finally {
      await token.close();
    }
  } finally {
    await emulator.stop('SIGTERM');
  }
  const line = encodeLine({ kind: 'request', id: 1234, name: 'status', fields: {} });
  const raw = await rawEcho(line.slice(0, -1));
  return [
    {
      figure: 'bridge: one request/response to an emulated token over its pty',
      ours: `${(ours * 1000).toFixed(0)} µs`,
      reference: `${(raw * 1000).toFixed(0)} µs raw serialport echo`,
      ratio: times(ours / raw),
      goal: '≤ 1.5× the raw round trip',
      met: ours / raw <= 1.5,
    },
  ];
}

async function rawEcho(text: string): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'pty-echo.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const portPath = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const ready = out.split('\n').find((l) => l.includes('"ready"'));
        if (ready) resolve((JSON.parse(ready) as { port: string }).port);
      });
    });
    const port = new SerialPort({ path: portPath, baudRate: 115_200 });
    await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
    const lines = port.pipe(new ReadlineParser({ delimiter: '\n', encoding: 'latin1' }));
    const once = () =>
      new Promise<void>((resolve) => {
        lines.once('data', () => resolve());
        port.write(text + '\n');
      });
    for (let i = 0; i < 200; i++) await once();
    const samples: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const start = performance.now();
      await once();
      samples.push(performance.now() - start);
    }
    await new Promise((resolve) => port.close(resolve));
    return median(samples);
  } finally {
    child.kill('SIGTERM');
  }
}
