// An ImageboxError with an HTTP status of its own, for the few protocol
// answers the error contract has no code for (IIIF 501 Not Implemented,
// 405 Method Not Allowed, 503 when the pixel pool is full).
import { ImageboxError, type ErrorCode } from '../errors.js';

export class HttpError extends ImageboxError {
  constructor(
    private readonly httpStatus: number,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message);
  }

  override get status(): number {
    return this.httpStatus;
  }
}

export const badRequest = (message: string): ImageboxError => new ImageboxError('E_BAD_REQUEST', message);
export const notImplemented = (message: string): HttpError => new HttpError(501, 'E_BAD_REQUEST', message);
