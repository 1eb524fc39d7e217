/** Errors the server answers with: an HTTP status and a stable code, in `{"error":{"code","message"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const unknownSerial = (serial: string) => new ApiError(404, 'NV_UNKNOWN_SERIAL', `no token with serial ${serial}`);
export const badState = (message: string) => new ApiError(409, 'NV_BAD_STATE', message);
export const badCode = (message: string) => new ApiError(400, 'NV_BAD_CODE', message);
