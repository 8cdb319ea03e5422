// A ByteSource over HTTP(S) range requests, on any HttpTransport (undici in
// Node, fetch in the browser). One read() = one request when it can be: a
// single Range, or one multi-range request answered as multipart/byteranges;
// parallel single-range requests on origins that do not do multi-range.
import { ImageboxError, isImageboxError } from '../errors.js';
import { newStats, type ByteRange, type ByteSource, type IoStats } from './byte-source.js';
import type { HttpTransport, RequestSigner, TransportResponse } from './http-transport.js';
import { sharedBreakers, type CircuitBreaker, type CircuitBreakers } from './circuit-breaker.js';
import { isPrivateAddressError } from './private-address.js';
import {
  multipartBoundary,
  parseContentRange,
  parseMultipart,
  parseUnsatisfiedRange,
  rangeHeader,
  type BytePart,
} from './http-ranges.js';

export interface HttpSourceOptions {
  transport: HttpTransport;
  /** Headers for the source's own origin (e.g. Authorization). Never logged, never sent to another origin. */
  headers?: Record<string, string>;
  /** SSRF guard: checked on the URL and on every redirect target. */
  allow?: (url: URL) => boolean;
  /** Follow a redirect to another origin (without the configured headers). Default false: E_FORBIDDEN. */
  allowCrossOriginRedirects?: boolean;
  /**
   * Circuit breakers by origin (default: the process-wide ones; false: none).
   * A dead origin fails fast instead of tying up requests for its timeouts.
   */
  breakers?: CircuitBreakers | false;
  /**
   * Signs each request to the source's own origin (AWS Signature V4 for a private
   * bucket: sigV4Signer); never a request to another origin.
   */
  sign?: RequestSigner;
  /**
   * A pre-signed URL's successor (run when the origin refuses the URL with 403):
   * the new URL must have the same origin and path, only its query may differ.
   */
  refreshUrl?: () => Promise<string>;
  /** Redirect hops per request (default 5). */
  maxRedirects?: number;
  /**
   * Retries of a failed request within the deadline (default 5): 5xx, resets, cut
   * bodies, timeouts, and answers that lie (a Content-Range other than asked, a
   * short range, 200 with an unchanged validator, 416 inside the known size).
   */
  retries?: number;
  /** Time limit of one attempt, headers and body (default 15 s). */
  timeoutMs?: number;
  /** Time limit of one request including its retries (default 30 s). */
  deadlineMs?: number;
  /** First retry delay, doubled each retry, with full jitter (default 100 ms; cap 2 s). */
  retryBaseMs?: number;
  /** An origin that ignores Range is read whole if smaller than this (default 32 MiB), else E_RANGE_UNSUPPORTED. */
  wholeFileMaxBytes?: number;
  /** After an origin ignored Range on a big file, reads fail fast for this long, then it is asked again (default 60 s). */
  rangeRefusalMs?: number;
  /** Try multi-range requests (default true). */
  multiRange?: boolean;
  /** Most ranges in one multi-range request (default 64); more are split over parallel requests. */
  maxRangesPerRequest?: number;
  /**
   * What the answers taught about multi-range (refused: a 200 or a single part for
   * several ranges, at once from an origin that never answered multipart, after
   * three in a row from one that did; fewer parts than asked: a cap) is asked again
   * after this long (default 60 s): a proxy's or a flaky origin's odd answers must
   * not turn multi-range off for the life of the process.
   */
  multiRangeReprobeMs?: number;
  /** Called when the origin's bytes changed under us (also see onChange()). */
  onChange?: (error: ImageboxError) => void;
}

/** What a successful exchange brought back. */
type Answer = { kind: 'parts'; parts: BytePart[] } | { kind: 'whole' } | { kind: 'multi-refused' };

/** A failure worth another attempt (5xx, reset, cut body, timeout). */
class Retryable extends Error {
  constructor(
    readonly reason: string,
    readonly timeout = false,
    /** A failure to get an answer at all (network, timeout, 5xx): counts for the circuit breaker; a lying answer does not. */
    readonly transport = true,
  ) {
    super(reason);
  }
}

/** The origin answered, but not usefully (a wrong or short range, a refused credential that can be renewed): ask again; it is alive, so no circuit-breaker failure. */
function askAgain(reason: string): Retryable {
  return new Retryable(reason, false, false);
}

