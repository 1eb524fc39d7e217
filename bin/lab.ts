/**
 * The lab (`npm start`): an emulated token with its face, and the bridge on the other end of its
 * serial port relaying every press. The token is enrolled on the first run; its data stays in
 * --dir, so the next run continues with the same token and counter.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Command, Option } from 'commander';
import { hasTerminal, serveEmulator } from '../device/cli.ts';
import { startEmulator } from '../device/targets/emulator/emulator.ts';
import { connectSerial, enroll, readInfo } from '../host/bridge/operations.ts';

interface LabOptions {
  dir: string;
  headless?: boolean;
}

export function labCommand(): Command {
  return new Command('lab')
    .description('run the lab: an emulated token with its face, and the bridge relaying its presses')
    .addOption(new Option('--dir <dir>', 'where the lab keeps its token').default('.noegleviser/lab'))
    .addOption(new Option('--headless', 'no face: print a line per relayed code'))
    .action((options: LabOptions) => runLab(options));
}

async function runLab(options: LabOptions): Promise<void> {
  const emulator = await startEmulator({ profileDir: path.join(options.dir, 'token') });
  const withFace = !options.headless && hasTerminal();
  const log = (line: string) => {
    if (!withFace) process.stdout.write(line + '\n');
  };
  let bridge;
  try {
    bridge = await connectSerial(emulator.port);
    const info = await readInfo(bridge.session);
    if (!info.enrolled) {
      const secret = randomBytes(20);
      await enroll(bridge.session, { secret: new Uint8Array(secret), mode: 'hotp', algorithm: 'sha1', digits: 6 });
      secret.fill(0);
      log(`enrolled token ${info.serial} (HOTP, SHA-1, 6 digits)`);
    }
  } catch (error) {
    await bridge?.close();
    await emulator.close();
    throw error;
  }
  log(JSON.stringify({ event: 'ready', port: emulator.port, debug: emulator.debug, serial: emulator.serial }));
  const served = serveEmulator(emulator, withFace);
  served.setStatus('press space for a code');
  bridge.session.onEvent((event) => {
    if (event.name !== 'press') return;
    const where = event.fields.counter !== undefined ? `counter ${event.fields.counter}` : `step ${event.fields.step}`;
    served.setStatus(`bridge got ${event.fields.code} (${where})`);
    log(`code ${event.fields.code} (${where})`);
  });
  await served.stopped;
  await bridge.close();
}
