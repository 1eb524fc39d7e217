/**
 * A link to a host. Received bytes arrive as `received` input events naming the link; the
 * firmware answers through `send`. `framing` says how messages are cut on this link: `line`, a
 * byte stream of text lines (a serial port); `hid`, 64-byte reports, one per `send` and one per
 * `received` event (a USB HID endpoint).
 */
export type Framing = 'line' | 'hid';

export interface Transport {
  readonly framing: Framing;
  send(bytes: Uint8Array): void;
}
