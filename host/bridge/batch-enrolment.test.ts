/**
 * Batch enrolment's own rules, with tokens and a server that are stand-ins: how many tokens are
 * worked on at once, what each outcome says, a token reached twice, a wrong key stopping the
 * batch, seeds zeroed after use, and a rate-limited registration sent again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EnrollArgs, HelloReply } from '../../protocol/commands.ts';
import { PatientServerClient, enrollBatch, summarize, type BatchOutcome } from './batch-enrolment.ts';
import type { ConnectedToken } from './operations.ts';
import { ServerClient, type TokenRegistration } from './server-client.ts';
import type { TokenSession } from './session.ts';
import { CodedError } from '../../protocol/coded-error.ts';

interface FakeToken {
  serial: string;
  enrolled: boolean;
  secret?: Uint8Array;
}

class FakeServer extends ServerClient {
  readonly records = new Map<string, TokenRegistration>();
  refuseWith: CodedError | undefined;

  constructor() {
    super({ url: 'http://server.invalid', adminKey: 'k' });
  }

  override async register(token: TokenRegistration) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (this.refuseWith) throw this.refuseWith;
    if (this.records.has(token.serial)) throw new CodedError('NV_TOKEN_EXISTS', `token ${token.serial} exists`, 409);
    this.records.set(token.serial, token);
    return {} as Awaited<ReturnType<ServerClient['register']>>;
  }

  override async deleteToken(serial: string) {
    this.records.delete(serial);
  }
}

/** A rack of stand-in tokens: `port-N` reaches token N; anything else cannot be opened. */
function fakeRack(tokens: Record<string, FakeToken>) {
  let open = 0;
  let mostOpen = 0;
  const connect = async (port: string): Promise<ConnectedToken> => {
    await new Promise((resolve) => setTimeout(resolve, 2));
    const token = tokens[port];
    if (!token) throw new CodedError('NV_PORT_OPEN', `cannot open ${port}: No such file or directory`);
    open++;
    mostOpen = Math.max(mostOpen, open);
    const session = {
      async request(command: string, args: unknown) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (command === 'info') return { enrolled: token.enrolled };
        if (command === 'enroll') {
          token.secret = (args as EnrollArgs).secret;
          token.enrolled = true;
          return { counter: 0 };
        }
        throw new Error(`unexpected ${command}`);
      },
    } as unknown as TokenSession;
    return {
      session,
      identity: { serial: token.serial } as HelloReply,
      close: async () => {
        open--;
      },
    };
  };
  return { connect, mostOpen: () => mostOpen, openNow: () => open };
}

const ARGS = { mode: 'hotp', algorithm: 'sha1', digits: 6 } as const;
const newSecret = () => crypto.getRandomValues(new Uint8Array(20));

describe('enrollBatch', () => {
  it('enrolls every token with a seed of its own, never more at once than asked, and zeroes each seed after use', async () => {
    const tokens: Record<string, FakeToken> = {};
    for (let i = 0; i < 40; i++) tokens[`port-${i}`] = { serial: String(40000000 + i), enrolled: i % 10 === 0 };
    const rack = fakeRack(tokens);
    const server = new FakeServer();
    const secrets: Uint8Array[] = [];
    const seen: BatchOutcome[] = [];
    const outcomes = await enrollBatch([...Object.keys(tokens).map((port) => ({ port })), { port: 'nowhere' }], {
      server,
      args: ARGS,
      newSecret: () => {
        const secret = newSecret();
        secrets.push(secret);
        return secret;
      },
      concurrency: 5,
      connect: rack.connect,
      onOutcome: (outcome) => seen.push(outcome),
    });
    expect(rack.mostOpen()).toBe(5);
    expect(rack.openNow()).toBe(0);
    expect(seen).toHaveLength(41);
    const summary = summarize(outcomes);
    expect(summary.enrolled).toHaveLength(36);
    expect(summary.alreadyEnrolled).toEqual(['40000000', '40000010', '40000020', '40000030']);
    expect(summary.failed).toEqual([{ port: 'nowhere', code: 'NV_PORT_OPEN', message: 'cannot open nowhere: No such file or directory' }]);
    // Outcomes come back in the order the tokens were given.
    expect(outcomes.slice(1, 4).map((o) => o.status === 'enrolled' && o.serial)).toEqual(['40000001', '40000002', '40000003']);
    expect(server.records.size).toBe(36);
    const seeds = new Set([...server.records.values()].map((r) => r.seed));
    expect(seeds.size).toBe(36);
    for (const secret of secrets) expect(secret.every((byte) => byte === 0)).toBe(true);
  });

  it('a token reached through two ports is enrolled once; the second is reported, not enrolled again', async () => {
    const token = { serial: '41000001', enrolled: false };
    const rack = fakeRack({ 'port-a': token, 'port-b': token });
    const outcomes = await enrollBatch([{ port: 'port-a' }, { port: 'port-b' }], { server: new FakeServer(), args: ARGS, newSecret, concurrency: 1, connect: rack.connect });
    expect(outcomes[0]).toMatchObject({ status: 'enrolled', serial: '41000001' });
    expect(outcomes[1]).toMatchObject({ status: 'failed', serial: '41000001', code: 'NV_DUPLICATE_TOKEN' });
  });

  it("a wrong API key stops the batch at the server's first refusal, as one error, before the other tokens are touched", async () => {
    const tokens: Record<string, FakeToken> = {};
    for (let i = 0; i < 20; i++) tokens[`port-${i}`] = { serial: String(42000000 + i), enrolled: false };
    const rack = fakeRack(tokens);
    const server = new FakeServer();
    server.refuseWith = new CodedError('NV_UNAUTHORIZED', 'the server refused: an API key is needed', 401);
    const seen: BatchOutcome[] = [];
    const error = await enrollBatch(
      Object.keys(tokens).map((port) => ({ port })),
      { server, args: ARGS, newSecret, concurrency: 2, connect: rack.connect, onOutcome: (o) => seen.push(o) },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodedError);
    expect(error).toMatchObject({ code: 'NV_UNAUTHORIZED' });
    expect(Object.values(tokens).filter((t) => t.enrolled)).toEqual([]);
    expect(seen).toEqual([]);
  });
});

describe('PatientServerClient', () => {
  let server: http.Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function serve(handler: http.RequestListener): Promise<string> {
    server = http.createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('sends a registration the rate limit turned away again, and gives up on other refusals at once', async () => {
    const seen: string[] = [];
    const url = await serve((request, response) => {
      seen.push(`${request.method} ${request.url}`);
      const limited = seen.filter((s) => s.startsWith('POST')).length <= 2;
      response.writeHead(limited ? 429 : 409, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: limited ? { code: 'NV_RATE_LIMITED', message: 'slow down' } : { code: 'NV_TOKEN_EXISTS', message: 'exists' } }));
    });
    const client = new PatientServerClient({ url, adminKey: 'k' });
    await client.checkReachable();
    const error = await client.register({ serial: '43000001', kind: 'hotp', algorithm: 'sha1', digits: 6, seed: '00' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NV_TOKEN_EXISTS', status: 409 });
    expect(seen).toEqual(['GET /health', 'POST /v1/tokens', 'POST /v1/tokens', 'POST /v1/tokens']);
  });

  it('says when the server cannot be reached', async () => {
    const client = new PatientServerClient({ url: 'http://127.0.0.1:9', adminKey: 'k' });
    await expect(client.checkReachable()).rejects.toMatchObject({ code: 'NV_SERVER_UNREACHABLE' });
  });
});
