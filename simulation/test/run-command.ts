/** Runs `noegleviser simulate` as the CLI does (the one program runner), with its output captured and seams for tests. */
import { Writable } from 'node:stream';
import { createProgram, runProgram } from '../../host/cli/program.ts';
import { simulateCommand, type SimulationSeams } from '../command.ts';

export interface CommandRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function collector(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

export async function runSimulate(args: readonly string[], seams: SimulationSeams = {}): Promise<CommandRun> {
  const stdout = collector();
  const stderr = collector();
  const streams = { stdout: stdout.stream, stderr: stderr.stream };
  const program = createProgram('0.0.0-test', [simulateCommand(seams, streams)]);
  const code = await runProgram(program, ['simulate', ...args], streams);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
