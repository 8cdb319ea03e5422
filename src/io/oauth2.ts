// OAuth 2.0 client credentials (RFC 6749 section 4.4) for origins that want a
// bearer token: the token is fetched from the token endpoint with the client's
// id and secret (HTTP Basic, as section 2.3.1 prefers), kept until shortly
// before it expires, and refreshed then, one fetch for all the requests that
// need it. A 401 from the origin drops the token, and the request is asked
// once more with a fresh one. The client secret goes only to the token
// endpoint; the token only to the slide's origin (HttpSource signs only
// requests to it); neither reaches a client or a log. One token per (endpoint,
// client, secret, scope) per thread. Isomorphic (fetch).
import { ImageboxError } from '../errors.js';
import type { RequestSigner } from './http-transport.js';

export interface OAuth2ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string | undefined;
  /** Refresh this long before the token expires (ms; default 60 s, at most half its life). */
  refreshBeforeMs?: number;
}

interface Held {
  token: string;
  expiresAt: number;
  refreshAt: number;
}

const MAX_TOKEN_BYTES = 16 * 1024;

class TokenSource {
  private held: Held | undefined;
  private inflight: Promise<Held> | undefined;
  /** Tokens fetched (metrics, tests). */
  fetched = 0;

  constructor(private readonly o: OAuth2ClientCredentials) {}

  async token(): Promise<string> {
    const now = Date.now();
    const h = this.held;
    if (h && now < h.refreshAt) return h.token;
    // a token that is still valid is used while its successor is fetched
    const next = this.refresh();
    if (h && now < h.expiresAt) {
      next.catch(() => undefined);
      return h.token;
    }
    return (await next).token;
  }

  invalidate(): void {
    this.held = undefined;
  }

  private refresh(): Promise<Held> {
    this.inflight ??= this.fetchToken().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async fetchToken(): Promise<Held> {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.o.scope) body.set('scope', this.o.scope);
    const basic = btoa(`${encodeURIComponent(this.o.clientId)}:${encodeURIComponent(this.o.clientSecret)}`);
    let res: Response;
    try {
      res = await fetch(this.o.tokenUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(15_000),
      });
    } catch {
      throw new ImageboxError('E_ORIGIN', 'the token endpoint did not answer');
    }
    const text = await res.text();
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      throw new ImageboxError('E_FORBIDDEN', `the token endpoint refused the client credentials (${res.status})`);
    }
    if (res.status !== 200 || text.length > MAX_TOKEN_BYTES) throw new ImageboxError('E_ORIGIN', `the token endpoint answered ${res.status}`);
    let j: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    try {
      j = JSON.parse(text) as typeof j;
    } catch {
      throw new ImageboxError('E_ORIGIN', 'the token endpoint answered something that is not JSON');
    }
    if (typeof j.access_token !== 'string' || !/^[\x21-\x7e]+$/.test(j.access_token)) throw new ImageboxError('E_ORIGIN', 'the token endpoint sent no usable access_token');
    if (typeof j.token_type === 'string' && j.token_type.toLowerCase() !== 'bearer') throw new ImageboxError('E_ORIGIN', `unsupported token type ${j.token_type.slice(0, 20)}`);
    const life = typeof j.expires_in === 'number' && j.expires_in > 0 ? j.expires_in * 1000 : 3600_000;
    const now = Date.now();
    const early = Math.min(this.o.refreshBeforeMs ?? 60_000, life / 2);
    this.fetched++;
    this.held = { token: j.access_token, expiresAt: now + life, refreshAt: now + life - early };
    return this.held;
  }
}

const sources = new Map<string, TokenSource>();

/** The thread's token source for these client credentials (shared by every slide that uses them). */
export function tokenSource(o: OAuth2ClientCredentials): TokenSource {
  // the secret is part of the key: a slide configured with other (or wrong) credentials never gets this token
  const key = JSON.stringify([o.tokenUrl, o.clientId, o.clientSecret, o.scope ?? '']);
  let s = sources.get(key);
  if (!s) {
    if (sources.size >= 256) sources.delete(sources.keys().next().value!);
    sources.set(key, (s = new TokenSource(o)));
  }
  return s;
}

/** Adds `Authorization: Bearer <token>` to each request of the slide's origin. */
export function oauth2Signer(o: OAuth2ClientCredentials): RequestSigner {
  const src = tokenSource(o);
  const signer: RequestSigner = async ({ headers }) => ({ ...headers, authorization: `Bearer ${await src.token()}` });
  signer.invalidate = () => src.invalidate();
  return signer;
}
