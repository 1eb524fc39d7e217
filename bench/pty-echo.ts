/**
 * The reference for the bridge figure: a process that owns a pty, as the emulator does, and
 * echoes every line written to it, with nothing of the token in between.
 */
import { RawPty } from '../device/targets/emulator/pty-transport.ts';

const pty = new RawPty();
let pending = '';
pty.input.on('data', (chunk: Buffer) => {
  pending += chunk.toString('latin1');
  for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
    pty.write(Buffer.from(pending.slice(0, nl + 1), 'latin1'));
    pending = pending.slice(nl + 1);
  }
});
process.stdout.write(JSON.stringify({ event: 'ready', port: pty.path }) + '\n');
process.once('SIGTERM', () => process.exit(0));
