/**
 * Enrolling many tokens at once (a lab's batch): every token gets a fresh seed of its own, written
 * with the same atomic enrolment-with-server as a single token (enrolment.ts), a few tokens at a
 * time. One token's failure never stops the others; each outcome says which token and why.
 * Seeds exist here only between their generation and the token's write, and are zeroed after.
 */
import type { EnrollArgs } from '../../protocol/commands.ts';
import { enrollWithServer } from './enrolment.ts';
import { connectToken, type ConnectedToken } from './operations.ts';
import { ServerClient, type TokenRegistration } from './server-client.ts';
import { CodedError } from '../../protocol/coded-error.ts';

/** A token to enrol: where to reach it, and its serial number when already known (from an announcement). */
export interface BatchTarget {
  readonly port: string;
  readonly serial?: string;
  /** Another way to the same token (an emulator's HID), tried when `port` is held by another program. */
  readonly alternate?: string;
}

export type BatchOutcome =
  | { readonly status: 'enrolled'; readonly port: string; readonly serial: string; readonly counter?: number }
  | { readonly status: 'already-enrolled'; readonly port: string; readonly serial: string }
  | { readonly status: 'failed'; readonly port: string; readonly serial?: string; readonly code: string; readonly message: string };

export interface BatchSummary {
  readonly enrolled: string[];
  readonly alreadyEnrolled: string[];
  readonly failed: { port: string; serial?: string; code: string; message: string }[];
}

export interface BatchOptions {
  readonly server: ServerClient;
  /** What every token gets, but its seed. */
  readonly args: Omit<EnrollArgs, 'secret'>;
  /** A fresh random seed, called once for each token that is enrolled. */
  readonly newSecret: () => Uint8Array;
  /** How many tokens are enrolled at the same time. */
  readonly concurrency: number;
  /** Opens a token (default: connectToken). */
  readonly connect?: (port: string) => Promise<ConnectedToken>;
  /** Told of every outcome as it comes. */
  readonly onOutcome?: (outcome: BatchOutcome) => void;
}

/**
 * Failures that are the server's answer to every token alike (a wrong or missing API key): the
 * first one stops the batch, and is its one error. No token can have been enrolled by then, since
 * every registration would have met the same refusal.
 */
const BATCH_STOPPERS: ReadonlySet<string> = new Set(['NV_UNAUTHORIZED', 'NV_FORBIDDEN', 'NV_NO_API_KEY']);

export async function enrollBatch(targets: readonly BatchTarget[], options: BatchOptions): Promise<BatchOutcome[]> {
  const connect = options.connect ?? ((port: string) => connectToken(port));
  const outcomes = new Array<BatchOutcome>(targets.length);
  /** Serial numbers this batch has reached, and through which port: the same token named twice is enrolled once. */
  const claimed = new Map<string, string>();
  let next = 0;
  let stoppedBy: Extract<BatchOutcome, { status: 'failed' }> | undefined;
  const worker = async () => {
    while (!stoppedBy && next < targets.length) {
      const index = next++;
      const outcome = await enrollOne(targets[index]!, options, connect, claimed);
      outcomes[index] = outcome;
      if (outcome.status === 'failed' && BATCH_STOPPERS.has(outcome.code)) stoppedBy ??= outcome;
      else options.onOutcome?.(outcome);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency, targets.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (stoppedBy) throw new CodedError(stoppedBy.code, stoppedBy.message);
  return outcomes;
}

async function enrollOne(
  target: BatchTarget,
  options: BatchOptions,
  connect: (port: string) => Promise<ConnectedToken>,
  claimed: Map<string, string>,
): Promise<BatchOutcome> {
  let { port } = target;
  let serial = target.serial;
  let token: ConnectedToken;
  try {
    token = await connect(port);
  } catch (error) {
    if (!(target.alternate && error instanceof CodedError && error.code === 'NV_PORT_BUSY')) return failed(port, serial, error);
    port = target.alternate;
    try {
      token = await connect(port);
    } catch (again) {
      return failed(port, serial, again);
    }
  }
  try {
    serial = token.identity.serial;
    const other = claimed.get(serial);
    if (other !== undefined) {
      return { status: 'failed', port, serial, code: 'NV_DUPLICATE_TOKEN', message: `token ${serial} was already reached through ${other} in this batch` };
    }
    claimed.set(serial, port);
    const secret = options.newSecret();
    try {
      const result = await enrollWithServer(token, options.server, { ...options.args, secret }, { reconnect: () => connect(port) });
      return { status: 'enrolled', port, serial, ...(result.counter === undefined ? {} : { counter: result.counter }) };
    } finally {
      secret.fill(0);
    }
  } catch (error) {
    if (error instanceof CodedError && error.code === 'NV_TOKEN_ALREADY_ENROLLED' && serial !== undefined) {
      return { status: 'already-enrolled', port, serial };
    }
    return failed(port, serial, error);
  } finally {
    await token.close().catch(() => {});
  }
}

function failed(port: string, serial: string | undefined, error: unknown): BatchOutcome {
  const code = error instanceof CodedError ? error.code : 'NV_INTERNAL';
  const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  return { status: 'failed', port, ...(serial === undefined ? {} : { serial }), code, message };
}

export function summarize(outcomes: readonly BatchOutcome[]): BatchSummary {
  const summary: BatchSummary = { enrolled: [], alreadyEnrolled: [], failed: [] };
  for (const outcome of outcomes) {
    if (outcome.status === 'enrolled') summary.enrolled.push(outcome.serial);
    else if (outcome.status === 'already-enrolled') summary.alreadyEnrolled.push(outcome.serial);
    else summary.failed.push({ port: outcome.port, ...(outcome.serial === undefined ? {} : { serial: outcome.serial }), code: outcome.code, message: outcome.message });
  }
  return summary;
}

/** Waits before each retry of a request the server refused for its rate limit (a fixed window of a second). */
const RATE_LIMIT_BACKOFF_MS = [250, 500, 1000, 1000, 1000, 1000, 1000, 1000];

/**
 * A server client for a batch: a registration or removal the server turned away for its rate limit
 * (HTTP 429, refused before anything was done) is sent again after a pause, rather than failing
 * a token that a second later would have been enrolled.
 */
export class PatientServerClient extends ServerClient {
  /**
   * Whether the server answers at all, asked on its open /health route: unlike any keyed request,
   * this costs nothing of the admin key's rate limit, which the batch's registrations need.
   */
  async checkReachable(timeoutMs = 10_000): Promise<void> {
    try {
      const response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
      await response.arrayBuffer();
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new CodedError('NV_SERVER_UNREACHABLE', `the server at ${this.url} could not be reached (${cause})`);
    }
  }

  override register(token: TokenRegistration) {
    return patiently(() => super.register(token));
  }

  override deleteToken(serial: string) {
    return patiently(() => super.deleteToken(serial));
  }
}

async function patiently<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      const wait = RATE_LIMIT_BACKOFF_MS[attempt];
      if (!(error instanceof CodedError && error.status === 429) || wait === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait * (0.75 + Math.random() / 2)));
    }
  }
}
