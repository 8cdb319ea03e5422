// GET requests to a DICOMweb origin (WADO-RS metadata, frames), over the same
// HttpTransport, headers, RequestSigner and allow-list guard as HttpSource:
// configured headers and signatures go to the series' own origin only,
// redirects are not followed (E_FORBIDDEN: a credential must not follow one),
// a refused credential (401) is renewed once when the signer can, 5xx,
// resets and timeouts are retried with backoff, and every body is read
// against a byte cap. Messages name the URL without userinfo or query. Also
// the multipart/related parser for frame answers. Isomorphic.
import { ImageboxError } from '../errors.js';
import { newStats, type IoStats } from './byte-source.js';
import type { HttpTransport, RequestSigner, TransportResponse } from './http-transport.js';
import { redactUrl } from './http-source.js';
import { isPrivateAddressError } from './private-address.js';

export interface DicomWebClientOptions {
  transport: HttpTransport;
  /** Headers for the origin (Authorization ...): never logged, never in messages. */
  headers?: Record<string, string>;
  sign?: RequestSigner;
  /** SSRF guard, checked on every URL asked. */
  allow?: (url: URL) => boolean;
  /** Retries of a 5xx, reset or timeout (default 3). */
  retries?: number;
  /** Time limit of one attempt, headers and body (default 30 s). */
  timeoutMs?: number;
  /** First retry delay, doubled each retry, with jitter (default 100 ms). */
  retryBaseMs?: number;
}

export interface DicomWebAnswer {
  contentType: string;
  body: Uint8Array;
}

class Retry extends Error {}

function aborted(): ImageboxError {
  return new ImageboxError('E_ABORTED', 'the request was cancelled');
}

export class DicomWebClient {
  private readonly counters = newStats();
  /** Paths asked, newest last (the last 256; for tests and diagnostics: no query, no credentials). */
  readonly log: string[] = [];

  constructor(private readonly o: DicomWebClientOptions) {}

  stats(): IoStats {
    return { ...this.counters };
  }

  /** GET `url` with `accept`; the body (at most maxBytes). 404 -> E_NOT_FOUND, 401/403 -> E_FORBIDDEN. */
  async get(url: string, accept: string, maxBytes: number, signal?: AbortSignal): Promise<DicomWebAnswer> {
    const u = new URL(url);
    const where = redactUrl(u);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ImageboxError('E_BAD_REQUEST', `${where}: not an http(s) URL`);
    if (u.username || u.password) throw new ImageboxError('E_BAD_REQUEST', `${where}: credentials belong in headers, not in the URL`);
    if (this.o.allow && !this.o.allow(u)) throw new ImageboxError('E_FORBIDDEN', `${where} is not an allowed source`);
    const retries = this.o.retries ?? 3;
    let renewed = false;
    let last = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (signal?.aborted) throw aborted();
      const ac = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ac.abort();
      }, this.o.timeoutMs ?? 30_000);
      const onAbort = (): void => ac.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        let headers: Record<string, string> = { ...this.o.headers, accept, 'accept-encoding': 'identity' };
        if (this.o.sign) headers = await this.o.sign({ method: 'GET', url: u.href, headers });
        this.counters.requests++;
        this.log.push(u.pathname);
        if (this.log.length > 256) this.log.shift();
        const res = await this.o.transport.request({ method: 'GET', url: u.href, headers, signal: ac.signal });
        const status = res.status;
        if (status === 200) {
          const body = await this.readBody(res, maxBytes, where);
          this.counters.bytesRequested += body.length;
          return { contentType: res.header('content-type') ?? '', body };
        }
        await res.discard();
        if (status === 401 && this.o.sign?.invalidate && !renewed) {
          renewed = true;
          this.o.sign.invalidate();
          attempt--;
          continue;
        }
        if (status === 401 || status === 403) throw new ImageboxError('E_FORBIDDEN', `${where}: access denied (${status})`);
        if (status === 404 || status === 410) throw new ImageboxError('E_NOT_FOUND', `${where}: not found (${status})`);
        if (status >= 300 && status < 400) throw new ImageboxError('E_FORBIDDEN', `${where}: redirect ${status} not followed (DICOMweb requests carry the origin's credentials)`);
        if (status >= 500 || status === 408 || status === 429) throw new Retry(`origin answered ${status}`);
        throw new ImageboxError('E_ORIGIN', `${where}: origin answered ${status}`, { status });
      } catch (e) {
        if (signal?.aborted) throw aborted();
        if (e instanceof ImageboxError) throw e;
        if (isPrivateAddressError(e)) {
          throw new ImageboxError('E_FORBIDDEN', `${where}: its host is not a public address (ad-hoc slides may not reach private networks)`);
        }
        last = timedOut ? 'no answer in time' : e instanceof Retry ? e.message : `connection failed (${(e as Error).message ?? e})`;
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      if (attempt < retries) await new Promise((r) => setTimeout(r, Math.random() * (this.o.retryBaseMs ?? 100) * 2 ** attempt));
    }
    throw new ImageboxError(last === 'no answer in time' ? 'E_TIMEOUT' : 'E_ORIGIN', `${where}: ${last} (${retries + 1} attempts)`);
  }

  private async readBody(res: TransportResponse, limit: number, where: string): Promise<Uint8Array> {
    const declared = Number(res.header('content-length'));
    if (Number.isFinite(declared) && declared > limit) {
      res.abort();
      throw new ImageboxError('E_TOO_LARGE', `${where}: an answer of ${declared} bytes (at most ${limit})`);
    }
    let buf = new Uint8Array(Number.isFinite(declared) && declared > 0 ? declared : Math.min(limit, 64 * 1024));
    let n = 0;
    for await (const chunk of res.body) {
      this.counters.bytesFetched += chunk.length;
      if (n + chunk.length > limit) {
        res.abort();
        throw new ImageboxError('E_TOO_LARGE', `${where}: an answer longer than ${limit} bytes`);
      }
      if (n + chunk.length > buf.length) {
        const grown = new Uint8Array(Math.min(limit, Math.max(buf.length * 2, n + chunk.length)));
        grown.set(buf.subarray(0, n));
        buf = grown;
      }
      buf.set(chunk, n);
      n += chunk.length;
    }
    return n === buf.length ? buf : buf.slice(0, n);
  }
}

