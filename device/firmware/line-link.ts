/**
 * The line framing's host link (a serial port): bytes become lines, lines become requests or
 * coded errors that are answered at once; messages go out as framed lines.
 */
import { asciiToBytes } from '../../protocol/bytes.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { LineAssembler, encodeLine, unwrapLine } from '../../protocol/framing/line.ts';
import { errorResponse, UNATTRIBUTED_ID, type Message } from '../../protocol/message.ts';
import type { Transport } from '../hal/transport.ts';
import { requestFromBody, type HostLink, type LinkHandlers, type ReplyPath } from './host-link.ts';

/** One host at a time on a serial line: the link is its own reply path. */
export class LineLink implements HostLink, ReplyPath {
  private readonly assembler: LineAssembler;

  constructor(
    private readonly transport: Transport,
    handlers: LinkHandlers,
  ) {
    this.assembler = new LineAssembler(
      (line) => this.receiveLine(line, handlers.onRequest),
      () => this.send(errorResponse(UNATTRIBUTED_ID, 'too_long')),
    );
  }

  receive(bytes: Uint8Array): void {
    this.assembler.push(bytes);
  }

  /** A serial line has no way to say "still working": the host simply waits. */
  waiting(): void {}

  deadline(): null {
    return null;
  }

  expire(): void {}

  send(message: Message): void {
    this.transport.send(asciiToBytes(encodeLine(message)));
  }

  broadcast(message: Message): void {
    this.send(message);
  }

  private receiveLine(line: string, onRequest: LinkHandlers['onRequest']): void {
    let body: string;
    try {
      body = unwrapLine(line);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return this.send(errorResponse(UNATTRIBUTED_ID, error.code, error.detail));
    }
    const result = requestFromBody(body, 'line');
    if ('error' in result) return this.send(result.error);
    onRequest(result.request, this);
  }
}
