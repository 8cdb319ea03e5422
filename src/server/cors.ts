// Which web pages may read our answers. By default any (Access-Control-Allow-Origin:
// *): IIIF and DeepZoom are public by nature. With a list (`serve --cors-origin`),
// only those origins: a request whose Origin is on the list gets it echoed back
// (with Vary: Origin, so caches keep the answers apart), any other gets no
// Access-Control-Allow-Origin at all, and the browser keeps the answer from the page.

/** Normalise "https://viewer.example/" to "https://viewer.example"; undefined for what is not an origin. */
export function normaliseOrigin(s: string): string | undefined {
  try {
    const u = new URL(s);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

/** The response's CORS headers for this request's Origin under an allow-list (headers are changed in place). */
export function applyCorsList(headers: Record<string, string>, requestOrigin: string | undefined, allowed: ReadonlySet<string>): void {
  if (!('Access-Control-Allow-Origin' in headers)) return;
  const origin = requestOrigin === undefined ? undefined : normaliseOrigin(requestOrigin);
  if (origin !== undefined && allowed.has(origin)) headers['Access-Control-Allow-Origin'] = origin;
  else delete headers['Access-Control-Allow-Origin'];
  headers['Vary'] = headers['Vary'] ? `${headers['Vary']}, Origin` : 'Origin';
}
