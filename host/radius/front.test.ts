/** The front over real UDP on loopback, a client written with node:dgram and the radius package. */
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import radius from 'radius';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RadiusFront, type RadiusAuditEvent, type RadiusFrontOptions } from './front.ts';
import type { RadiusDecision, RadiusVerifier } from './verifier.ts';

const SECRET = 'front-test-shared-secret';
const fronts: RadiusFront[] = [];
const sockets: dgram.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await Promise.all(fronts.splice(0).map((f) => f.close()));
});

async function start(verifier: RadiusVerifier, options: Partial<RadiusFrontOptions> = {}): Promise<RadiusFront> {
  const front = await RadiusFront.start({ port: 0, clients: [{ name: 'vpn', address: '127.0.0.0/8', secret: SECRET }], verifier, ...options });
  fronts.push(front);
  return front;
}

function accessRequest(user: string, password: string, secret = SECRET): Buffer {
  return radius.encode({ code: 'Access-Request', secret, attributes: [['User-Name', user], ['User-Password', password]], add_message_authenticator: true });
}

/** A client socket that collects what comes back. */
async function client(): Promise<{ send(packet: Buffer, port: number): void; answers: Buffer[] }> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  const answers: Buffer[] = [];
  socket.on('message', (m) => answers.push(m));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { send: (packet, port) => socket.send(packet, port, '127.0.0.1'), answers };
}

const acceptAll: RadiusVerifier = {
  authenticate: async () => ({ kind: 'accept' }),
  answerChallenge: async () => ({ kind: 'reject', reason: 'unexpected' }),
};