interface Validators {
  etag: string | undefined;
  lastModified: string | undefined;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MiB = 1024 * 1024;

/**
 * Run `fn` when `signal` aborts; returns the unsubscribe. One real listener per
 * signal, however many attempts wait on it: a caller's batch read from an origin
 * without multi-range is one exchange per range, all on the caller's signal, and
 * Node warns of a leak past 10 listeners (a stream batch is up to 48 tiles).
 */
const abortWaiters = new WeakMap<AbortSignal, Set<() => void>>();
function whenAborted(signal: AbortSignal, fn: () => void): () => void {
  let set = abortWaiters.get(signal);
  if (!set) {
    const waiting = new Set<() => void>();
    set = waiting;
    abortWaiters.set(signal, waiting);
    signal.addEventListener(
      'abort',
      () => {
        abortWaiters.delete(signal);
        for (const f of [...waiting]) f();
        waiting.clear();
      },
      { once: true },
    );
  }
  set.add(fn);
  return () => void set.delete(fn);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    const off = signal ? whenAborted(signal, done) : undefined;
    function done(): void {
      clearTimeout(t);
      off?.();
      resolve();
    }
  });
}

function aborted(): ImageboxError {
  return new ImageboxError('E_ABORTED', 'read aborted');
}

/** Wait for `p` to settle (either way), or for the signal: whichever comes first. */
function untilSettledOrAborted(p: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p.then(() => undefined, () => undefined);
  return new Promise<void>((resolve) => {
    const off = whenAborted(signal, () => done());
    const done = (): void => {
      off();
      resolve();
    };
    p.then(done, done);
  });
}

/** A URL as it may appear in ids and messages: no userinfo, no query (presigned tokens), no fragment. */
export function redactUrl(url: URL): string {
  return url.origin + url.pathname;
}

function merged(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.offset - b.offset);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.offset <= last.offset + last.length) {
      last.length = Math.max(last.length, r.offset + r.length - last.offset);
    } else out.push({ offset: r.offset, length: r.length });
  }
  return out;
}

export class HttpSource implements ByteSource {
  readonly id: string;
  /** The URL read (a pre-signed URL is replaced by its refresh; its origin and path never change). */
  url: URL;
  private readonly where: string;
  private readonly transport: HttpTransport;
  private readonly headers: Record<string, string>;
  private readonly opts: Required<
    Pick<
      HttpSourceOptions,
      | 'maxRedirects'
      | 'retries'
      | 'timeoutMs'
      | 'deadlineMs'
      | 'retryBaseMs'
      | 'wholeFileMaxBytes'
      | 'multiRange'
      | 'maxRangesPerRequest'
      | 'allowCrossOriginRedirects'
      | 'rangeRefusalMs'
      | 'multiRangeReprobeMs'
    >
  >;
  private readonly allow: ((url: URL) => boolean) | undefined;
  private readonly listeners = new Set<(e: ImageboxError) => void>();
  private readonly counters: IoStats = newStats();

  // What we learned about the origin.
  private total: number | undefined;
  private tag: Validators | undefined;
  private rangeOk = false;
  private multiOk: boolean | undefined;
  private partsCap: number;
  /** When multi-range was last found refused or capped (multiOk false, partsCap lowered): learned again multiRangeReprobeMs later. */
  private multiLearnedAt = 0;
  /** Multi-range requests refused in a row since the last multipart answer. */
  private multiRefusals = 0;
  private whole: Uint8Array | undefined;
  /** The origin ignored Range on a file too big to hold: reads fail fast until refusedAt + rangeRefusalMs. */
  private rangeRefused: ImageboxError | undefined;
  private refusedAt = 0;
  /** The first read, while we do not know whether the origin honours Range: others wait for it. */
  private probe: Promise<unknown> | undefined;
  private readonly breaker: CircuitBreaker | undefined;
  private readonly sign: RequestSigner | undefined;
  private readonly refreshUrl: (() => Promise<string>) | undefined;

