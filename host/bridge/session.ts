/**
 * A session with one token: request IDs, one request in flight at a time, timeouts, resending
 * what the token could not read, and typed replies and events. It sees messages only; the link
 * below decides how they travel.
 */
import {
  COMMANDS,
  EVENTS,
  isEventName,
  type CommandName,
  type EventFields,
  type EventName,
  type HelloReply,
  type ReplyFields,
  type RequestArgs,
} from '../../protocol/commands.ts';
import { TOKEN_ERRORS, isTokenErrorCode, type TokenErrorCode } from '../../protocol/errors.ts';
import { decodeFields, encodeFields, type Schema } from '../../protocol/fields.ts';
import { MAX_REQUEST_ID, UNATTRIBUTED_ID, type Message } from '../../protocol/message.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { MessageLink } from './link.ts';
import { CodedError } from '../../protocol/coded-error.ts';

/** The token answered with a coded error. */
export class TokenError extends CodedError {
  constructor(
    readonly tokenCode: TokenErrorCode,
    readonly detail: string | undefined,
    command: string,
  ) {
    super(`NV_TOKEN_${tokenCode.toUpperCase()}`, `token refused ${command}: ${TOKEN_ERRORS[tokenCode]}${detail ? ` (${detail})` : ''}`);
    this.name = 'TokenError';
  }
}

export type TokenEvent = { [E in EventName]: { readonly name: E; readonly seq: number; readonly fields: EventFields[E] } }[EventName];

export interface RequestOptions {
  readonly timeoutMs?: number;
  /** Resends after a timeout (idempotent commands only) or after the token reported a damaged frame. */
  readonly retries?: number;
}

export const DEFAULT_TIMEOUT_MS = 1000;
const DEFAULT_RETRIES = 2;
/** Errors with which a token says it could not read our frame: nothing was done, so resending is safe. */
const UNREAD: ReadonlySet<string> = new Set(['bad_crc', 'bad_frame', 'too_long']);

interface InFlight {
  readonly id: number;
  settle(message: Extract<Message, { kind: 'response' }>): void;
  fail(error: Error): void;
}

export class TokenSession {
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private inFlight: InFlight | undefined;
  private closedBy: Error | undefined;
  private readonly eventListeners = new Set<(event: TokenEvent) => void>();
  private readonly closeListeners: ((error?: Error) => void)[] = [];
  /** Lines from the token that failed their check or did not parse. */
  noise = 0;

  private constructor(readonly link: MessageLink) {
    link.onMessage((message) => this.onMessage(message));
    link.onNoise(() => this.noise++);
    link.onClose((error) => {
      this.closedBy = error ?? new CodedError('NV_LINK_CLOSED', `${link.description} closed`);
      for (const listener of this.closeListeners) listener(error);
    });
  }

  /**
   * Starts a session: says hello and checks the protocol version. A device that does not answer
   * like a token is refused with NV_NOT_A_TOKEN.
   */
  static async start(link: MessageLink, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ session: TokenSession; identity: HelloReply }> {
    const session = new TokenSession(link);
    let identity: HelloReply;
    try {
      const hello = () => session.request('hello', { proto: PROTOCOL_VERSION }, { timeoutMs, retries: 1 });
      // A token that just booted may still be announcing it: its hello answer comes next.
      identity = await hello().catch((error: unknown) =>
        error instanceof CodedError && error.code === 'NV_TOKEN_RESTARTED' ? hello() : Promise.reject(error),
      );
    } catch (error) {
      if (error instanceof TokenError && error.tokenCode === 'unsupported_version') {
        throw new CodedError('NV_PROTOCOL_MISMATCH', `${link.description} does not speak protocol v${PROTOCOL_VERSION}`);
      }
      if (error instanceof CodedError && (error.code === 'NV_TIMEOUT' || error.code === 'NV_BAD_REPLY')) {
        throw new CodedError('NV_NOT_A_TOKEN', `${link.description} did not answer like a token (${error.message})`);
      }
      throw error;
    }
    if (identity.proto !== PROTOCOL_VERSION) {
      throw new CodedError('NV_PROTOCOL_MISMATCH', `${link.description} speaks protocol v${identity.proto}, this bridge v${PROTOCOL_VERSION}`);
    }
    return { session, identity };
  }

