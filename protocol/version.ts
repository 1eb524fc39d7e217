/** The token protocol version this code speaks. A host refuses a token that answers `hello` with another. */
export const PROTOCOL_VERSION = 1;

/** A text line on the wire is at most this many bytes, its terminating newline included. */
export const MAX_LINE_BYTES = 256;

/** `*` and eight hex digits of CRC-32 follow every message body on a line. */
export const LINE_TRAILER_BYTES = 9;

/** The longest message body any framing carries (the line framing's bound, so every framing carries every message). */
export const MAX_BODY_BYTES = MAX_LINE_BYTES - 1 - LINE_TRAILER_BYTES;
