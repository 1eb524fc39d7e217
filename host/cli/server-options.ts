/**
 * Where the bridge finds the validation server and its keys: command-line options, else the
 * environment (NOEGLEVISER_SERVER, NOEGLEVISER_ADMIN_KEY, NOEGLEVISER_CLIENT_KEY), else a config
 * file (--config, or $XDG_CONFIG_HOME/noegleviser/bridge.json) holding {"server","adminKey","clientKey"}.
 * Keys are better kept in the environment or the file than on a command line, which shells remember.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { ServerClient, type ServerEndpoint } from '../bridge/server-client.ts';
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
    .addOption(new Option('--config <file>', 'a JSON file with server, adminKey and clientKey'));
}

export function defaultConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'noegleviser', 'bridge.json');
}

/** The server endpoint, or undefined when none is configured anywhere. */
export function resolveEndpoint(options: ServerCliOptions, env: NodeJS.ProcessEnv = process.env): ServerEndpoint | undefined {
  const file = options.config ?? defaultConfigFile(env);
  let config: { server?: unknown; adminKey?: unknown; clientKey?: unknown } = {};
  if (options.config !== undefined || fs.existsSync(file)) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw usageError('NV_BAD_CONFIG', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    try {
      config = JSON.parse(text) as typeof config;
    } catch {
      throw usageError('NV_BAD_CONFIG', `${file} is not JSON`);
    }
    for (const key of ['server', 'adminKey', 'clientKey'] as const) {
      if (config[key] !== undefined && typeof config[key] !== 'string') throw usageError('NV_BAD_CONFIG', `"${key}" in ${file} must be a string`);
    }
  }
  const url = options.server ?? env.NOEGLEVISER_SERVER ?? (config.server as string | undefined);
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
    adminKey: options.adminKey ?? env.NOEGLEVISER_ADMIN_KEY ?? (config.adminKey as string | undefined),
    clientKey: options.clientKey ?? env.NOEGLEVISER_CLIENT_KEY ?? (config.clientKey as string | undefined),
  };
}

export function requireServer(options: ServerCliOptions): ServerClient {
  const endpoint = resolveEndpoint(options);
  if (!endpoint) throw usageError('NV_NO_SERVER', 'no validation server given: --server URL, NOEGLEVISER_SERVER or the config file');
  return new ServerClient(endpoint);
}
