/**
 * Where the bridge finds the validation server and its keys: command-line options, else the
 * environment (NOEGLEVISER_SERVER, NOEGLEVISER_ADMIN_KEY, NOEGLEVISER_CLIENT_KEY), else a config
 * file (--config, or $XDG_CONFIG_HOME/noegleviser/bridge.json) holding {"server","adminKey","clientKey"}, or the
 * lab's own key file (.noegleviser/lab/api-keys.json: {"admin","client"}, its server the lab's default address
 * unless the file or --server says otherwise).
 * Keys are better kept in the environment or the file than on a command line, which shells remember.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { ServerClient, type ServerEndpoint } from '../bridge/server-client.ts';
import { DEFAULT_PORT } from '../api/defaults.ts';
import { usageError } from './errors.ts';

export interface ServerCliOptions {
  server?: string;
  adminKey?: string;
  clientKey?: string;
  config?: string;
}

export function addServerOptions(command: Command): Command {
  return command
    .addOption(new Option('--server <url>', 'the validation server (or NOEGLEVISER_SERVER, or the config file)'))
    .addOption(new Option('--admin-key <key>', 'its admin API key (prefer NOEGLEVISER_ADMIN_KEY or the config file)'))
    .addOption(new Option('--client-key <key>', 'its client API key (prefer NOEGLEVISER_CLIENT_KEY or the config file)'))
    .addOption(new Option('--config <file>', 'a JSON file with server, adminKey and clientKey (or the lab\'s api-keys.json)'));
}

export function defaultConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'noegleviser', 'bridge.json');
}

interface ConfigFile {
  readonly server?: string;
  readonly adminKey?: string;
  readonly clientKey?: string;
}

/** The lab's address when nothing else names one (`noegleviser lab` listens there by default). */
const LAB_SERVER = `http://127.0.0.1:${DEFAULT_PORT}`;

/** Reads a bridge config, or the lab's api-keys.json (`admin`, `client`), as one shape. */
function readConfig(file: string): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw usageError('NV_BAD_CONFIG', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw usageError('NV_BAD_CONFIG', `${file} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw usageError('NV_BAD_CONFIG', `${file} must hold a JSON object`);
  const fields = value as Record<string, unknown>;
  for (const key of ['server', 'adminKey', 'clientKey', 'admin', 'client'] as const) {
    if (fields[key] !== undefined && typeof fields[key] !== 'string') throw usageError('NV_BAD_CONFIG', `"${key}" in ${file} must be a string`);
  }
  const lab = fields.admin !== undefined || fields.client !== undefined;
  if (lab && (fields.adminKey !== undefined || fields.clientKey !== undefined)) {
    throw usageError('NV_BAD_CONFIG', `${file} mixes adminKey/clientKey with the lab's admin/client: give one pair`);
  }
  return {
    server: (fields.server as string | undefined) ?? (lab ? LAB_SERVER : undefined),
    adminKey: (fields.adminKey ?? fields.admin) as string | undefined,
    clientKey: (fields.clientKey ?? fields.client) as string | undefined,
  };
}

/** The server endpoint, or undefined when none is configured anywhere. */
export function resolveEndpoint(options: ServerCliOptions, env: NodeJS.ProcessEnv = process.env): ServerEndpoint | undefined {
  const file = options.config ?? defaultConfigFile(env);
  const config: ConfigFile = options.config !== undefined || fs.existsSync(file) ? readConfig(file) : {};
  const url = options.server ?? env.NOEGLEVISER_SERVER ?? config.server;
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError('NV_BAD_ARGUMENT', `--server must be a URL such as http://127.0.0.1:8421, not "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw usageError('NV_BAD_ARGUMENT', `--server must be an http or https URL`);
  return {
    url,
    adminKey: options.adminKey ?? env.NOEGLEVISER_ADMIN_KEY ?? config.adminKey,
    clientKey: options.clientKey ?? env.NOEGLEVISER_CLIENT_KEY ?? config.clientKey,
  };
}

export function requireServer(options: ServerCliOptions): ServerClient {
  const endpoint = resolveEndpoint(options);
  if (!endpoint) throw usageError('NV_NO_SERVER', 'no validation server given: --server URL, NOEGLEVISER_SERVER or the config file');
  return new ServerClient(endpoint);
}
