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

/**
 * One host at a time on a serial line: the link is its own reply path, and an event for every
 * host is a message to that one. A serial line has no way to say "still working" (the host simply
 * waits) and nothing to time out.
 */
export function lineLink(transport: Transport, handlers: LinkHandlers): HostLink & ReplyPath {
  const send = (message: Message): void => transport.send(asciiToBytes(encodeLine(message)));
  const link = { receive: (bytes: Uint8Array) => assembler.push(bytes), send, broadcast: send };
  const assembler = new LineAssembler(
    (line) => {
      let body: string;
      try {
        body = unwrapLine(line);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        return send(errorResponse(UNATTRIBUTED_ID, error.code, error.detail));
      }
      const result = requestFromBody(body, 'line');
      if ('error' in result) return send(result.error);
      handlers.onRequest(result.request, link);
    },
    () => send(errorResponse(UNATTRIBUTED_ID, 'too_long')),
  );
  return link;
}
