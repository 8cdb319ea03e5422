// The same handlers behind a Web-standard fetch(Request) => Response (for
// serverless platforms and tests): the transport is only a conversion.
import type { ImageboxCore } from './core.js';

export function fetchHandler(box: ImageboxCore): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    request.headers.forEach((v, k) => (headers[k] = v));
    // a Request carries its host in the URL, not in a header
    headers['host'] ??= url.host;
    const r = await box.handle(
      {
        method: request.method.toUpperCase(),
        path: url.pathname,
        query: url.search.slice(1),
        headers,
        scheme: url.protocol === 'https:' ? 'https' : 'http',
      },
      request.signal,
    );
    const noBody = request.method === 'HEAD' || r.status === 204 || r.status === 304;
    const body = noBody || r.body === undefined ? null : typeof r.body === 'string' ? r.body : (r.body as Uint8Array<ArrayBuffer>);
    return new Response(body, { status: r.status, headers: r.headers });
  };
}
