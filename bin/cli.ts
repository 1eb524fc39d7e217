/** The one `noegleviser` command: the bridge's commands, the device's commands and the lab, on one root. */
import { readFileSync } from 'node:fs';
import { deviceCommand } from '../device/cli.ts';
import { bridgeCommands } from '../host/cli/bridge-commands.ts';
import { createProgram, runProgram } from '../host/cli/program.ts';
import { labCommand } from './lab.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export async function main(argv: string[]): Promise<number> {
  const program = createProgram(version, [...bridgeCommands(), deviceCommand(), labCommand()]);
  return runProgram(program, argv);
}
