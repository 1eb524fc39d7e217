/**
 * One host link: a transport plus its framing. Incoming bytes become messages (or coded errors
 * that are answered at once); outgoing messages are framed and sent. Every framing ends in the
 * same `onRequest`, so no command is implemented per transport.
 */
import { asciiToBytes } from '../../protocol/bytes.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { LineAssembler, encodeLine, unwrapLine } from '../../protocol/framing/line.ts';
import { decodeMessage, errorResponse, UNATTRIBUTED_ID, type Message } from '../../protocol/message.ts';
import type { Transport } from '../hal/transport.ts';

export type RequestMessage = Extract<Message, { kind: 'request' }>;

export class HostLink {
  private readonly assembler: LineAssembler;

  constructor(
    private readonly transport: Transport,
    onRequest: (request: RequestMessage, link: HostLink) => void,
  ) {
    this.assembler = new LineAssembler(
      (line) => this.receiveLine(line, onRequest),
      () => this.send(errorResponse(UNATTRIBUTED_ID, 'too_long')),
    );
  }

  receive(bytes: Uint8Array): void {
    this.assembler.push(bytes);
  }

  send(message: Message): void {
    this.transport.send(asciiToBytes(encodeLine(message)));
  }

  private receiveLine(line: string, onRequest: (request: RequestMessage, link: HostLink) => void): void {
    let body: string;
    try {
      body = unwrapLine(line);
    } catch (error) {
      return this.sendError(UNATTRIBUTED_ID, error);
    }
    let message: Message;
    try {
      message = decodeMessage(body);
    } catch (error) {
      return this.sendError(readableRequestId(body), error);
    }
    if (message.kind !== 'request') return this.sendError(UNATTRIBUTED_ID, new ProtocolError('bad_frame', 'kind'));
    onRequest(message, this);
  }

  private sendError(id: number, error: unknown): void {
    if (!(error instanceof ProtocolError)) throw error;
    this.send(errorResponse(id, error.code, error.detail));
  }
}

/** The ID of a request whose integrity check passed but whose body did not parse, when it can be read. */
function readableRequestId(body: string): number {
  const match = /^>([1-9][0-9]{0,4})(?: |$)/.exec(body);
  const id = match ? Number(match[1]) : UNATTRIBUTED_ID;
  return id <= 0xffff ? id : UNATTRIBUTED_ID;
}
