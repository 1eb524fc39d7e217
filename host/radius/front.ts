/**
 * The RADIUS front (RFC 2865 over UDP): per-client shared secrets by source address, PAP
 * Access-Requests answered with Accept, Reject or Challenge as a RadiusVerifier decides.
 *
 * - Every request must carry a valid Message-Authenticator (BlastRADIUS, CVE-2024-3596); one
 *   without it, or with a wrong one, is dropped and counted. Every answer carries one, first.
 * - A request from an address no client is configured for is dropped (RFC 2865 section 3).
 * - A retransmission (same source, identifier and Request Authenticator) is answered with the
 *   answer already sent, or dropped while the first is still being decided: the verifier sees
 *   each request once, so a resent code is never counted as a replay.
 * - Each client has a rate limit (a token bucket); requests over it are dropped and counted.
 * - Each decision, and each drop, goes to the audit hook: never a password, a code or a State.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { RadiusPacketError, readAccessRequest, writeAnswer, type AccessRequest, type Answer, type RequestProblem } from './packet.ts';
import type { RadiusDecision, RadiusOrigin, RadiusVerifier } from './verifier.ts';

export interface RadiusClientConfig {
  /** The client's name in the audit (a VPN concentrator, an appliance). */
  readonly name: string;
  /** Its source address, or a network in CIDR notation (`10.0.0.0/24`, `::1/128`). */
  readonly address: string;
  /** The shared secret (RFC 2865 asks for at least 16 octets). */
  readonly secret: string | Uint8Array;
}

export type RadiusDrop = 'unknown_client' | RequestProblem | 'rate_limited' | 'in_progress' | 'verifier_failed';

export interface RadiusAuditEvent {
  readonly at: number;
  readonly client: string | null;
  readonly address: string;
  readonly user: string | null;
  readonly outcome: 'accept' | 'reject' | 'challenge' | 'dropped';
  /** The reject's reason, or why the request was dropped. */
  readonly reason?: string;
}

export interface RadiusStats {
  readonly requests: number;
  readonly accepts: number;
  readonly rejects: number;
  readonly challenges: number;
  /** Retransmissions answered from the cache. */
  readonly duplicates: number;
  readonly dropped: Readonly<Record<RadiusDrop, number>>;
}

export interface RadiusFrontOptions {
  readonly clients: readonly RadiusClientConfig[];
  readonly verifier: RadiusVerifier;
  readonly host?: string;
  /** 1812 by default; 0 for any free port. */
  readonly port?: number;
  /** Requests a second per client, and the burst above it (default: the rate). 200 by default, as the HTTP API's --rate-limit. */
  readonly rateLimit?: { readonly perSecond: number; readonly burst?: number };
  /** How long an answer is kept for retransmissions: 30 s by default (a client's retries end well before). */
  readonly duplicateWindowMs?: number;
  readonly audit?: (event: RadiusAuditEvent) => void;
  readonly now?: () => number;
}

interface Client {
  readonly name: string;
  readonly matches: net.BlockList;
  readonly secret: Buffer;
  tokens: number;
  refilledAt: number;
}

interface Remembered {
  readonly at: number;
  answer: Buffer | undefined;
}

const MAX_REMEMBERED = 50_000;

