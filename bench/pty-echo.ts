/**
 * The reference for the bridge figure: a process that owns a pty, as the emulator does, and
 * echoes every line written to it, with nothing of the token in between.
 */
import { createRequire } from 'node:module';
import tty from 'node:tty';

const require = createRequire(import.meta.url);
const pair = (require('node-pty') as { native: { open(c: number, r: number): { master: number; slave: number; pty: string } } }).native.open(80, 24);
const slave = new tty.ReadStream(pair.slave);
slave.setRawMode(true);
slave.pause();
const master = new tty.ReadStream(pair.master);
master.on('error', () => {});
let pending = '';
master.on('data', (chunk: Buffer) => {
  pending += chunk.toString('latin1');
  for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
    master.write(pending.slice(0, nl + 1));
    pending = pending.slice(nl + 1);
  }
});
process.stdout.write(JSON.stringify({ event: 'ready', port: pair.pty }) + '\n');
process.once('SIGTERM', () => process.exit(0));