  constructor(url: string | URL, options: HttpSourceOptions) {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new ImageboxError('E_BAD_REQUEST', `not an http(s) URL: ${u.protocol}`);
    }
    const headers: Record<string, string> = {};
    if (u.username || u.password) {
      const cred = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
      let bin = '';
      for (const b of new TextEncoder().encode(cred)) bin += String.fromCharCode(b);
      headers['authorization'] = 'Basic ' + btoa(bin);
      u.username = '';
      u.password = '';
    }
    u.hash = '';
    for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = v;
    this.url = u;
    // No userinfo; the query (often a presigned token) only as a digest.
    this.id = u.search ? `${u.origin}${u.pathname}?~${digest(u.search)}` : u.href;
    this.where = redactUrl(u);
    this.transport = options.transport;
    this.headers = headers;
    this.allow = options.allow;
    this.opts = {
      maxRedirects: options.maxRedirects ?? 5,
      retries: Math.max(0, options.retries ?? 5),
      timeoutMs: options.timeoutMs ?? 15_000,
      deadlineMs: options.deadlineMs ?? 30_000,
      retryBaseMs: options.retryBaseMs ?? 100,
      wholeFileMaxBytes: options.wholeFileMaxBytes ?? 32 * MiB,
      multiRange: options.multiRange ?? true,
      maxRangesPerRequest: Math.max(1, options.maxRangesPerRequest ?? 64),
      allowCrossOriginRedirects: options.allowCrossOriginRedirects ?? false,
      rangeRefusalMs: options.rangeRefusalMs ?? 60_000,
      multiRangeReprobeMs: options.multiRangeReprobeMs ?? 60_000,
    };
    this.partsCap = this.opts.maxRangesPerRequest;
    this.sign = options.sign;
    this.refreshUrl = options.refreshUrl;
    this.breaker = options.breakers === false ? undefined : (options.breakers ?? sharedBreakers).for(u.origin);
    if (options.onChange) this.listeners.add(options.onChange);
  }

  // ---- public surface -------------------------------------------------------

  onChange(listener: (e: ImageboxError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  validator(): string | undefined {
    return this.tag?.etag ?? this.tag?.lastModified;
  }

  lastModified(): Date | undefined {
    const lm = this.tag?.lastModified;
    if (!lm) return undefined;
    const d = new Date(lm);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }

  /** One conditional 1-byte request: true (and listeners told) when the origin's bytes changed. */
  async revalidate(signal?: AbortSignal): Promise<boolean> {
    if (!this.tag && this.total === undefined) return false; // nothing read yet: nothing to be stale
    try {
      await this.fetchRanges([{ offset: 0, length: 1 }], signal);
      return false;
    } catch (e) {
      if (isImageboxError(e, 'E_SOURCE_CHANGED')) return true;
      throw e;
    }
  }

  stats(): IoStats {
    return { ...this.counters };
  }

  /** Whether the origin answered a multi-range request with multipart (undefined: not tried yet). */
  supportsMultiRange(): boolean | undefined {
    return this.multiOk;
  }

  /** True once an origin that ignores Range was read whole into memory. */
  isWholeFileInMemory(): boolean {
    return this.whole !== undefined;
  }

  async size(signal?: AbortSignal): Promise<number> {
    if (this.total !== undefined) return this.total;
    try {
      await this.fetchRanges([{ offset: 0, length: 1 }], signal);
    } catch (e) {
      if (this.total !== undefined) return this.total; // e.g. 416 "bytes */0": an empty file
      throw e;
    }
    if (this.total === undefined) {
      throw new ImageboxError('E_ORIGIN', `${this.where}: the origin does not tell the size (Content-Range */*)`);
    }
    return this.total;
  }

  /** The first min(length, size) bytes in one request, learning the size from Content-Range. */
  async readHead(length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.total !== undefined) {
      if (this.total === 0) return new Uint8Array(0);
      return (await this.read([{ offset: 0, length: Math.min(length, this.total) }], signal))[0]!;
    }
    try {
      return (await this.read([{ offset: 0, length }], signal))[0]!;
    } catch (e) {
      // A file shorter than the head: the answer told its size; read exactly that.
      if (isImageboxError(e, 'E_TRUNCATED') && this.total !== undefined && this.total < length) {
        if (this.total === 0) return new Uint8Array(0);
        return (await this.read([{ offset: 0, length: this.total }], signal))[0]!;
      }
      throw e;
    }
  }

  async read(ranges: ByteRange[], signal?: AbortSignal): Promise<Uint8Array[]> {
    for (const { offset, length } of ranges) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0) {
        throw new ImageboxError('E_MALFORMED', `bad range ${offset}+${length}`);
      }
    }
    if (ranges.length === 0) return [];
    for (const r of ranges) this.counters.bytesRequested += r.length;
    const pieces = await this.fetchRanges(ranges, signal);
    return ranges.map((r) => this.cut(pieces, r));
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.whole = undefined;
  }

  // ---- planning ---------------------------------------------------------------

  private checkBounds(ranges: readonly ByteRange[]): void {
    const size = this.total;
    if (size === undefined) return;
    for (const r of ranges) {
      if (r.offset + r.length > size) {
        throw new ImageboxError('E_TRUNCATED', `read ${r.offset}+${r.length} past end of ${this.where} (${size} bytes)`, {
          offset: r.offset,
          length: r.length,
          size,
        });
      }
    }
  }

  /** Slice a caller's range out of the fetched pieces (sorted, disjoint, covering it). */
  private cut(pieces: BytePart[], r: ByteRange): Uint8Array {
    let lo = 0;
    let hi = pieces.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (pieces[mid]!.offset <= r.offset) lo = mid;
      else hi = mid - 1;
    }
    const p = pieces[lo]!;
    const start = r.offset - p.offset;
    if (start < 0 || start + r.length > p.data.length) {
      throw new ImageboxError('E_INTERNAL', `range ${r.offset}+${r.length} not covered`);
    }
    if (start === 0 && r.length === p.data.length && p.data.byteLength === p.data.buffer.byteLength) return p.data;
    return p.data.slice(start, start + r.length);
  }

  /** Fetch the ranges; returns sorted disjoint pieces covering all of them. */
  private async fetchRanges(ranges: readonly ByteRange[], signal: AbortSignal | undefined): Promise<BytePart[]> {
    // Until one answer told us whether the origin honours Range, reads go one
    // at a time: an origin that ignores Range is then downloaded (or refused) once.
    while (this.probe && !this.rangeOk && !this.whole) {
      if (signal?.aborted) throw aborted();
      await untilSettledOrAborted(this.probe, signal);
    }
    if (signal?.aborted) throw aborted();
    if (this.whole) return this.fromWhole(ranges);
    if (this.rangeRefused) {
      if (Date.now() - this.refusedAt < this.opts.rangeRefusalMs) throw this.rangeRefused;
      this.rangeRefused = undefined; // ask again: the origin may have been fixed
    }
    if (!this.rangeOk) {
      const p = this.fetchPieces(ranges, signal);
      this.probe = p;
      try {
        return await p;
      } finally {
        if (this.probe === p) this.probe = undefined;
      }
    }
    return this.fetchPieces(ranges, signal);
  }

  private async fetchPieces(ranges: readonly ByteRange[], signal: AbortSignal | undefined): Promise<BytePart[]> {
    this.checkBounds(ranges);
    const wire = merged(ranges);
    let pieces: BytePart[];
    if ((this.multiOk === false || this.partsCap < this.opts.maxRangesPerRequest) && Date.now() - this.multiLearnedAt >= this.opts.multiRangeReprobeMs) {
      // learned from one answer a while ago: ask the origin again
      this.multiOk = undefined;
      this.partsCap = this.opts.maxRangesPerRequest;
    }
    const useMulti = wire.length > 1 && this.opts.multiRange && this.multiOk !== false;
    if (!useMulti) pieces = await this.fetchSingles(wire, signal);
    else {
      const batches: ByteRange[][] = [];
      for (let i = 0; i < wire.length; i += this.partsCap) batches.push(wire.slice(i, i + this.partsCap));
      const results = await Promise.all(batches.map((b) => this.fetchMulti(b, signal)));
      pieces = results.flat();
    }
    if (this.whole) return this.fromWhole(ranges);
    pieces.sort((a, b) => a.offset - b.offset);
    return pieces;
  }

  private fromWhole(ranges: readonly ByteRange[]): BytePart[] {
    const data = this.whole!;
    this.checkBounds(ranges);
    return [{ offset: 0, data, total: data.length }];
  }

  private async fetchSingles(wire: ByteRange[], signal: AbortSignal | undefined): Promise<BytePart[]> {
    const answers = await Promise.all(wire.map((r) => this.exchange([r], signal)));
    const out: BytePart[] = [];
    for (const a of answers) {
      if (a.kind === 'whole') return [{ offset: 0, data: this.whole!, total: this.whole!.length }];
      if (a.kind === 'parts') out.push(...a.parts);
    }
    return out;
  }

  private async fetchMulti(wire: ByteRange[], signal: AbortSignal | undefined): Promise<BytePart[]> {
    if (wire.length === 1) return this.fetchSingles(wire, signal);
    const answer = await this.exchange(wire, signal);
    if (answer.kind === 'whole') return [{ offset: 0, data: this.whole!, total: this.whole!.length }];
    if (answer.kind === 'multi-refused') {
      this.multiRefused();
      return this.fetchSingles(wire, signal);
    }
    // Which asked ranges did the parts cover (parts may come in any order, coalesced)?
    const parts = answer.parts;
    const got: BytePart[] = [];
    const missing: ByteRange[] = [];
    for (const r of wire) {
      const p = parts.find((q) => q.offset <= r.offset && q.offset + q.data.length >= r.offset + r.length);
      if (p) {
        const s = r.offset - p.offset;
        got.push({ offset: r.offset, data: p.data.slice(s, s + r.length), total: p.total });
      } else missing.push(r);
    }
    if (missing.length === 0) {
      if (parts.length > 1) {
        this.multiOk = true;
        this.multiRefusals = 0;
      }
      return got;
    }
    if (got.length === 0) {
      // Parts, but none that covers an asked range: asking the same again would
      // get the same answer (and loop for ever). The origin is not to be trusted.
      throw new ImageboxError('E_ORIGIN', `${this.where}: multipart answer covers none of the ${wire.length} ranges asked`);
    }
    // Some ranges unanswered: learn the origin's limit, fetch the rest.
    if (parts.length >= 2 && this.multiOk !== false) {
      this.multiOk = true;
      this.multiRefusals = 0;
      this.partsCap = Math.min(this.partsCap, parts.length);
      this.multiLearnedAt = Date.now();
      const rest: ByteRange[][] = [];
      for (let i = 0; i < missing.length; i += this.partsCap) rest.push(missing.slice(i, i + this.partsCap));
      const more = await Promise.all(rest.map((b) => this.fetchMulti(b, signal)));
      return got.concat(more.flat());
    }
    this.multiRefused();
    return got.concat(await this.fetchSingles(missing, signal));
  }

  /**
   * A multi-range request answered without multipart (200, or one part): this read
   * goes on in single ranges. An origin that has answered multipart before is not
   * taken to refuse it for one such answer (a proxy's or a flaky origin's hiccup),
   * only for three in a row; one that never has, at once.
   */
  private multiRefused(): void {
    this.multiRefusals++;
    if (this.multiOk === true && this.multiRefusals < 3) return;
    this.multiOk = false;
    this.multiLearnedAt = Date.now();
  }

  // ---- one logical request with retries ------------------------------------

  private async exchange(ranges: ByteRange[], signal: AbortSignal | undefined): Promise<Answer> {
    const { retries, timeoutMs, deadlineMs, retryBaseMs } = this.opts;
    const deadline = Date.now() + deadlineMs;
    let last: Retryable | undefined;
    let attempts = 0;
    const auth = { retried: false, refreshed: false };
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (signal?.aborted) throw aborted();
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const gate = this.breaker?.gate() ?? { pass: true as const, probe: false };
      if (!gate.pass) {
        throw new ImageboxError('E_ORIGIN', `${this.where}: the origin is not answering (circuit open; asked again in ${Math.ceil(gate.retryInMs / 1000)} s)`, {
          circuit: 'open',
          attempts,
        });
      }
      const ac = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ac.abort(new Retryable('timeout', true));
      }, Math.min(timeoutMs, remaining));
      const offAbort = signal ? whenAborted(signal, () => ac.abort(aborted())) : undefined;
      attempts++;
      try {
        const answer = await this.once(ranges, ac.signal, auth);
        this.breaker?.success();
        return answer;
      } catch (e) {
        if (signal?.aborted) {
          this.breaker?.release(gate.probe);
          throw aborted();
        }
        if (timedOut) last = new Retryable(`no answer within ${Math.min(timeoutMs, remaining)} ms`, true);
        else if (e instanceof Retryable) last = e;
        else if (e instanceof ImageboxError) {
          this.breaker?.success(); // it answered (404, 403, a change...)
          throw e;
        } else if (isPrivateAddressError(e)) {
          this.breaker?.success();
          throw new ImageboxError('E_FORBIDDEN', `${this.where}: its host is not a public address (ad-hoc slides may not reach private networks)`);
        } else last = new Retryable(networkReason(e));
        if (last.transport) this.breaker?.failure(gate.probe);
        else this.breaker?.success();
      } finally {
        clearTimeout(timer);
        offAbort?.();
      }
      if (attempt < retries) {
        const backoff = Math.random() * Math.min(2000, retryBaseMs * 2 ** attempt);
        const wait = Math.min(backoff, deadline - Date.now());
        if (wait > 0) await sleep(wait, signal);
      }
    }
    if (!last || last.timeout) {
      throw new ImageboxError('E_TIMEOUT', `${this.where}: ${last?.reason ?? `no answer within ${deadlineMs} ms`} (${attempts} attempts)`, { attempts, transport: true });
    }
    // transport: the origin did not answer (what a circuit breaker counts), as opposed to answering wrongly
    throw new ImageboxError('E_ORIGIN', `${this.where}: ${last.reason} (${attempts} attempts)`, { attempts, transport: last.transport });
  }

  /** One attempt: send (following allowed redirects), check the answer, read the body. */
  private async once(ranges: ByteRange[], signal: AbortSignal, auth: { retried: boolean; refreshed: boolean }): Promise<Answer> {
    const wasMulti = ranges.length > 1;
    const extra: Record<string, string> = { range: rangeHeader(ranges), 'accept-encoding': 'identity' };
    const ifRange = this.tag?.etag ?? this.tag?.lastModified;
    if (ifRange) extra['if-range'] = ifRange;
    const res = await this.send(extra, signal);
    const status = res.status;
    if (status === 206) return this.on206(res, ranges);
    if (status === 200) return this.on200(res, wasMulti);
    if (status === 403) {
      const expired = await this.expiredAnswer(res);
      if (this.refreshUrl && !auth.refreshed) {
        auth.refreshed = true;
        await this.replaceUrl();
        throw askAgain('403: the pre-signed URL was refused, asked again with a fresh one');
      }
      throw new ImageboxError('E_FORBIDDEN', expired ? `${this.where}: the pre-signed URL has expired (403)` : `${this.where}: access denied (403)`, expired ? { expired: true } : undefined);
    }
    await res.discard();
    if (status === 401 && this.sign?.invalidate && !auth.retried) {
      // the credential was refused (a token revoked or expired early): once more with a fresh one
      auth.retried = true;
      this.sign.invalidate();
      throw askAgain('401: credential refused, asked again with a fresh one');
    }
    if (status === 416 && this.total !== undefined && ranges.every((r) => r.offset + r.length <= this.total!)) {
      // every asked byte lies inside the file we know: a lying or confused answer
      throw askAgain(`416 for a range inside the file (${this.total} bytes)`);
    }
    throw this.statusError(res, status);
  }

  /** Whether a 403's (small) body says the URL expired (S3: "Request has expired", GCS: ExpiredToken). */
  private async expiredAnswer(res: TransportResponse): Promise<boolean> {
    try {
      const body = new TextDecoder().decode(await this.readBody(res, 8192, undefined));
      return /expired/i.test(body);
    } catch {
      res.abort();
      return false;
    }
  }

  /** Ask the configured refresher for the URL's successor: same origin and path, another query. */
  private async replaceUrl(): Promise<void> {
    let next: URL;
    try {
      next = new URL((await this.refreshUrl!()).trim());
    } catch (e) {
      if (e instanceof ImageboxError) throw e;
      throw new ImageboxError('E_FORBIDDEN', `${this.where}: the pre-signed URL was refused and its refresh gave no URL`);
    }
    if (next.origin !== this.url.origin || next.pathname !== this.url.pathname || next.username || next.password) {
      throw new ImageboxError('E_FORBIDDEN', `${this.where}: the refreshed URL is not the same object (origin and path must stay)`);
    }
    this.url = next;
  }

  private statusError(res: TransportResponse, status: number): Error {
    if (status === 416) {
      const total = parseUnsatisfiedRange(res.header('content-range'));
      if (total !== undefined && this.total === undefined) this.total = total;
      return new ImageboxError('E_RANGE_NOT_SATISFIABLE', `${this.where}: range not satisfiable (416)`, { size: total });
    }
    if (status === 404 || status === 410) return new ImageboxError('E_NOT_FOUND', `${this.where}: not found (${status})`);
    if (status === 401) return new ImageboxError('E_FORBIDDEN', `${this.where}: access denied (401)`); // 403: once() (pre-signed URLs)
    if (status >= 500 || status === 408 || status === 429) return new Retryable(`origin answered ${status}`);
    return new ImageboxError('E_ORIGIN', `${this.where}: origin answered ${status}`, { status });
  }

  private async send(extra: Record<string, string>, signal: AbortSignal): Promise<TransportResponse> {
    let url = this.url;
    for (let hop = 0; ; hop++) {
      if (this.allow && !this.allow(url)) {
        throw new ImageboxError('E_FORBIDDEN', `${redactUrl(url)} is not an allowed source`);
      }
      const own = url.origin === this.url.origin;
      let headers = own ? { ...this.headers, ...extra } : { ...extra };
      if (own && this.sign) headers = await this.sign({ method: 'GET', url: url.href, headers });
      this.counters.requests++;
      const res = await this.transport.request({ method: 'GET', url: url.href, headers, signal });
      if (res.status === 0) {
        res.abort();
        throw new ImageboxError('E_FORBIDDEN', `${this.where}: redirect hidden by the runtime; not followed`);
      }
      if (!REDIRECTS.has(res.status)) return res;
      const location = res.header('location');
      await res.discard();
      if (!location) throw new ImageboxError('E_ORIGIN', `${redactUrl(url)}: redirect ${res.status} without Location`);
      if (hop >= this.opts.maxRedirects) throw new ImageboxError('E_ORIGIN', `${this.where}: too many redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new ImageboxError('E_ORIGIN', `${redactUrl(url)}: bad redirect Location`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new ImageboxError('E_FORBIDDEN', `${this.where}: redirect to a ${next.protocol} URL refused`);
      }
      // Credentials in a redirect target are refused, not stripped: stripping
      // them first would let the target pass checks a direct URL with them fails.
      if (next.username || next.password) {
        throw new ImageboxError('E_FORBIDDEN', `${this.where}: redirect to a URL with credentials refused`);
      }
      if (this.allow && !this.allow(next)) {
        throw new ImageboxError('E_FORBIDDEN', `${redactUrl(next)} (a redirect target) is not an allowed source`);
      }
      next.hash = '';
      if (next.origin !== this.url.origin && !this.opts.allowCrossOriginRedirects) {
        throw new ImageboxError('E_FORBIDDEN', `${this.where}: redirect to another origin (${next.origin}) refused`);
      }
      url = next;
    }
  }

  // ---- answers ----------------------------------------------------------------

  private validatorsOf(res: TransportResponse): Validators {
    const etag = res.header('etag');
    return {
      etag: etag && !/^\s*W\//.test(etag) ? etag.trim() : undefined,
      lastModified: res.header('last-modified')?.trim() || undefined,
    };
  }

  /** True when `v` says the origin's bytes differ from the ones we know (the one comparison of validators). */
  private differs(v: Validators): boolean {
    const known = this.tag;
    if (!known) return false;
    if (known.etag && v.etag) return known.etag !== v.etag;
    if (known.lastModified && v.lastModified) return known.lastModified !== v.lastModified;
    return false;
  }

  /** Remember the validators of the first answer that has any. */
  private learn(v: Validators): void {
    if (!this.tag && (v.etag || v.lastModified)) this.tag = v;
  }

  private changed(why: string): ImageboxError {
    const err = new ImageboxError('E_SOURCE_CHANGED', `${this.where} changed while being read (${why})`);
    // Forget everything learned about the old bytes; the next read starts afresh.
    this.tag = undefined;
    this.total = undefined;
    this.whole = undefined;
    this.rangeOk = false;
    this.rangeRefused = undefined;
    this.multiOk = undefined;
    this.multiRefusals = 0;
    this.partsCap = this.opts.maxRangesPerRequest;
    for (const l of [...this.listeners]) {
      try {
        l(err);
      } catch {
        /* a listener's failure is not ours */
      }
    }
    return err;
  }

  private learnTotal(total: number | undefined): void {
    if (total === undefined) return;
    if (this.total !== undefined && this.total !== total) {
      throw this.changed(`size ${this.total} -> ${total}`);
    }
    this.total = total;
  }

  private async on206(res: TransportResponse, ranges: ByteRange[]): Promise<Answer> {
    const v = this.validatorsOf(res);
    if (this.differs(v)) {
      res.abort();
      throw this.changed('validator differs');
    }
    this.learn(v);
    const enc = res.header('content-encoding');
    if (enc && enc.trim().toLowerCase() !== 'identity') {
      res.abort();
      throw new ImageboxError('E_ORIGIN', `${this.where}: range answered with Content-Encoding ${enc}`);
    }
    const lo = ranges[0]!.offset;
    const hi = ranges.reduce((m, r) => Math.max(m, r.offset + r.length), 0);
    const boundary = multipartBoundary(res.header('content-type'));
    if (boundary !== undefined) {
      // Bounded by what we asked for, plus room for gaps the origin may
      // coalesce (at most as much again, or 1 MiB) and per-part headers.
      const asked = ranges.reduce((n, r) => n + r.length, 0);
      const limit = asked + Math.min(hi - lo - asked, Math.max(MiB, asked)) + ranges.length * 1024 + 4096;
      const cl = res.header('content-length');
      if (cl !== undefined && Number(cl) > limit) {
        res.abort();
        throw askAgain(`multipart body of ${cl} bytes for ${asked} bytes asked`);
      }
      const body = await this.readBody(res, limit, undefined);
      const parts = parseMultipart(body, boundary);
      for (const p of parts) {
        if (p.offset < lo || p.offset + p.data.length > hi) {
          throw askAgain(`multipart part outside the asked ranges`);
        }
        this.learnTotal(p.total);
      }
      this.rangeOk = true;
      return { kind: 'parts', parts };
    }
    const cr = parseContentRange(res.header('content-range'));
    if (!cr) {
      res.abort();
      throw askAgain(`206 without a valid Content-Range`);
    }
    this.learnTotal(cr.total);
    const len = cr.end - cr.start + 1;
    const asked = ranges.length === 1 ? ranges[0]! : undefined;
    const ok = asked
      ? cr.start === asked.offset && cr.end === asked.offset + asked.length - 1
      : cr.start >= lo && cr.end < hi;
    if (!ok) {
      res.abort();
      if (asked && cr.start === asked.offset && cr.total !== undefined && cr.end === cr.total - 1) {
        this.rangeOk = true;
        throw new ImageboxError(
          'E_TRUNCATED',
          `read ${asked.offset}+${asked.length} past end of ${this.where} (${cr.total} bytes)`,
          { offset: asked.offset, length: asked.length, size: cr.total },
        );
      }
      throw askAgain(`asked ${rangeHeader(ranges)}, got bytes ${cr.start}-${cr.end}`);
    }
    const cl = res.header('content-length');
    if (cl !== undefined && Number(cl) !== len) {
      res.abort();
      throw askAgain(`Content-Length ${cl} disagrees with Content-Range`);
    }
    const data = await this.readBody(res, len, len);
    this.rangeOk = true;
    return { kind: 'parts', parts: [{ offset: cr.start, data, total: cr.total }] };
  }

  private async on200(res: TransportResponse, wasMulti: boolean): Promise<Answer> {
    const v = this.validatorsOf(res);
    if (this.differs(v)) {
      res.abort();
      throw this.changed('validator differs');
    }
    if (this.rangeOk) {
      // The origin does ranges and the validator did not change (a changed one is
      // caught above): a multi-range form it refused, or a lying or confused answer
      // (a cache, a proxy) that is asked again within the deadline.
      res.abort();
      if (wasMulti) return { kind: 'multi-refused' };
      throw askAgain('200 answer to a range request, validator unchanged');
    }
    // Range support unknown: the origin may ignore Range altogether.
    const max = this.opts.wholeFileMaxBytes;
    const refuse = (): Answer => {
      res.abort();
      if (wasMulti) return { kind: 'multi-refused' };
      this.refusedAt = Date.now();
      this.rangeRefused = new ImageboxError(
        'E_RANGE_UNSUPPORTED',
        `${this.where}: the origin ignores Range and the file is too big to read whole`,
        { limit: max },
      );
      throw this.rangeRefused;
    };
    const clHeader = res.header('content-length');
    const cl = clHeader !== undefined && /^\s*\d+\s*$/.test(clHeader) ? Number(clHeader) : undefined;
    if (cl !== undefined && cl > max) return refuse();
    let data: Uint8Array;
    try {
      data = await this.readBody(res, max, cl);
    } catch (e) {
      if (isImageboxError(e, 'E_ORIGIN') && e.details?.['tooLong'] === true) return refuse();
      throw e;
    }
    this.learn(v);
    this.learnTotal(data.length);
    this.whole = data;
    return { kind: 'whole' };
  }

  /**
   * Read a body of at most `limit` bytes (E_TOO_LARGE beyond, connection dropped);
   * with `expected`, a shorter body is a cut connection (retryable).
   */
  private async readBody(res: TransportResponse, limit: number, expected: number | undefined): Promise<Uint8Array> {
    let buf = new Uint8Array(expected !== undefined ? Math.min(expected, limit) : Math.min(limit, 64 * 1024));
    let n = 0;
    try {
      for await (const chunk of res.body) {
        this.counters.bytesFetched += chunk.length;
        if (n + chunk.length > limit) {
          res.abort();
          throw new ImageboxError('E_ORIGIN', `${this.where}: body longer than ${limit} bytes`, { tooLong: true });
        }
        if (n + chunk.length > buf.length) {
          const grown = new Uint8Array(Math.min(limit, Math.max(buf.length * 2, n + chunk.length)));
          grown.set(buf.subarray(0, n));
          buf = grown;
        }
        buf.set(chunk, n);
        n += chunk.length;
      }
    } catch (e) {
      if (e instanceof ImageboxError) throw e;
      res.abort();
      throw new Retryable(`connection failed mid-body after ${n} bytes (${networkReason(e)})`);
    }
    if (expected !== undefined && n < expected) {
      throw new Retryable(`body cut short: ${n} of ${expected} bytes`);
    }
    return n === buf.length ? buf : buf.slice(0, n);
  }
}

/** A short, stable, non-reversible digest of a string (FNV-1a, 2 x 32 bits). */
function digest(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

/** A short, credential-free reason for a network error. */
function networkReason(e: unknown): string {
  if (e && typeof e === 'object') {
    const err = e as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
    if (typeof err.code === 'string') return err.code;
    if (err.cause && typeof err.cause.code === 'string') return err.cause.code;
    if (typeof err.name === 'string' && err.name !== 'Error') return err.name;
  }
  return 'network error';
}

