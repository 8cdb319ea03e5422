// The error contract: every failure that can reach a user is an ImageboxError
// with a stable `code`. The code is mapped once to an HTTP status (httpStatus)
// and to a WebSocket error frame; the message is safe to show (no stack, no
// credentials, no absolute paths the client did not give us).

export type ErrorCode =
  | 'E_BAD_REQUEST' // malformed request (IIIF syntax, WebSocket message, HTTP request line)
  | 'E_NOT_FOUND' // unknown slide id, associated image or tile
  | 'E_METHOD_NOT_ALLOWED' // an HTTP method other than GET, HEAD, OPTIONS
  | 'E_URI_TOO_LONG' // a request target over the limit
  | 'E_HEADERS_TOO_LARGE' // request headers over the limit
  | 'E_REQUEST_TIMEOUT' // the client did not send its request in time
  | 'E_HTTP_VERSION' // a protocol version we do not speak (HTTP/2 preface, HTTP/0.9, 2.0)
  | 'E_UNAUTHORIZED' // access control is on and the request's token is missing, malformed, forged or expired
  | 'E_FORBIDDEN' // source outside the operator's allow list, or a token for another slide
  | 'E_TOO_LARGE' // a request or a length read from a file exceeds a bound
  | 'E_NOT_A_SLIDE' // the file is not a slide we can read (and why)
  | 'E_MALFORMED' // the container is damaged (cyclic IFDs, offsets past EOF, ...)
  | 'E_TRUNCATED' // the file ends before data it points to
  | 'E_CORRUPT_TILE' // a tile's bytes cannot be decoded
  | 'E_UNSUPPORTED_CODEC' // a compression we do not decode
  | 'E_RANGE_UNSUPPORTED' // the origin ignores Range and the file is too big to read whole
  | 'E_RANGE_NOT_SATISFIABLE' // 416 from the origin
  | 'E_SOURCE_CHANGED' // the file changed under us (validator mismatch)
  | 'E_ORIGIN' // the origin failed (5xx after retries, reset, bad answer)
  | 'E_TIMEOUT' // the origin or a job did not answer in time
  | 'E_ABORTED' // the caller gave up (client went away)
  | 'E_BUSY' // a bounded queue is full, or the server is shutting down: retry later
  | 'E_INTERNAL';

const STATUS: Record<ErrorCode, number> = {
  E_BAD_REQUEST: 400,
  E_NOT_FOUND: 404,
  E_METHOD_NOT_ALLOWED: 405,
  E_URI_TOO_LONG: 414,
  E_REQUEST_TIMEOUT: 408,
  E_HEADERS_TOO_LARGE: 431,
  E_HTTP_VERSION: 505,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_TOO_LARGE: 413,
  E_NOT_A_SLIDE: 422,
  E_MALFORMED: 422,
  E_TRUNCATED: 422,
  E_CORRUPT_TILE: 422,
  E_UNSUPPORTED_CODEC: 422,
  E_RANGE_UNSUPPORTED: 502,
  E_RANGE_NOT_SATISFIABLE: 502,
  E_SOURCE_CHANGED: 502,
  E_ORIGIN: 502,
  E_TIMEOUT: 504,
  E_ABORTED: 499,
  E_BUSY: 503,
  E_INTERNAL: 500,
};

export class ImageboxError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ImageboxError';
    this.code = code;
    this.details = details;
  }

  /** The HTTP status this error maps to (one status per code, never per instance). */
  get status(): number {
    return STATUS[this.code];
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isImageboxError(e: unknown, code?: ErrorCode): e is ImageboxError {
  return e instanceof ImageboxError && (code === undefined || e.code === code);
}

export function httpStatus(code: ErrorCode): number {
  return STATUS[code];
}

/** Wrap anything thrown into an ImageboxError, keeping one that already is. */
export function asImageboxError(e: unknown, fallback: ErrorCode = 'E_INTERNAL'): ImageboxError {
  if (e instanceof ImageboxError) return e;
  if (e instanceof Error && e.name === 'AbortError') return new ImageboxError('E_ABORTED', 'aborted', undefined, e);
  const message = e instanceof Error ? e.message : String(e);
  return new ImageboxError(fallback, message, undefined, e);
}

/**
 * The message of an error as a client may see it: no local file paths and no
 * origin URLs (a configured slide's origin is the operator's business), each
 * replaced by a placeholder; at most 300 characters; internal errors say only
 * "internal error" (their details belong in the server's log).
 */
export function publicMessage(e: ImageboxError): string {
  if (e.code === 'E_INTERNAL') return 'internal error';
  return e.message
    .replace(/\b(?:https?|file|s3|gs):\/\/[^\s'"()<>]*/gi, '<origin>')
    .replace(/(^|[\s('"=:,])\/(?:[^\s'"()<>/]+\/)+[^\s'"()<>]*/g, '$1<path>')
    .slice(0, 300);
}
