/**
 * A serial cable the test can cut: a pty pair standing between a host and a token's port. Lines
 * from the host are forwarded to the token unless `cutOn` says otherwise, in which case the
 * cable is cut there and then (the line never arrives), as when a USB token is pulled mid-write.
 */
import { SerialPort } from 'serialport';
import { RawPty } from '../../device/targets/emulator/pty-transport.ts';

export interface SerialProxy {
  /** The port the host opens instead of the token's. */
  readonly path: string;
  /** Resolves when the cable has been cut. */
  readonly cut: Promise<string>;
  close(): Promise<void>;
}

export async function startSerialProxy(tokenPort: string, cutOn: (line: string) => boolean): Promise<SerialProxy> {
  const pty = new RawPty();
  const token = new SerialPort({ path: tokenPort, baudRate: 115_200 });
  await new Promise<void>((resolve, reject) => token.once('open', resolve).once('error', reject));
  token.on('data', (chunk: Buffer) => {
    pty.write(chunk);
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    pty.close();
    if (token.isOpen) await new Promise((resolve) => token.close(resolve));
  };
  let cutLine: (line: string) => void = () => {};
  const cut = new Promise<string>((resolve) => (cutLine = resolve));
  let buffered = '';
  pty.input.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    for (let nl = buffered.indexOf('\n'); nl >= 0 && !closed; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (cutOn(line)) {
        void close().then(() => cutLine(line));
        return;
      }
      token.write(line + '\n');
    }
  });
  return { path: pty.path, cut, close };
}
