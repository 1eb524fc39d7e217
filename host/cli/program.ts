/** The `noegleviser` program: commands mounted on one commander root, and the one place errors are printed. */
import { Command, CommanderError } from 'commander';
import { CommandExit, describeFailure } from './errors.ts';

export const PROGRAM_NAME = 'noegleviser';

export function createProgram(version: string, commands: Command[]): Command {
  const program = new Command(PROGRAM_NAME)
    .description('an open OATH code token: emulate it, talk to it, enroll it')
    .version(version)
    .showSuggestionAfterError(true);
  for (const command of commands) program.addCommand(command);
  quietErrors(program);
  return program;
}

/** Commander throws instead of exiting, and prints no error of its own: runProgram prints one line. */
function quietErrors(command: Command): void {
  command.exitOverride();
  command.configureOutput({ outputError: () => {} });
  command.showSuggestionAfterError(true);
  for (const sub of command.commands) quietErrors(sub);
}

/** Whether the command line asks for JSON (`--json` before any `--`): failures are then a JSON object on stdout too. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** Commander's message as one line: "unknown command 'enrol' (did you mean enroll?)". */
function usageLine(error: CommanderError): string {
  return error.message
    .replace(/^error: /, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line, i) => (i === 0 ? line : line.replace(/^\(Did you mean/, '(did you mean')))
    .join(' ');
}

export interface ProgramStreams {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Runs the program on `argv` (without node and script) and returns the exit code. */
export async function runProgram(program: Command, argv: string[], streams: ProgramStreams = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const json = wantsJson(argv);
  const fail = (code: string, message: string, line: string, exitCode: number): number => {
    if (json) streams.stdout.write(JSON.stringify({ error: { code, message } }) + '\n');
    streams.stderr.write(`${PROGRAM_NAME}: ${line}\n`);
    return exitCode;
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommandExit) return error.exitCode;
    if (error instanceof CommanderError) {
      if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      // A command that needs a subcommand, given none (`noegleviser token`): its usage is printed, and that is a usage error.
      if (error.code === 'commander.help') return 2;
      if (error.code === 'commander.executeSubCommandAsync') return error.exitCode;
      const message = usageLine(error);
      return fail('NV_USAGE', message, `${message} [NV_USAGE]`, 2);
    }
    const failure = describeFailure(error);
    const result = fail(failure.code, failure.message, failure.line, failure.exitCode);
    if (process.env.NOEGLEVISER_DEBUG && error instanceof Error && error.stack) streams.stderr.write(error.stack + '\n');
    return result;
  }
}
