/**
 * A link to a host: a transport and its framing. Every framing hands complete requests to the
 * same `onRequest` and takes back messages to send, so no command is implemented per transport.
 */
import { ProtocolError } from '../../protocol/errors.ts';
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
  /** When the link next needs `expire` called (a half-received message timing out), or null; a link with nothing to time out has neither. */
  deadline?(): number | null;
  expire?(nowMs: number): void;
}

export interface LinkHandlers {
  onRequest(request: RequestMessage, from: ReplyPath): void;
  /** The host gave up on its request (HID CANCEL). */
  onCancel(requestId: number, from: ReplyPath): void;
}

/**
 * A body that passed its framing's integrity check, as a request; or the coded error to answer it
 * with (under the request's own ID when that much of it can be read).
 */
export function requestFromBody(body: string, checked: 'line' | 'bytes'): { request: RequestMessage } | { error: Message } {
  let message: Message;
  try {
    message = checked === 'line' ? decodeMessage(body) : decodeMessageText(body);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return { error: errorResponse(readableRequestId(body), error.code, error.detail) };
  }
  if (message.kind !== 'request') return { error: errorResponse(UNATTRIBUTED_ID, 'bad_frame', 'kind') };
  return { request: message };
}
