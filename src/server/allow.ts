// The SSRF fence: which URLs may be fetched. Prefixes are compared by origin
// and path segments, never as strings ("http://a.com" must not admit
// "http://a.com.evil", "/data" must not admit "/database").
import { ImageboxError } from '../errors.js';

/** A parsed URL prefix, compared by origin and path (not as a string: "http://a.com" must not admit "http://a.com.evil"). */
export interface Prefix {
  origin: string;
  path: string;
}

export function parsePrefix(p: string): Prefix {
  let u: URL;
  try {
    u = new URL(p);
  } catch {
    throw new ImageboxError('E_BAD_REQUEST', `--allow ${p} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ImageboxError('E_BAD_REQUEST', `--allow ${p}: only http(s)`);
  if (u.username || u.password) throw new ImageboxError('E_BAD_REQUEST', `--allow ${p}: no credentials in prefixes`);
  return { origin: u.origin, path: u.pathname };
}

/** True when url is an http(s) URL under one of the prefixes. */
export function urlAllowed(url: URL, prefixes: readonly Prefix[]): boolean {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username || url.password) return false;
  // encoded separators could be decoded by the origin into a different path
  if (/%2f|%5c/i.test(url.pathname) || url.pathname.includes('\\')) return false;
  return prefixes.some((p) => {
    if (url.origin !== p.origin) return false;
    if (p.path === '/' || url.pathname === p.path) return true;
    const dir = p.path.endsWith('/') ? p.path : p.path + '/';
    return url.pathname.startsWith(dir);
  });
}

/** The SSRF guard handed to HttpSource: every URL and redirect target must be under a prefix. */
export function allowPredicate(prefixes: readonly string[]): (url: URL) => boolean {
  const parsed = prefixes.map(parsePrefix);
  return (url) => urlAllowed(url, parsed);
}