  /** Sends a command and resolves with its typed reply; rejects with TokenError, or CodedError NV_TIMEOUT. */
  request<C extends CommandName>(command: C, args: RequestArgs[C], options: RequestOptions = {}): Promise<ReplyFields[C]> {
    const run = () => this.exchange(command, args, options);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Listens to events; returns a function that stops listening. */
  onEvent(listener: (event: TokenEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onClose(listener: (error?: Error) => void): void {
    this.closeListeners.push(listener);
  }

  close(): Promise<void> {
    return this.link.close();
  }

  private async exchange<C extends CommandName>(command: C, args: RequestArgs[C], options: RequestOptions): Promise<ReplyFields[C]> {
    const spec = COMMANDS[command];
    const fields = encodeFields(spec.args, args);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const retries = options.retries ?? DEFAULT_RETRIES;
    for (let attempt = 0; ; attempt++) {
      if (this.closedBy) throw this.closedBy;
      const id = this.takeId();
      const response = await this.awaitResponse(id, timeoutMs, () => this.link.send({ kind: 'request', id, name: command, fields }));
      if (response === 'timeout') {
        if (spec.idempotent && attempt < retries) continue;
        throw new CodedError('NV_TIMEOUT', `${this.link.description} did not answer ${command} within ${timeoutMs} ms`);
      }
      if (!response.ok) {
        const code = response.fields.code ?? '';
        if (!isTokenErrorCode(code)) throw new CodedError('NV_BAD_REPLY', `${this.link.description} answered ${command} with unknown error "${code}"`);
        if (UNREAD.has(code) && attempt < retries) continue;
        throw new TokenError(code, response.fields.detail, command);
      }
      const reply = decodeFields(spec.reply, response.fields, false);
      if (!reply.ok) throw new CodedError('NV_BAD_REPLY', `${this.link.description} sent a malformed "${reply.key}" in its ${command} reply`);
      return reply.value;
    }
  }

  private awaitResponse(
    id: number,
    timeoutMs: number,
    send: () => Promise<void>,
  ): Promise<Extract<Message, { kind: 'response' }> | 'timeout'> {
    return new Promise((resolve, reject) => {
      const finish = (outcome: Extract<Message, { kind: 'response' }> | 'timeout' | Error) => {
        clearTimeout(timer);
        this.inFlight = undefined;
        unsubscribe();
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      const onClose = (error?: Error) => finish(error ?? new CodedError('NV_LINK_CLOSED', `${this.link.description} closed`));
      this.closeListeners.push(onClose);
      const unsubscribe = () => {
        const index = this.closeListeners.indexOf(onClose);
        if (index >= 0) this.closeListeners.splice(index, 1);
      };
      this.inFlight = { id, settle: finish, fail: finish };
      send().catch((error: Error) => finish(error));
    });
  }

  private onMessage(message: Message): void {
    if (message.kind === 'event') return this.onTokenEvent(message);
    if (message.kind !== 'response' || !this.inFlight) return;
    // An unattributed error means the token could not read the frame it got: ours, garbled on the way.
    if (message.id === this.inFlight.id || (message.id === UNATTRIBUTED_ID && !message.ok)) this.inFlight.settle(message);
  }

  private onTokenEvent(message: Extract<Message, { kind: 'event' }>): void {
    if (!isEventName(message.name)) return;
    const event = decodeEvent(message.name, message.seq, message.fields);
    if (!event) {
      this.noise++;
      return;
    }
    if (event.name === 'boot') this.inFlight?.fail(new CodedError('NV_TOKEN_RESTARTED', `${this.link.description} restarted before it answered`));
    for (const listener of this.eventListeners) listener(event);
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = id >= MAX_REQUEST_ID ? 1 : id + 1;
    return id;
  }
}

function decodeEvent<E extends EventName>(name: E, seq: number, raw: Message['fields']): TokenEvent | undefined {
  const schema: Schema<EventFields[E]> = EVENTS[name];
  const fields = decodeFields(schema, raw, false);
  return fields.ok ? ({ name, seq, fields: fields.value } as TokenEvent) : undefined;
}
