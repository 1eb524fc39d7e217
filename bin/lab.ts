/**
 * The lab (`npm start`): the validation server on its embedded SQLite, an emulated token with its
 * face, and the bridge between them relaying every press to the server, which says "accepted" or
 * "rejected" beside the code. The first run enrols the token with the server; everything stays in
 * --dir, so the next run continues with the same token, counter and server record.
 */
import { Command, Option } from 'commander';
import type { LabOptions } from './lab-run.ts';

export function labCommand(): Command {
  return new Command('lab')
    .description('run the lab: validation server, an emulated token with its face, and the bridge relaying each press to the server')
    .addOption(new Option('--dir <dir>', 'where the lab keeps its server data and token').default('.noegleviser/lab'))
    .addOption(new Option('--listen <host:port>', "the server's address").default('127.0.0.1:8421'))
    .addOption(new Option('--headless', 'no face: print a line per verdict'))
    // The lab's parts (server, emulator, bridge) load when it runs, not with every command.
    .action(async (options: LabOptions) => (await import('./lab-run.ts')).runLab(options));
}

