/**
 * The HID framing's numbers (protocol/framing/hid.ts tells what they mean on the wire). They live
 * in a file of their own that imports nothing, so that esbuild inlines each of them where the
 * firmware bundle uses it: a constant in a file with imports stays a variable in the bundle, and a
 * table of names (HID_COMMAND, in hid.ts) an object with an atom per name in QuickJS.
 */
export const HID_REPORT_BYTES = 64;
export const INIT_DATA_BYTES = HID_REPORT_BYTES - 7;
export const CONT_DATA_BYTES = HID_REPORT_BYTES - 5;
export const MAX_SEQUENCE = 0x7f;
/** The longest payload a token takes (its receive buffer); CTAPHID's own ceiling is 7609. */
export const MAX_HID_PAYLOAD_BYTES = 1024;
export const BROADCAST_CHANNEL = 0xffffffff;
/** Channels a token keeps at once; the one used longest ago makes room for a new host. */
export const HID_CHANNELS_KEPT = 8;
/** A message must be complete this long after its last packet, or it is dropped with MSG_TIMEOUT. */
export const HID_TRANSACTION_TIMEOUT_MS = 500;
/** While a request waits for the user, the token says so this often. */
export const HID_KEEPALIVE_INTERVAL_MS = 100;
export const INIT_NONCE_BYTES = 8;
/** nonce (8) | channel (4) | protocol version (1) | firmware major, minor, build (3) | capabilities (1) */
export const INIT_RESPONSE_BYTES = 17;

// Commands (the byte after the channel in an INIT packet, without its top bit).
export const CMD_PING = 0x01;
export const CMD_INIT = 0x06;
export const CMD_CANCEL = 0x11;
export const CMD_KEEPALIVE = 0x3b;
export const CMD_ERROR = 0x3f;
/** A protocol message, host to token or token to host: body then CRC-32. */
export const CMD_MESSAGE = 0x40;
/** An event the token pushes: body then CRC-32. */
export const CMD_EVENT = 0x41;

// Error codes, the one byte of an ERROR.
export const ERR_INVALID_CMD = 0x01;
export const ERR_INVALID_PAR = 0x02;
export const ERR_INVALID_LEN = 0x03;
export const ERR_INVALID_SEQ = 0x04;
export const ERR_MSG_TIMEOUT = 0x05;
export const ERR_CHANNEL_BUSY = 0x06;
export const ERR_INVALID_CHANNEL = 0x0b;
export const ERR_OTHER = 0x7f;

// KEEPALIVE's one byte.
export const KEEPALIVE_PROCESSING = 1;
export const KEEPALIVE_UPNEEDED = 2;

// CTAPHID's capability flags, the last byte of the INIT answer.
/** Answers WINK (0x08). */
export const CAPABILITY_WINK = 0x01;
/** Answers CBOR (0x10). */
export const CAPABILITY_CBOR = 0x04;
/** Does NOT answer MSG (0x03): set by every device that has no CTAP1/U2F. */
export const CAPABILITY_NMSG = 0x08;
/** What a token says it can do: no WINK, no CBOR, and no MSG (its messages go in MESSAGE instead). */
export const TOKEN_CAPABILITIES = CAPABILITY_NMSG;
