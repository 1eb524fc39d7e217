/**
 * Asking before something that cannot be undone (a wipe, a deleted or revoked token, a batch
 * enrolment): on a terminal the command asks and waits for "y"; a flag (`--force`, `--yes`) says
 * yes beforehand. Without a terminal to ask on and without the flag, the command refuses before it
 * touches anything.
 */
import readline from 'node:readline';
import { usageError } from './errors.ts';
import { CodedError } from '../../protocol/coded-error.ts';

export interface Confirmation {
  /** Asks `question` (unless the flag said yes already); throws NV_DECLINED for anything but yes. */
  ask(question: string): Promise<void>;
}

export interface ConfirmStreams {
  readonly input: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
}

/**
 * Checks at once that the command may ask (a terminal) or need not (`given`): call it before the
 * command does anything, and `ask` once it knows what it will do.
 */
export function confirmation(given: boolean | undefined, flag: '--force' | '--yes', what: string, streams: ConfirmStreams = { input: process.stdin, output: process.stderr }): Confirmation {
  if (given) return { ask: async () => {} };
  if (!streams.input.isTTY) {
    throw usageError('NV_NOT_CONFIRMED', `${what} asks first, and there is no terminal to ask on: give ${flag} to go ahead`);
  }
  return {
    async ask(question) {
      const answer = await readAnswer(`${question} [y/N] `, streams);
      if (!/^y(es)?$/i.test(answer.trim())) throw new CodedError('NV_DECLINED', `not confirmed: nothing was done (${flag} skips the question)`);
    },
  };
}

function readAnswer(prompt: string, streams: ConfirmStreams): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: streams.input, output: streams.output, terminal: false });
    let answered = false;
    streams.output.write(prompt);
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(line);
    });
    // End of input (Ctrl-D) is a no.
    rl.once('close', () => {
      if (!answered) resolve('');
    });
  });
}
