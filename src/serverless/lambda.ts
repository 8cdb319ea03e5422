// AWS Lambda function URLs (payload format 2.0) in front of any Web-standard
// handler (createServerlessHandler, or the Node server's fetchHandler): the
// event becomes a Request, the Response becomes the result object (binary
// bodies base64, as function URLs require).
import { ImageboxError } from '../errors.js';

/** The parts of a function-URL event (payload 2.0) read here. */
export interface FunctionUrlEvent {
  rawPath: string;
  rawQueryString?: string;
  headers?: Record<string, string | undefined>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { domainName: string; http: { method: string } };
}

export interface FunctionUrlResult {
  statusCode: number;
  headers: Record<string, string>;
  cookies?: string[];
  body: string;
  isBase64Encoded: boolean;
}

const TEXT = /^(?:text\/|application\/(?:json|ld\+json|xml)|image\/svg\+xml)/i;

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** The Request a function-URL event describes (always https: function URLs are TLS only). */
export function eventToRequest(event: FunctionUrlEvent, signal?: AbortSignal): Request {
  const method = event.requestContext?.http?.method;
  if (typeof method !== 'string' || typeof event.rawPath !== 'string' || typeof event.requestContext.domainName !== 'string') {
    throw new ImageboxError('E_BAD_REQUEST', 'not a Lambda function URL event (payload format 2.0)');
  }
  const host = event.headers?.['host'] ?? event.requestContext.domainName;
  const url = `https://${host}${event.rawPath}${event.rawQueryString ? `?${event.rawQueryString}` : ''}`;
  const headers = new Headers();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers.set(k, v);
  if (event.cookies?.length) headers.set('cookie', event.cookies.join('; '));
  const hasBody = method !== 'GET' && method !== 'HEAD' && event.body !== undefined;
  const body = hasBody ? (event.isBase64Encoded ? Uint8Array.from(atob(event.body!), (c) => c.charCodeAt(0)) : event.body!) : null;
  return new Request(url, { method, headers, body, ...(signal ? { signal } : {}) });
}

/** The function-URL result of a Response: text bodies as they are, anything else base64. */
export async function responseToResult(res: Response): Promise<FunctionUrlResult> {
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (k !== 'set-cookie') headers[k] = v;
  });
  const cookies = res.headers.getSetCookie?.() ?? [];
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = TEXT.test(res.headers.get('content-type') ?? '');
  return {
    statusCode: res.status,
    headers,
    ...(cookies.length ? { cookies } : {}),
    body: text ? new TextDecoder().decode(bytes) : base64(bytes),
    isBase64Encoded: !text,
  };
}

/** A Lambda handler (function URL, buffered response mode) around a fetch handler. */
export function functionUrlHandler(handle: (request: Request) => Promise<Response>): (event: FunctionUrlEvent) => Promise<FunctionUrlResult> {
  return async (event) => {
    let request: Request;
    try {
      request = eventToRequest(event);
    } catch (e) {
      const code = e instanceof ImageboxError ? e.code : 'E_BAD_REQUEST';
      return { statusCode: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code, message: (e as Error).message } }), isBase64Encoded: false };
    }
    return responseToResult(await handle(request));
  };
}
