/** The server's defaults, apart from the server itself (the CLI reads them without loading fastify or SQLite). */
import os from 'node:os';
import path from 'node:path';

export { DEFAULT_PORT } from '../api/defaults.ts';

export function defaultDbFile(env: NodeJS.ProcessEnv = process.env): string {
  const dataHome = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(dataHome, 'noegleviser', 'server', 'tokens.db');
}

/** Secrets in request logs are replaced before they are written. */
export const LOG_REDACTIONS = ['req.headers.authorization', 'req.body.seed', 'req.body.code', 'req.body.codes', 'req.body.password'];
