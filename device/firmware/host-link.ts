/**
 * A link to a host: a transport and its framing. Every framing hands complete requests to the
 * same `onRequest` and takes back messages to send, so no command is implemented per transport.
 */
import { ProtocolError } from '../../protocol/errors.ts';
import { unwrapLine } from '../../protocol/framing/line.ts';
import { decodeMessage, decodeMessageText, errorResponse, readableRequestId, UNATTRIBUTED_ID, type Message } from '../../protocol/message.ts';

export type RequestMessage = Extract<Message, { kind: 'request' }>;

/** Where one host's requests came from and its answers go: a serial line, or one HID channel. */
export interface ReplyPath {
  send(message: Message): void;
  /** The request `requestId` waits for the user (a hold): a framing that can say so does (a serial line cannot). */
  waiting?(requestId: number): void;
}

export interface HostLink {
  /** Bytes (a line framing's stream, a HID framing's report) arrived at `nowMs`. */
  receive(bytes: Uint8Array, nowMs: number): void;
  /** An event, to every host listening on this link. */
  broadcast(message: Message): void;
  /**
   * Times out what is due at `nowMs` (a half-received message), and says when the link next needs
   * `expire` called, or null. A link with nothing to time out has no `expire`.
   */
  expire?(nowMs: number): number | null;
}

export interface LinkHandlers {
  onRequest(request: RequestMessage, from: ReplyPath): void;
  /** The host at `from` gave up on its request (HID CANCEL): what waits for the user on its behalf ends, cancelled. */
  endConfirm(outcome: 'cancelled', from: ReplyPath): void;
}

/**
 * Hands a framed text to the handlers as a request, or answers it on `path` with the coded error
 * it earns (under the request's own ID when that much of its body can be read). A line is
 * unwrapped and checked here, or undefined when it overflowed the line buffer; a HID message
 * arrives as its body, or undefined when its CRC failed.
 * One function for both framings: each function costs an engine like QuickJS ~200 B of RAM.
 */
export function deliverRequest(text: string | undefined, framing: 'line' | 'hid', handlers: LinkHandlers, path: ReplyPath): void {
  let body = framing === 'hid' ? text : undefined;
  let message: Message;
  try {
    if (text === undefined) throw new ProtocolError(framing === 'line' ? 'too_long' : 'bad_crc');
    if (framing === 'line') body = unwrapLine(text);
    message = framing === 'line' ? decodeMessage(body!) : decodeMessageText(body!);
    if (message.kind !== 'request') message = errorResponse(UNATTRIBUTED_ID, 'bad_frame', 'kind');
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    message = errorResponse(body === undefined ? UNATTRIBUTED_ID : readableRequestId(body), error.code, error.detail);
  }
  if (message.kind === 'request') handlers.onRequest(message, path);
  else path.send(message);
}
