/**
 * The validation server a simulation runs against: the real host (host/start.ts) in this
 * process, on the simulation's virtual clock, rate limits off, reached through its token API.
 * Requests travel through fastify's `inject` rather than a socket: the same routes, hooks,
 * schemas and stores, at a fraction of a loopback round trip's cost (see README, "A year in a
 * pocket").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CodedError } from '../protocol/coded-error.ts';
import { ServerClient } from '../host/bridge/server-client.ts';
import { usageError } from '../host/cli/errors.ts';
import { newApiKey } from '../host/server/secrets.ts';
import { startHost, type RunningHost } from '../host/start.ts';

/** What the simulation asks of the validation server: its token API, as the bridge's client speaks it. */
export type TokenApi = Pick<ServerClient, 'register' | 'verify' | 'resync' | 'advanceCounter' | 'reportLost' | 'changeState'>;

export interface SimulationServer {
  readonly api: TokenApi;
  readonly dbFile: string;
  close(): Promise<void>;
}

const SHARED_MEMORY = '/dev/shm';

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

export async function startSimulationServer(options: { db?: string; now: () => number }): Promise<SimulationServer> {
  if (options.db !== undefined && isPostgresUrl(options.db)) {
    throw usageError('NV_DB_UNSUPPORTED', 'this build of the validation server keeps its tokens in SQLite only: give --db a file (PostgreSQL stores are not in this build yet)');
  }
  let scratch: string | undefined;
  let dbFile: string;
  if (options.db === undefined) {
    // The database of a simulation is scratch: on a memory-backed /dev/shm its fsyncs cost nothing.
    scratch = fs.mkdtempSync(path.join(fs.existsSync(SHARED_MEMORY) ? SHARED_MEMORY : os.tmpdir(), 'nv-simulation-'));
    dbFile = path.join(scratch, 'tokens.db');
  } else {
    dbFile = path.resolve(options.db);
    if (fs.existsSync(dbFile)) {
      throw new CodedError('NV_SIM_DB_EXISTS', `${options.db} exists already: a simulation registers its own tokens in a new database (give a file that does not exist yet)`);
    }
  }
  const keys = { admin: newApiKey('admin'), client: newApiKey('client') };
  let host: RunningHost;
  try {
    host = await startHost({ dbFile, host: '127.0.0.1', port: 0, apiKeys: keys, rateLimitPerSecond: 0, env: {}, now: options.now });
  } catch (error) {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
  const inject: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const answer = await host.app.inject({
      method: (init?.method ?? 'GET') as 'GET',
      url: url.pathname + url.search,
      headers: init?.headers as Record<string, string>,
      payload: init?.body as string | undefined,
    });
    return new Response(answer.statusCode === 204 ? null : answer.body, { status: answer.statusCode, headers: { 'content-type': String(answer.headers['content-type'] ?? '') } });
  };
  const api = new ServerClient({ url: host.url, adminKey: keys.admin, clientKey: keys.client }, 10_000, inject);
  return {
    api,
    dbFile,
    async close() {
      await host.close();
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
