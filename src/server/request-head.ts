// Parsing the head of the first HTTP request on a connection (request line and
// header fields, RFC 9112), for the front door: it decides whether uWebSockets.js
// can take the connection (it parses only a narrow form of HTTP/1.1 and never
// answers anything else: HTTP/1.0, absolute-form targets, a missing Host,
// garbage, more than 48 header fields; upstream uNetworking/uWebSockets#1547),
// whether the front door answers the request itself, or whether it is an error.
import { ImageboxError, type ErrorCode } from '../errors.js';

export const HEAD_LIMITS = {
  /** Request line (method, target, version). */
  requestLineBytes: 8 * 1024,
  /** The whole head, request line included. */
  headBytes: 16 * 1024,
  /** Header field lines (uWS 20.30 stops answering beyond 48). */
  fields: 48,
};

export interface RequestHead {
  method: string;
  /** Request target as sent (origin-form "/p?q", absolute-form "http://h/p", or "*"). */
  target: string;
  version: '1.0' | '1.1';
  /** Field lines in order, names lower-cased, values trimmed. */
  fields: [string, string][];
  /** Bytes of the head, terminator included. */
  length: number;
  /** The head uses CRLF line endings throughout (bare LF is accepted, but uWS does not read it). */
  crlf: boolean;
}

export type HeadResult = { kind: 'incomplete' } | { kind: 'head'; head: RequestHead };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// a field value: visible characters, spaces and tabs (obs-text allowed)
// eslint-disable-next-line no-control-regex
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// eslint-disable-next-line no-control-regex
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;

function fail(code: ErrorCode, message: string): never {
  throw new ImageboxError(code, message);
}

/** Where the head ends (index just past the empty line), or -1. Accepts CRLF and bare LF. */
function headEnd(b: Uint8Array, limit: number): number {
  const n = Math.min(b.length, limit);
  for (let i = 0; i < n; i++) {
    if (b[i] !== 0x0a) continue;
    if (b[i + 1] === 0x0a) return i + 2;
    if (b[i + 1] === 0x0d && b[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/**
 * Parse the head at the start of `b`. Throws an ImageboxError (400 E_BAD_REQUEST,
 * 414 E_URI_TOO_LONG, 431 E_HEADERS_TOO_LARGE, 505 E_HTTP_VERSION) for what is not
 * an HTTP/1.x request; 'incomplete' while the head has not arrived in full.
 */
export function parseRequestHead(b: Uint8Array): HeadResult {
  const end = headEnd(b, HEAD_LIMITS.headBytes + 4);
  if (end < 0) {
    const firstLf = b.indexOf(0x0a);
    if ((firstLf < 0 ? b.length : firstLf) > HEAD_LIMITS.requestLineBytes) fail('E_URI_TOO_LONG', 'request line too long');
    if (b.length > HEAD_LIMITS.headBytes) fail('E_HEADERS_TOO_LARGE', `request head over ${HEAD_LIMITS.headBytes} bytes`);
    if (firstLf < 0 && b.length > 0 && !/^[A-Za-z]/.test(String.fromCharCode(b[0]!))) fail('E_BAD_REQUEST', 'not an HTTP request');
    return { kind: 'incomplete' };
  }
  const text = new TextDecoder('latin1').decode(b.subarray(0, end));
  const crlf = !/(^|[^\r])\n/.test(text);
  const lines = text.split(/\r?\n/);
  lines.length -= 2; // the empty line and what follows the last LF
  const requestLine = lines[0] ?? '';
  if (requestLine.length > HEAD_LIMITS.requestLineBytes) fail('E_URI_TOO_LONG', 'request line too long');
  const parts = requestLine.split(' ');
  if (parts.length !== 3) fail('E_BAD_REQUEST', 'malformed request line');
  const [method, target, proto] = parts as [string, string, string];
  if (!TOKEN.test(method)) fail('E_BAD_REQUEST', 'malformed method');
  if (!/^HTTP\/\d\.\d$/.test(proto)) fail('E_BAD_REQUEST', 'malformed protocol version');
  if (proto !== 'HTTP/1.1' && proto !== 'HTTP/1.0') fail('E_HTTP_VERSION', `${proto} is not spoken here (HTTP/1.1, HTTP/1.0)`);
  if (!TARGET.test(target)) fail('E_BAD_REQUEST', 'malformed request target');
  if (!(target.startsWith('/') || target === '*' || /^https?:\/\//i.test(target))) fail('E_BAD_REQUEST', 'malformed request target');
  const fields: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith(' ') || line.startsWith('\t')) fail('E_BAD_REQUEST', 'obsolete line folding in a header field');
    const colon = line.indexOf(':');
    if (colon <= 0) fail('E_BAD_REQUEST', 'header field without a name or colon');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) fail('E_BAD_REQUEST', 'malformed header field name');
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE.test(value)) fail('E_BAD_REQUEST', 'control character in a header field');
    fields.push([name.toLowerCase(), value]);
  }
  if (fields.length > HEAD_LIMITS.fields) fail('E_HEADERS_TOO_LARGE', `more than ${HEAD_LIMITS.fields} header fields`);
  const version = proto === 'HTTP/1.1' ? '1.1' : '1.0';
  const hosts = fields.filter(([n]) => n === 'host');
  // RFC 9112 section 3.2: 400 for an HTTP/1.1 request without Host, or with more than one
  if (version === '1.1' && hosts.length !== 1) fail('E_BAD_REQUEST', hosts.length === 0 ? 'HTTP/1.1 request without Host' : 'more than one Host');
  if (hosts.length > 1) fail('E_BAD_REQUEST', 'more than one Host');
  // request smuggling: both framings, or disagreeing lengths (RFC 9112 section 6.3)
  const lengths = new Set(fields.filter(([n]) => n === 'content-length').map(([, v]) => v));
  if (lengths.size > 1 || [...lengths].some((v) => !/^\d{1,15}$/.test(v))) fail('E_BAD_REQUEST', 'bad Content-Length');
  if (lengths.size > 0 && fields.some(([n]) => n === 'transfer-encoding')) fail('E_BAD_REQUEST', 'both Content-Length and Transfer-Encoding');
  return { kind: 'head', head: { method, target, version, fields, length: end, crlf } };
}

/** Whether uWebSockets.js 20.30 reads this head (so the connection can be handed to it). */
export function uwsReads(h: RequestHead): boolean {
  return h.version === '1.1' && h.crlf && h.target.startsWith('/') && /^[A-Z]+$/.test(h.method);
}
