/**
 * A `noegleviser` process on a terminal of its own (a pty, as a person's terminal is), for the
 * faces: they draw only when standard input and output are a TTY, and read keys from it.
 */
import path from 'node:path';
import { spawn, type IPty } from 'node-pty';
import { ROOT } from './processes.ts';

export interface TerminalProcess<Ready> {
  readonly ready: Ready;
  /** Everything it drew so far. */
  output(): string;
  /** Types keys, as a person at the terminal does. */
  type(keys: string): void;
  /** Resolves with the exit code once it has ended by itself. */
  readonly exited: Promise<number>;
  /** SIGTERM by default; resolves with the exit code once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Starts `noegleviser ARGS` on a pty and waits for its JSON ready line. */
export async function spawnOnTerminal<Ready>(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<TerminalProcess<Ready>> {
  const terminal: IPty = spawn(process.execPath, [path.join(ROOT, 'bin', 'noegleviser.mjs'), ...args], {
    cols: 100,
    rows: 30,
    cwd: ROOT,
    env: { ...process.env, ...env } as Record<string, string>,
  });
  let output = '';
  let exitCode: number | undefined;
  const exited = new Promise<number>((resolve) =>
    terminal.onExit(({ exitCode: code }) => {
      exitCode = code;
      resolve(code);
    }),
  );
  terminal.onData((data) => (output += data));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (exitCode === undefined) terminal.kill(signal);
    return exited;
  };
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop('SIGKILL');
      reject(new Error(`not ready within ${timeoutMs} ms; the terminal shows: ${output}`));
    }, timeoutMs);
    const listener = terminal.onData(() => {
      // The terminal turns \n into \r\n; the ready line is one whole line before the face is drawn.
      const line = output
        .slice(0, output.lastIndexOf('\n') + 1)
        .split(/\r?\n/)
        .find((l) => l.startsWith('{') && l.includes('"event":"ready"'));
      if (!line) return;
      clearTimeout(timer);
      listener.dispose();
      resolve(JSON.parse(line) as Ready);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ready; the terminal shows: ${output}`));
    });
  });
  return { ready, output: () => output, type: (keys) => terminal.write(keys), exited, stop };
}
