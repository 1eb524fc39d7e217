/**
 * `noegleviser` on a terminal of its own: a real pseudo-terminal (node-pty), as a person's
 * terminal is. The faces draw only when standard input and output are a TTY and read their keys
 * from it; the CLI asks its questions there. Tracked like every process of test/support: one
 * still running when its test file ends is stopped then.
 */
import path from 'node:path';
import { spawn } from 'node-pty';
import { ROOT, trackProcess } from './processes.ts';

export interface Terminal {
  /** Everything the terminal showed so far (stdout and stderr together, as on a screen). */
  output(): string;
  /** Resolves once the terminal has shown `text`; rejects if the process ends first. */
  waitFor(text: string): Promise<void>;
  /** Types keys as they are (`' '`, `'q'`, `'\r'` for Enter). */
  type(keys: string): void;
  /** Types an answer and Enter, as a person answers a question. */
  answer(line: string): void;
  /** Resolves once the process has ended by itself or been stopped, with all the terminal showed. */
  readonly exited: Promise<{ code: number; output: string }>;
  /** Sends `signal` (SIGTERM) unless it has ended; resolves with its exit code once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export interface TerminalSize {
  readonly cols: number;
  readonly rows: number;
}

/** Starts `noegleviser ARGS` on a terminal. */
export function onTerminal(args: string[], env: NodeJS.ProcessEnv, size: TerminalSize = { cols: 200, rows: 40 }): Terminal {
  const command = [path.join(ROOT, 'bin', 'noegleviser.mjs'), ...args];
  const terminal = spawn(process.execPath, command, { ...size, cwd: ROOT, env: { ...process.env, ...env } as Record<string, string> });
  let output = '';
  let exitCode: number | undefined;
  const waiters: { text: string; resolve(): void; reject(error: Error): void }[] = [];
  terminal.onData((data) => {
    output += data;
    for (const waiter of waiters.filter((w) => output.includes(w.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  const exited = new Promise<{ code: number; output: string }>((resolve) =>
    terminal.onExit(({ exitCode: code }) => {
      exitCode = code;
      for (const waiter of waiters.splice(0)) waiter.reject(new Error(`noegleviser ended (exit ${code}) before showing "${waiter.text}": ${output}`));
      // The pty may still hold what the process wrote just before it ended.
      setTimeout(() => resolve({ code, output }), 50);
    }),
  );
  const running = () => exitCode === undefined;
  trackProcess({ label: args.join(' '), running, signal: (signal) => terminal.kill(signal), ended: exited });
  return {
    output: () => output,
    waitFor: (text) =>
      output.includes(text)
        ? Promise.resolve()
        : running()
          ? new Promise<void>((resolve, reject) => waiters.push({ text, resolve, reject }))
          : Promise.reject(new Error(`noegleviser ended before showing "${text}": ${output}`)),
    type: (keys) => terminal.write(keys),
    answer: (line) => terminal.write(`${line}\r`),
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (running()) terminal.kill(signal);
      return (await exited).code;
    },
  };
}

/** Starts `noegleviser ARGS` on a terminal and waits for the JSON ready line it prints before drawing. */
export async function onTerminalUntilReady<Ready>(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<Terminal & { readonly ready: Ready }> {
  const terminal = onTerminal(args, env, { cols: 100, rows: 30 });
  const readyLine = () =>
    // The terminal turns \n into \r\n; the ready line is one whole line before the face is drawn.
    terminal
      .output()
      .slice(0, terminal.output().lastIndexOf('\n') + 1)
      .split(/\r?\n/)
      .find((line) => line.startsWith('{') && line.includes('"event":"ready"'));
  const deadline = Date.now() + timeoutMs;
  let line = readyLine();
  while (!line) {
    if (Date.now() > deadline) {
      await terminal.stop('SIGKILL');
      throw new Error(`not ready within ${timeoutMs} ms; the terminal shows: ${terminal.output()}`);
    }
    const ended = await Promise.race([terminal.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 50))]);
    if (ended) throw new Error(`exited (${ended.code}) before ready; the terminal shows: ${ended.output}`);
    line = readyLine();
  }
  return { ...terminal, ready: JSON.parse(line) as Ready };
}