// ---- multipart/related ---------------------------------------------------------

export interface RelatedPart {
  contentType: string;
  data: Uint8Array;
}

function bad(msg: string): ImageboxError {
  return new ImageboxError('E_ORIGIN', `malformed multipart/related answer: ${msg}`);
}

/** A Content-Type parameter (quoted or not), lower-cased name. */
export function mediaParam(contentType: string, name: string): string | undefined {
  const re = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.){0,400})"|([^\\s;,"]{1,400}))`, 'i');
  const m = re.exec(contentType);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

function indexOf(buf: Uint8Array, pat: Uint8Array, from: number): number {
  const first = pat[0]!;
  outer: for (let i = buf.indexOf(first, from); i !== -1 && i + pat.length <= buf.length; i = buf.indexOf(first, i + 1)) {
    for (let k = 1; k < pat.length; k++) if (buf[i + k] !== pat[k]) continue outer;
    return i;
  }
  return -1;
}

/**
 * The parts of a multipart/related body (RFC 2387): each part's length from its
 * Content-Length when it has one (boundary-like bytes inside a frame are then
 * harmless), else up to the next delimiter. At most maxParts parts; data are
 * views into `body`.
 */
export function parseRelated(body: Uint8Array, contentType: string, maxParts: number): RelatedPart[] {
  if (!/^\s*multipart\/related\s*(;|$)/i.test(contentType)) throw bad(`Content-Type ${contentType.slice(0, 80)}`);
  const boundary = mediaParam(contentType, 'boundary');
  if (!boundary || boundary.length > 200) throw bad('no boundary');
  const enc = new TextEncoder();
  const open = enc.encode('--' + boundary);
  const delim = enc.encode('\r\n--' + boundary);
  const dec = new TextDecoder('latin1');
  let pos = body.length >= open.length && indexOf(body.subarray(0, open.length), open, 0) === 0 ? 0 : indexOf(body, delim, 0) + 2;
  if (pos < 0 || pos === 1) throw bad('no boundary in the body');
  const parts: RelatedPart[] = [];
  for (;;) {
    pos += open.length;
    if (body[pos] === 45 && body[pos + 1] === 45) return parts; // close delimiter
    while (body[pos] === 32 || body[pos] === 9) pos++;
    if (body[pos] === 13 && body[pos + 1] === 10) pos += 2;
    else if (body[pos] === 10) pos += 1;
    else throw bad('no line break after a boundary');
    let type = '';
    let length: number | undefined;
    for (let lines = 0; ; lines++) {
      if (lines > 64) throw bad('too many part headers');
      const end = body.indexOf(10, pos);
      if (end < 0 || end - pos > 8192) throw bad('unterminated part header');
      const line = dec.decode(body.subarray(pos, body[end - 1] === 13 ? end - 1 : end));
      pos = end + 1;
      if (line === '') break;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-type') type = value;
      if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value)) throw bad('bad part Content-Length');
        length = Number(value);
      }
    }
    if (parts.length >= maxParts) throw bad(`more than ${maxParts} parts`);
    let end: number;
    if (length !== undefined) {
      end = pos + length;
      if (end > body.length) throw bad('a part runs past the end of the body');
    } else {
      end = indexOf(body, delim, pos);
      if (end < 0) throw bad('a part without its closing boundary');
    }
    parts.push({ contentType: type, data: body.subarray(pos, end) });
    const next = indexOf(body, delim, end);
    if (next !== end) {
      // a body that stops after the last part (no close delimiter) is tolerated
      if (body.length - end <= 2) return parts;
      throw bad('a part not followed by a boundary');
    }
    pos = next + 2;
  }
}
