/**
 * The line framing's host link (a serial port): bytes become lines, lines become requests or
 * coded errors that are answered at once (deliverRequest); messages go out as framed lines.
 */
import { asciiToBytes } from '../../protocol/bytes.ts';
import { LineAssembler, encodeLine } from '../../protocol/framing/line.ts';
import type { Message } from '../../protocol/message.ts';
import type { Transport } from '../hal/transport.ts';
import { deliverRequest, type HostLink, type LinkHandlers, type ReplyPath } from './host-link.ts';

/**
 * One host at a time on a serial line: the link is its own reply path, and an event for every
 * host is a message to that one. A serial line has no way to say "still working" (the host simply
 * waits) and nothing to time out.
 */
export function lineLink(transport: Transport, handlers: LinkHandlers): HostLink & ReplyPath {
  const send = (message: Message): void => transport.send(asciiToBytes(encodeLine(message)));
  const link = { receive: (bytes: Uint8Array) => assembler.push(bytes), send, broadcast: send };
  // An overlong line (onOverflow, called with no line) is answered too_long: one arrow for both.
  const onLine = (line?: string): void => deliverRequest(line, 'line', handlers, link);
  const assembler = new LineAssembler(onLine, onLine);
  return link;
}
