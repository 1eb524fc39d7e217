/**
 * Which token a bridge command talks to: `--port` names where it is; `--serial` picks an attached
 * token (a running emulator or a USB HID token) by its serial number; with neither, the one token
 * attached. Several attached and none chosen is a usage error that lists them.
 */
import { Option, type Command } from 'commander';
import { attachedTokens, chooseToken } from '../bridge/discovery.ts';
import { connectToken, type ConnectedToken } from '../bridge/operations.ts';
import { usageError } from './errors.ts';
import { createOutput, type Output } from './output.ts';
import { CodedError } from '../../protocol/coded-error.ts';

export interface TokenChoice {
  port?: string;
  serial?: string;
  json?: boolean;
}

const PORT_HELP = 'the token: a serial port, hid+udp://HOST:PORT (an emulator prints both) or hid:PATH (default: the one token attached)';

/** `--port` and `--serial`, one or the other. */
export function addTokenChoice(command: Command): Command {
  return command
    .addOption(new Option('-p, --port <path>', PORT_HELP).conflicts('serial'))
    .addOption(new Option('--serial <serial>', 'the attached token (emulator or USB HID) with this serial number'));
}

/** The address to open: --port as given, else the attached token chosen by --serial or by being the only one. */
export async function chooseAddress(options: TokenChoice, output: Output = createOutput(Boolean(options.json))): Promise<string> {
  if (options.port !== undefined) return options.port;
  const { tokens, warnings } = await attachedTokens();
  if (tokens.length === 0) for (const warning of warnings) output.note(`warning: ${warning}`);
  try {
    return chooseToken(tokens, options.serial).port;
  } catch (error) {
    // Which of several is for the command line to say.
    if (error instanceof CodedError && error.code === 'NV_SEVERAL_TOKENS') throw usageError(error.code, error.message);
    throw error;
  }
}

/** Runs `work` with a session to the chosen token, always closing it afterwards. */
export async function withToken<T>(options: TokenChoice, work: (token: ConnectedToken, output: Output, address: string) => Promise<T>): Promise<T> {
  const output = createOutput(Boolean(options.json));
  const address = await chooseAddress(options, output);
  const token = await connectToken(address);
  try {
    return await work(token, output, address);
  } finally {
    await token.close();
  }
}