export class RadiusFront {
  private readonly clients: Client[];
  private readonly remembered = new Map<string, Remembered>();
  private readonly counts = { requests: 0, accepts: 0, rejects: 0, challenges: 0, duplicates: 0 };
  private readonly drops: Record<RadiusDrop, number> = {
    unknown_client: 0,
    malformed: 0,
    not_access_request: 0,
    no_message_authenticator: 0,
    bad_message_authenticator: 0,
    rate_limited: 0,
    in_progress: 0,
    verifier_failed: 0,
  };
  private readonly now: () => number;
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly window: number;
  private readonly pending = new Set<Promise<void>>();

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly options: RadiusFrontOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.perSecond = options.rateLimit?.perSecond ?? 200;
    this.burst = options.rateLimit?.burst ?? this.perSecond;
    this.window = options.duplicateWindowMs ?? 30_000;
    this.clients = options.clients.map((config) => {
      const matches = new net.BlockList();
      const [address = '', prefix] = config.address.split('/');
      const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
      if (!net.isIP(address)) throw new Error(`RADIUS client ${config.name}: ${config.address} is not an address or a network`);
      if (prefix === undefined) matches.addAddress(address, family);
      else matches.addSubnet(address, Number(prefix), family);
      const secret = Buffer.from(config.secret);
      if (secret.length === 0) throw new Error(`RADIUS client ${config.name}: an empty shared secret`);
      return { name: config.name, matches, secret, tokens: this.burst, refilledAt: this.now() };
    });
    socket.on('message', (datagram, from) => {
      const work = this.handle(datagram, from)
        .catch(() => this.drop('verifier_failed', from, undefined, null))
        .finally(() => this.pending.delete(work));
      this.pending.add(work);
    });
  }

  static async start(options: RadiusFrontOptions): Promise<RadiusFront> {
    const host = options.host ?? '127.0.0.1';
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const front = new RadiusFront(socket, options);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port ?? 1812, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return front;
  }

  address(): { address: string; port: number } {
    const { address, port } = this.socket.address();
    return { address, port };
  }

  stats(): RadiusStats {
    return { ...this.counts, dropped: { ...this.drops } };
  }

  /** Stops receiving, lets the requests under way finish, and closes the socket. */
  async close(): Promise<void> {
    this.socket.removeAllListeners('message');
    await Promise.allSettled([...this.pending]);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private clientFor(address: string): Client | undefined {
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    return this.clients.find((c) => c.matches.check(address, family));
  }

  private drop(reason: RadiusDrop, from: dgram.RemoteInfo, client: Client | undefined, user: string | null): void {
    this.drops[reason]++;
    this.audit({ client: client?.name ?? null, address: from.address, user, outcome: 'dropped', reason });
  }

  private audit(event: Omit<RadiusAuditEvent, 'at'>): void {
    try {
      this.options.audit?.({ at: this.now(), ...event });
    } catch {
      // An audit hook that throws must not take the front down; the hook's owner logs its own failures.
    }
  }

  /** A token bucket per client. */
  private withinRate(client: Client): boolean {
    const now = this.now();
    client.tokens = Math.min(this.burst, client.tokens + ((now - client.refilledAt) / 1000) * this.perSecond);
    client.refilledAt = now;
    if (client.tokens < 1) return false;
    client.tokens -= 1;
    return true;
  }

  private forget(now: number): void {
    for (const [key, entry] of this.remembered) {
      if (now - entry.at < this.window && this.remembered.size <= MAX_REMEMBERED) break;
      this.remembered.delete(key);
    }
  }

  private async handle(datagram: Buffer, from: dgram.RemoteInfo): Promise<void> {
    const client = this.clientFor(from.address);
    if (!client) return this.drop('unknown_client', from, undefined, null);
    let request: AccessRequest;
    try {
      request = readAccessRequest(datagram, client.secret);
    } catch (error) {
      if (error instanceof RadiusPacketError) return this.drop(error.problem, from, client, null);
      throw error;
    }
    const now = this.now();
    this.forget(now);
    const key = `${from.address}|${from.port}|${request.identifier}|${request.authenticator.toString('hex')}`;
    const known = this.remembered.get(key);
    if (known) {
      if (!known.answer) return this.drop('in_progress', from, client, request.userName);
      this.counts.duplicates++;
      this.socket.send(known.answer, from.port, from.address);
      return;
    }
    if (!this.withinRate(client)) return this.drop('rate_limited', from, client, request.userName);
    const entry: Remembered = { at: now, answer: undefined };
    this.remembered.set(key, entry);
    this.counts.requests++;

    const origin: RadiusOrigin = { client: client.name, address: from.address, port: from.port };
    let decision: RadiusDecision;
    try {
      if (request.password === undefined) {
        decision = { kind: 'reject', reason: 'chap_not_supported', message: 'Use PAP: a one-time code cannot be checked through CHAP' };
      } else if (request.state) {
        decision = await this.options.verifier.answerChallenge({ user: request.userName, state: request.state, response: request.password, origin });
      } else {
        decision = await this.options.verifier.authenticate({ user: request.userName, password: request.password, origin });
      }
    } catch {
      // No answer: the client retries or fails over, as it does when a RADIUS server is down.
      this.remembered.delete(key);
      return this.drop('verifier_failed', from, client, request.userName);
    }

    const answer: Answer =
      decision.kind === 'accept'
        ? { code: 'Access-Accept', message: decision.message }
        : decision.kind === 'reject'
          ? { code: 'Access-Reject', message: decision.message }
          : { code: 'Access-Challenge', message: decision.message, state: decision.state };
    try {
      entry.answer = writeAnswer(request, answer, client.secret);
    } catch {
      this.remembered.delete(key);
      return this.drop('verifier_failed', from, client, request.userName); // e.g. a State over 253 octets
    }
    if (decision.kind === 'accept') this.counts.accepts++;
    else if (decision.kind === 'reject') this.counts.rejects++;
    else this.counts.challenges++;
    this.audit({ client: client.name, address: from.address, user: request.userName, outcome: decision.kind, ...(decision.kind === 'reject' ? { reason: decision.reason } : {}) });
    this.socket.send(entry.answer, from.port, from.address);
  }
}
