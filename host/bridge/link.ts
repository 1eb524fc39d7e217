/**
 * A message link to a token: whatever the transport (a serial line today, HID reports later), the
 * session above it sends and receives protocol messages, never bytes.
 */
import type { Message } from '../../protocol/message.ts';

export interface MessageLink {
  /** What the link is connected to, for messages: a port path, a HID path, an address. */
  readonly description: string;
  send(message: Message): Promise<void>;
  onMessage(listener: (message: Message) => void): void;
  /** A frame that failed its check or did not parse: counted, never fatal. */
  onNoise(listener: (error: Error) => void): void;
  /** The link went away (unplugged, closed by the other side); `error` says why when known. */
  onClose(listener: (error?: Error) => void): void;
  close(): Promise<void>;
}
