/**
 * `noegleviser` on a terminal: the CLI run on a real pseudo-terminal (node-pty), so that it sees
 * a TTY on its standard input and asks its questions there, as it does for a person.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from './processes.ts';

const require = createRequire(import.meta.url);

interface Pty {
  onData(listener: (data: string) => void): void;
  onExit(listener: (event: { exitCode: number; signal?: number }) => void): void;
  write(data: string): void;
  kill(signal?: string): void;
}

export interface TerminalCli {
  /** Everything the terminal showed so far (stdout and stderr together, as on a screen). */
  output(): string;
  /** Resolves once the terminal showed `text`; rejects if the process ends first. */
  waitFor(text: string): Promise<void>;
  /** Types a line, as a person does (the terminal turns Enter into a newline). */
  type(line: string): void;
  readonly exited: Promise<{ code: number; output: string }>;
  kill(): void;
}

export function cliOnTerminal(args: string[], env: NodeJS.ProcessEnv): TerminalCli {
  const pty = (require('node-pty') as { spawn(file: string, args: string[], options: object): Pty }).spawn(
    process.execPath,
    [path.join(ROOT, 'bin', 'noegleviser.mjs'), ...args],
    { cols: 200, rows: 40, cwd: ROOT, env: { ...process.env, ...env } },
  );
  let output = '';
  let ended = false;
  const waiters: { text: string; resolve(): void; reject(error: Error): void }[] = [];
  pty.onData((data) => {
    output += data;
    for (const waiter of waiters.filter((w) => output.includes(w.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  const exited = new Promise<{ code: number; output: string }>((resolve) =>
    pty.onExit(({ exitCode }) => {
      ended = true;
      for (const waiter of waiters.splice(0)) waiter.reject(new Error(`the CLI ended (exit ${exitCode}) before showing "${waiter.text}": ${output}`));
      // The pty may still hold output the process wrote just before it ended.
      setTimeout(() => resolve({ code: exitCode, output }), 50);
    }),
  );
  return {
    output: () => output,
    waitFor: (text) =>
      output.includes(text)
        ? Promise.resolve()
        : ended
          ? Promise.reject(new Error(`the CLI ended before showing "${text}": ${output}`))
          : new Promise<void>((resolve, reject) => waiters.push({ text, resolve, reject })),
    type: (line) => pty.write(line + '\r'),
    exited,
    kill: () => {
      if (!ended) pty.kill('SIGKILL');
    },
  };
}
