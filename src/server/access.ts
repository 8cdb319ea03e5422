// Access control for our own endpoints (off unless the operator turns it on):
// signed, expiring tokens, each for one slide, a folder of slides or all of
// them. A token is HMAC-SHA256 over its scope and expiry with the operator's
// secret, so any instance holding the secret checks it without a database,
// and nothing about the token is stored. WebCrypto (crypto.subtle), so the
// same code runs in Node and a Web-standard runtime.
//
//   token  = "<expires>.<scope>.<signature>"   (all URL-safe: a path segment as is)
//   expires: Unix seconds; scope: base64url of the slide id, of "folder/" (every
//   id under it) or of "*" (every slide, the listing and /metrics);
//   signature: base64url(HMAC-SHA256(secret, "imagebox-token-v1\n<scope>\n<expires>")).
//
// A request carries it as a path prefix /t/<token>/... (links the server builds
// then carry it too: info.json's id, the listing's URLs, the viewer's stream), as
// "Authorization: Bearer <token>", or as ?token=<token>.
import { ImageboxError } from '../errors.js';

export interface Grant {
  /** An exact slide id, "folder/" (ids under it) or "*" (everything). */
  scope: string;
  /** Unix seconds. */
  expires: number;
  /** The token itself (to put in links). */
  token: string;
}

const LABEL = 'imagebox-token-v1';
/** Longest token accepted (a slide id is at most a URL; bigger is not ours). */
const MAX_TOKEN = 4096;
/** Shortest secret: 32 bytes, HMAC-SHA256's output length (RFC 2104 discourages shorter keys). */
export const MIN_SECRET_BYTES = 32;

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function unb64url(s: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined;
  try {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

export const unauthorized = (message: string): ImageboxError => new ImageboxError('E_UNAUTHORIZED', message);

export class AccessControl {
  private readonly key: Promise<CryptoKey>;

  /** `secret`: at least 32 bytes (IMAGEBOX_TOKEN_SECRET); `now`: Unix seconds (tests move the clock). */
  constructor(
    secret: string | Uint8Array,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {
    const raw = typeof secret === 'string' ? enc.encode(secret) : new Uint8Array(secret);
    if (raw.length < MIN_SECRET_BYTES) throw new Error(`the token secret must be at least ${MIN_SECRET_BYTES} bytes (it is ${raw.length})`);
    this.key = crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  }

  /** A token for `scope` (a slide id, "folder/" or "*") valid for `ttlSeconds`. */
  async sign(scope: string, ttlSeconds: number): Promise<string> {
    if (scope === '') throw new Error('a token needs a scope: a slide id, "folder/" or "*"');
    if (!(ttlSeconds > 0)) throw new Error('a token needs a positive lifetime');
    const expires = Math.floor(this.now() + ttlSeconds);
    const s = b64url(enc.encode(scope));
    const sig = new Uint8Array(await crypto.subtle.sign('HMAC', await this.key, enc.encode(`${LABEL}\n${s}\n${expires}`)));
    return `${expires}.${s}.${b64url(sig)}`;
  }

  /** The grant a token carries, or E_UNAUTHORIZED (missing, malformed, forged, expired). */
  async verify(token: string | undefined): Promise<Grant> {
    if (token === undefined || token === '') throw unauthorized('a token is required (Authorization: Bearer <token>, ?token=<token> or a /t/<token>/ prefix)');
    if (token.length > MAX_TOKEN) throw unauthorized('token too long');
    const m = /^(\d{1,12})\.([A-Za-z0-9_-]{1,2800})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) throw unauthorized('malformed token');
    const [, exp, s, sig] = m as unknown as [string, string, string, string];
    const mac = unb64url(sig);
    const scopeBytes = unb64url(s);
    // the signature's canonical spelling only: its last character carries 4 bits, and
    // base64 decoding ignores the other 2, so 4 spellings would decode to one MAC
    if (!mac || mac.length !== 32 || !scopeBytes || b64url(mac) !== sig) throw unauthorized('malformed token');
    // verify() compares in constant time
    const ok = await crypto.subtle.verify('HMAC', await this.key, mac, enc.encode(`${LABEL}\n${s}\n${exp}`));
    if (!ok) throw unauthorized('invalid token signature');
    const expires = Number(exp);
    if (expires <= this.now()) throw unauthorized(`token expired at ${new Date(expires * 1000).toISOString()}`);
    let scope: string;
    try {
      scope = new TextDecoder('utf-8', { fatal: true }).decode(scopeBytes);
    } catch {
      throw unauthorized('malformed token');
    }
    return { scope, expires, token };
  }
}

/** Does the grant cover this slide? */
export function grants(g: Grant, slideId: string): boolean {
  if (g.scope === '*') return true;
  if (g.scope.endsWith('/')) return slideId.startsWith(g.scope);
  return slideId === g.scope;
}

/** E_FORBIDDEN unless the grant covers the slide (a valid token for another slide). */
export function requireSlide(g: Grant | undefined, slideId: string): void {
  if (g && !grants(g, slideId)) throw new ImageboxError('E_FORBIDDEN', 'this token is not valid for this slide');
}

/** E_FORBIDDEN unless the grant covers every slide (the listing, /metrics). */
export function requireAll(g: Grant | undefined): void {
  if (g && g.scope !== '*') throw new ImageboxError('E_FORBIDDEN', 'this token is for one slide or folder; the listing needs a token for every slide');
}

/** The token of a request: /t/<token>/ prefix (returned with the path it leaves), Authorization: Bearer, or ?token=. */
export interface RequestToken {
  token: string | undefined;
  /** The path without a /t/<token> prefix. */
  path: string;
  /** Where it came from: links built for a token in the URL (path or query) carry it as a /t/<token> prefix. */
  via: 'path' | 'query' | 'header' | undefined;
}

export function requestToken(path: string, headers: Record<string, string>, query: string): RequestToken {
  const m = /^\/t\/([^/]{1,4096})(\/.*)?$/.exec(path);
  if (m) return { token: m[1], path: m[2] ?? '/', via: 'path' };
  const auth = headers['authorization'];
  if (auth !== undefined) {
    const b = /^Bearer[ ]+(\S+)\s*$/i.exec(auth);
    return { token: b ? b[1] : '', path, via: 'header' };
  }
  if (query.includes('token=')) {
    const t = new URLSearchParams(query).get('token');
    if (t !== null) return { token: t, path, via: 'query' };
  }
  return { token: undefined, path, via: undefined };
}
