// The transport-neutral request/response of every handler. uWS (src/server/uws/)
// and a Web-standard fetch(Request) => Response adapter both map onto these.
import { asImageboxError, publicMessage, type ImageboxError } from '../../errors.js';
import type { Grant } from '../access.js';

export interface HttpRequest {
  /** Upper case: GET, HEAD, OPTIONS, ... */
  method: string;
  /** Raw (still percent-encoded) path, without the query. */
  path: string;
  /** Raw query string without "?" ('' when none). */
  query: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The scheme the transport received the request on (default http). */
  scheme?: 'http' | 'https';
  /** Set by the server when access control is on: what the request's token grants. */
  grant?: Grant;
  /** Set by the server: a path prefix every link it builds for this request carries (/t/<token>). */
  linkPrefix?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string | undefined;
}

export type Handler = (req: HttpRequest, signal?: AbortSignal) => Promise<HttpResponse>;

export const CORS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'ETag, Link, X-Tile-Path, Content-Length',
};
/** The methods every resource answers. */
export const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';

export const CORS_PREFLIGHT: Record<string, string> = {
  ...CORS,
  'Access-Control-Allow-Methods': ALLOWED_METHODS,
  'Access-Control-Allow-Headers': 'Accept, If-None-Match, Authorization',
  'Access-Control-Max-Age': '86400',
};

export function json(status: number, value: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache', ...CORS, ...headers },
    body: JSON.stringify(value, null, 1),
  };
}

/** The one place errors become responses: status from the code, short JSON body, never a stack. */
export function errorResponse(e: unknown): HttpResponse {
  const err: ImageboxError = asImageboxError(e);
  const status = err.status;
  // no local paths, no origin URLs; internal errors keep their details in the log
  const message = publicMessage(err);
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...CORS };
  if (status === 503) headers['Retry-After'] = '1';
  if (status === 405) headers['Allow'] = ALLOWED_METHODS;
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer realm="imagebox", error="invalid_token"';
  return { status, headers, body: JSON.stringify({ error: { code: err.code, message } }) };
}

/**
 * The base of every link built for this request: scheme://host of this server
 * as the client sees it, then the request's link prefix (/t/<token> when access
 * control is on and the token came in the URL). scheme://host: the configured base URL,
 * else the Host header. X-Forwarded-Host/-Proto are believed only behind a
 * trusted proxy (else anyone could make info.json point elsewhere, and a cache
 * keep it).
 */
export function baseUrl(req: HttpRequest, configured: string | undefined, trustProxy = false): string {
  return hostUrl(req, configured, trustProxy) + (req.linkPrefix ?? '');
}

function hostUrl(req: HttpRequest, configured: string | undefined, trustProxy: boolean): string {
  if (configured) return configured.replace(/\/+$/, '');
  const fwdHost = trustProxy ? req.headers['x-forwarded-host'] : undefined;
  const host = (fwdHost ?? req.headers['host'] ?? 'localhost').split(',')[0]!.trim();
  const proto = ((trustProxy ? req.headers['x-forwarded-proto'] : undefined) ?? req.scheme ?? 'http').split(',')[0]!.trim().toLowerCase();
  const safeHost = /^[A-Za-z0-9.\-:[\]]{1,255}$/.test(host) ? host : 'localhost';
  return `${proto === 'https' ? 'https' : 'http'}://${safeHost}`;
}

/** If-None-Match against one strong ETag (weak comparison, as RFC 9110 says for this header). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare);
}
