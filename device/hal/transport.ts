/**
 * A link to a host. Received bytes arrive as `received` input events naming the link; the
 * firmware answers through `send`. `framing` says how messages are cut on this link.
 */
export type Framing = 'line';

export interface Transport {
  readonly framing: Framing;
  send(bytes: Uint8Array): void;
}
