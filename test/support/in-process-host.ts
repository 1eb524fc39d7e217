/**
 * A host (token API, login service, lab routes as given) started in this process on a free port of
 * loopback, with the test API keys, no rate limit and plain-HTTP cookies, its database in `dir`.
 * What a test or bench needs besides (a policy, a RADIUS front, a clock) it passes in `options`.
 */
import path from 'node:path';
import { startHost, type HostOptions, type RunningHost } from '../../host/start.ts';
import { TEST_ADMIN_KEY, TEST_CLIENT_KEY } from './processes.ts';

export function startTestHost(dir: string, options: HostOptions = {}): Promise<RunningHost> {
  return startHost({
    dbFile: path.join(dir, 'server', 'tokens.db'),
    port: 0,
    apiKeys: { admin: TEST_ADMIN_KEY, client: TEST_CLIENT_KEY },
    rateLimitPerSecond: 0,
    secureCookies: false,
    env: {},
    ...options,
  });
}