describe('the RADIUS front', () => {
  it('answers a retransmission with the answer already sent, without asking the verifier again', async () => {
    const verifier = { ...acceptAll, authenticate: vi.fn(async (): Promise<RadiusDecision> => ({ kind: 'accept', message: 'hi' })) };
    const front = await start(verifier);
    const c = await client();
    const packet = accessRequest('alice', 'pw123456');
    c.send(packet, front.address().port);
    await vi.waitFor(() => expect(c.answers).toHaveLength(1));
    c.send(packet, front.address().port);
    await vi.waitFor(() => expect(c.answers).toHaveLength(2));
    expect(c.answers[1]).toEqual(c.answers[0]);
    expect(verifier.authenticate).toHaveBeenCalledTimes(1);
    expect(front.stats()).toMatchObject({ requests: 1, accepts: 1, duplicates: 1 });
    // The same user and password in a new request (a new authenticator) is a new request.
    c.send(accessRequest('alice', 'pw123456'), front.address().port);
    await vi.waitFor(() => expect(c.answers).toHaveLength(3));
    expect(verifier.authenticate).toHaveBeenCalledTimes(2);
  });

  it('drops a retransmission that arrives while the first is still being decided, and answers once', async () => {
    let decide: (d: RadiusDecision) => void = () => {};
    const verifier = { ...acceptAll, authenticate: vi.fn(() => new Promise<RadiusDecision>((resolve) => (decide = resolve))) };
    const front = await start(verifier);
    const c = await client();
    const packet = accessRequest('alice', 'pw123456');
    c.send(packet, front.address().port);
    await vi.waitFor(() => expect(verifier.authenticate).toHaveBeenCalledTimes(1));
    c.send(packet, front.address().port);
    await vi.waitFor(() => expect(front.stats().dropped.in_progress).toBe(1));
    decide({ kind: 'reject', reason: 'wrong_code' });
    await vi.waitFor(() => expect(c.answers).toHaveLength(1));
    expect(c.answers[0]![0]).toBe(3);
    expect(verifier.authenticate).toHaveBeenCalledTimes(1);
  });

  it('limits each client: over its rate, requests are dropped and counted', async () => {
    let now = 1_000_000;
    const front = await start(acceptAll, { rateLimit: { perSecond: 1, burst: 2 }, now: () => now });
    const c = await client();
    for (let i = 0; i < 3; i++) c.send(accessRequest(`u${i}`, 'pw'), front.address().port);
    await vi.waitFor(() => expect(front.stats().dropped.rate_limited).toBe(1));
    await vi.waitFor(() => expect(c.answers).toHaveLength(2));
    now += 1000; // a second later, one more fits
    c.send(accessRequest('u3', 'pw'), front.address().port);
    await vi.waitFor(() => expect(c.answers).toHaveLength(3));
  });

  it('drops a request from an address no client is configured for, and one under the wrong secret', async () => {
    const front = await start(acceptAll, { clients: [{ name: 'elsewhere', address: '10.1.2.0/24', secret: SECRET }] });
    const c = await client();
    c.send(accessRequest('alice', 'pw'), front.address().port);
    await vi.waitFor(() => expect(front.stats().dropped.unknown_client).toBe(1));
    const other = await start(acceptAll);
    c.send(accessRequest('alice', 'pw', 'not-the-secret'), other.address().port);
    await vi.waitFor(() => expect(other.stats().dropped.bad_message_authenticator).toBe(1));
    expect(c.answers).toEqual([]);
  });

  it("sends no answer when the verifier fails (the client retries or fails over), and counts it", async () => {
    const front = await start({ ...acceptAll, authenticate: async () => Promise.reject(new Error('store down')) });
    const c = await client();
    c.send(accessRequest('alice', 'pw'), front.address().port);
    await vi.waitFor(() => expect(front.stats().dropped.verifier_failed).toBe(1));
    expect(c.answers).toEqual([]);
  });

  it('tells the audit hook each decision and drop, never a password, code or State', async () => {
    const events: RadiusAuditEvent[] = [];
    const verifier: RadiusVerifier = {
      authenticate: async ({ password }) => (password === 'pw' ? { kind: 'challenge', message: 'Press your token\'s button', state: Buffer.from('state-secret-77') } : { kind: 'reject', reason: 'wrong_password' }),
      answerChallenge: async ({ response }) => (response === '755224' ? { kind: 'accept' } : { kind: 'reject', reason: 'wrong_code' }),
    };
    const front = await start(verifier, { audit: (e) => events.push(e) });
    const c = await client();
    c.send(accessRequest('alice', 'pw'), front.address().port);
    c.send(accessRequest('bob', 'hunter2hunter2'), front.address().port);
    c.send(radius.encode({ code: 'Access-Request', secret: SECRET, attributes: [['User-Name', 'alice'], ['User-Password', '755224'], ['State', Buffer.from('state-secret-77')]], add_message_authenticator: true }), front.address().port);
    c.send(radius.encode({ code: 'Access-Request', secret: SECRET, attributes: [['User-Name', 'carl'], ['User-Password', 'pw']] }), front.address().port);
    await vi.waitFor(() => expect(events).toHaveLength(4));
    expect(events.map((e) => [e.user, e.outcome, e.reason]).sort()).toEqual(
      [
        ['alice', 'challenge', undefined],
        ['alice', 'accept', undefined],
        ['bob', 'reject', 'wrong_password'],
        [null, 'dropped', 'no_message_authenticator'],
      ].sort(),
    );
    const text = JSON.stringify(events);
    for (const secret of ['hunter2', '755224', 'state-secret', SECRET]) expect(text).not.toContain(secret);
    expect(events.every((e) => e.client === 'vpn' && e.address === '127.0.0.1')).toBe(true);
  });

  it('answers CHAP with a reject (a one-time code cannot be checked through CHAP)', async () => {
    const front = await start(acceptAll);
    const c = await client();
    c.send(radius.encode({ code: 'Access-Request', secret: SECRET, attributes: [['User-Name', 'alice'], ['CHAP-Password', crypto.randomBytes(17)]], add_message_authenticator: true }), front.address().port);
    await vi.waitFor(() => expect(c.answers).toHaveLength(1));
    expect(c.answers[0]![0]).toBe(3);
  });
});
