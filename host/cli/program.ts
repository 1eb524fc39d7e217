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
  for (const sub of command.commands) quietErrors(sub);
}

/** Runs the program on `argv` (without node and script) and returns the exit code. */
export async function runProgram(program: Command, argv: string[], stderr: NodeJS.WritableStream = process.stderr): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommandExit) return error.exitCode;
    if (error instanceof CommanderError) {
      if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync') return error.exitCode;
      stderr.write(`${PROGRAM_NAME}: ${error.message.replace(/^error: /, '').split('\n')[0]} [NV_USAGE]\n`);
      return 2;
    }
    const { line, exitCode } = describeFailure(error);
    stderr.write(`${PROGRAM_NAME}: ${line}\n`);
    if (process.env.NOEGLEVISER_DEBUG && error instanceof Error && error.stack) stderr.write(error.stack + '\n');
    return exitCode;
  }
}
