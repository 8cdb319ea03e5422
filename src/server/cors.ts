// Which web pages may read our answers. By default any (Access-Control-Allow-Origin:
// *): IIIF and DeepZoom are public by nature. With a list (`serve --cors-origin`),
// only those origins: a request whose Origin is on the list gets it echoed back
// (with Vary: Origin, so caches keep the answers apart), any other gets no
// Access-Control-Allow-Origin at all, and the browser keeps the answer from the page.
import { ImageboxError } from '../errors.js';

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

/** The allow-list of `--cors-origin` values, normalised; undefined (any origin) when empty. */
export function corsAllowList(origins: readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (!origins || origins.length === 0) return undefined;
  return new Set(
    origins.map((c) => {
      const n = normaliseOrigin(c);
      if (!n) throw new ImageboxError('E_BAD_REQUEST', `--cors-origin ${c.slice(0, 100)} is not an origin (scheme://host[:port])`);
      return n;
    }),
  );
}

/** Whether a request's Origin header is on the list. */
export function originAllowed(requestOrigin: string | undefined, allowed: ReadonlySet<string>): boolean {
  const origin = requestOrigin === undefined ? undefined : normaliseOrigin(requestOrigin);
  return origin !== undefined && allowed.has(origin);
}

/** The response's CORS headers for this request's Origin under an allow-list (headers are changed in place). */
export function applyCorsList(headers: Record<string, string>, requestOrigin: string | undefined, allowed: ReadonlySet<string>): void {
  if (!('Access-Control-Allow-Origin' in headers)) return;
  if (originAllowed(requestOrigin, allowed)) headers['Access-Control-Allow-Origin'] = normaliseOrigin(requestOrigin!)!;
  else delete headers['Access-Control-Allow-Origin'];
  headers['Vary'] = headers['Vary'] ? `${headers['Vary']}, Origin` : 'Origin';
}
