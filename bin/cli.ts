/** The one `noegleviser` command: the bridge's commands, the device's commands and the lab, on one root. */
import { readFileSync } from 'node:fs';
import { deviceCommand } from '../device/cli.ts';
import { bridgeCommands } from '../host/cli/bridge-commands.ts';
import { debugLinkCommands } from '../host/cli/debug-link-commands.ts';
import { clientCommand, oidcCommand } from '../host/cli/oidc-commands.ts';
import { organisationCommand, personCommand } from '../host/cli/person-commands.ts';
import { createProgram, runProgram } from '../host/cli/program.ts';
import { serverCommand } from '../host/cli/server-command.ts';
import { storeCommand } from '../host/cli/store-commands.ts';
import { tokenAdminCommand } from '../host/cli/token-admin-commands.ts';
import { verifyCommands } from '../host/cli/verify-commands.ts';
import { simulateCommand } from '../simulation/command.ts';
import { labCommand } from './lab.ts';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export async function main(argv: string[]): Promise<number> {
  const program = createProgram(version, [...bridgeCommands(), ...verifyCommands(), serverCommand(), storeCommand(), tokenAdminCommand(), personCommand(), organisationCommand(), clientCommand(), oidcCommand(), deviceCommand(debugLinkCommands()), labCommand(), simulateCommand()]);
  return runProgram(program, argv);
}
