// The small contract between HttpSource (range logic) and whatever moves the
// bytes (undici in Node, fetch in the browser). A transport sends ONE request
// and never follows redirects: HttpSource decides about every hop.

export interface TransportRequest {
  method: 'GET' | 'HEAD';
  /** Absolute http(s) URL without userinfo. */
  url: string;
  headers: Record<string, string>;
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /** Header lookup, case-insensitive; repeated headers joined with ", ". */
  header(name: string): string | undefined;
  /** The body as chunks; iterate at most once. */
  body: AsyncIterable<Uint8Array>;
  /** Stop reading and drop the connection now (the rest of the body is not wanted). */
  abort(): void;
  /** Done with a small body we do not need (redirect, error page): drain a little, else drop. */
  discard(): Promise<void>;
}

export interface HttpTransport {
  request(req: TransportRequest): Promise<TransportResponse>;
  close?(): Promise<void>;
}

/**
 * Signs one outgoing request: its headers in, the same headers signed out
 * (AWS Signature V4, a bearer token). `invalidate`, when present, drops a
 * credential the origin refused (401); HttpSource then asks once more.
 */
export type RequestSigner = ((r: { method: string; url: string; headers: Record<string, string> }) => Promise<Record<string, string>>) & {
  invalidate?: () => void;
};
