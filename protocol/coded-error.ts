/**
 * The one coded error of the host and the device's commands: a stable code (`NV_…`) that scripts
 * and tests match on, a one-line message for a person, and the HTTP status it is answered with
 * where it crosses the host's HTTP API. Here, beside the protocol, because both sides raise it and
 * neither may import the other; it needs nothing of Node.
 *
 * Not the token's own wire errors (`ProtocolError`, errors.ts): those are the protocol's names.
 */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The HTTP status, where one applies (an error of the API); undefined for one that never crosses HTTP. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'CodedError';
  }
}
