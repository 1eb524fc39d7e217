/** The port the server listens on unless told otherwise, and where a client looks for it. */
export const DEFAULT_PORT = 8421;
