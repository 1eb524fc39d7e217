/**
 * The lab (`npm start`): the validation server with the login service on its embedded SQLite, an
 * emulated token with its face, the lab page at /lab (the token, the outbox and the login in one
 * window), and the bridge relaying every press. See lab-run.ts.
 */
import { Command, Option } from 'commander';
import type { LabOptions } from './lab-run.ts';

export function labCommand(): Command {
  return new Command('lab')
    .description('run the lab: validation server and login service, an emulated token with its face, the lab page at /lab, and the bridge relaying each press')
    .addOption(new Option('--dir <dir>', 'where the lab keeps its server data and token').default('.noegleviser/lab'))
    .addOption(new Option('--listen <host:port>', "the server's address").default('127.0.0.1:8421'))
    .addOption(new Option('--headless', 'no face: print a line per press'))
    .addOption(new Option('--verify-presses', 'have the server verify each press at once (the code is then used up, not typed at /login)'))
    // The lab's parts (server, emulator, bridge) load when it runs, not with every command.
    .action(async (options: LabOptions) => (await import('./lab-run.ts')).runLab(options));
}

