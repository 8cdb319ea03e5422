// A real HTTP origin for the io tests: node:http on 127.0.0.1, port 0, serving
// in-memory files with Range, multi-range (multipart/byteranges), ETag,
// Last-Modified, If-Range and HEAD, plus per-test fault modes. It counts what
// it received and sent so tests can assert on round trips, never on timing.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { xorshift32 } from './rng.js';

/** Deterministic pseudo-random bytes (xorshift32). */
export function makeBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export interface Faults {
  /** Ignore Range: always 200 with the whole body. */
  noRange?: boolean;
  /** Omit Content-Length on 200 answers (chunked). */
  noContentLength?: boolean;
  /** Multi-range requests: 'first' = a single 206 of the first range; 'whole' = 200 whole body. */
  noMultiRange?: 'first' | 'whole';
  /** Multi-range answered as multipart with only the first part. */
  partialMultipart?: boolean;
  /** Multipart answers carry at most this many parts (like nginx max_ranges but silent). */
  maxParts?: number;
  /** Multipart parts in reverse order. */
  reverseParts?: boolean;
  /** Merge overlapping / adjacent asked ranges into one part (RFC 9110 allows it). */
  coalesce?: boolean;
  /** Answer every request with 416. */
  force416?: boolean;
  /** The next N requests get 500. */
  fail500?: number;
  /** The next N range answers are cut after half the body (socket destroyed). */
  resetMidBody?: number;
  /** Delay before answering (ms). */
  delayMs?: number;
  /** Range answers send their headers and half the body at once, then stall this long before the rest (a slow body). */
  stallMidBodyMs?: number;
  /** Answer any request with this status. */
  status?: number;
  /** path -> Location (relative or absolute) answered with 302. */
  redirects?: Record<string, string>;
  /** Send a weak ETag only (W/"..."). */
  weakEtag?: boolean;
  /** Send no ETag (Last-Modified only). */
  noEtag?: boolean;
  /** Ignore If-Range (answer 206 even when the validator no longer matches). */
  ignoreIfRange?: boolean;
  /** Multipart parts each one byte short at the end: they cover none of the asked ranges. */
  shortParts?: boolean;
  /** Range requests asking for more than this many bytes in all get 500 (big array loads fail, small reads work). */
  failLongerThan?: number;
  /**
   * A share `rate` of range answers broken, each in one of `kinds` (default all),
   * drawn from a seeded generator: resets mid-body, 503, hangs (no answer for
   * hangMs, then the connection dropped), slow answers (correct, late), a wrong
   * Content-Range (another range's bytes), a short range (self-consistent
   * headers), 200 with the whole file, 416, multipart with a part missing or
   * the parts reordered. `broken` counts what was done.
   */
  chaos?: { rate: number; seed?: number; kinds?: ChaosKind[]; hangMs?: number; broken?: Partial<Record<ChaosKind, number>> };
}

export const CHAOS_KINDS = ['reset', '503', 'hang', 'slow', 'wrongRange', 'short', '200', '416', 'partMissing', 'reordered'] as const;
export type ChaosKind = (typeof CHAOS_KINDS)[number];

/** Cross-origin access as docs/deployment.md asks of a direct-mode origin: preflight for Range/If-Range, the headers a reader needs exposed. */
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Content-Range, Content-Length, Accept-Ranges, ETag, Last-Modified',
};

export interface LoggedRequest {
  method: string;
  path: string;
  range: string | undefined;
  headers: IncomingHttpHeaders;
  /** Answer status. */
  status?: number;
}

interface File {
  data: Uint8Array;
  etag: string;
  lastModified: string;
  type: string;
}

let version = 0;
/** Per process: an ETag of another test process's origin (a port used again) never matches one of ours. */
const run = Math.random().toString(36).slice(2, 10);

function parseRanges(header: string, size: number): { start: number; end: number }[] | 'bad' | 'unsatisfiable' {
  const m = /^bytes=(.+)$/.exec(header.trim());
  if (!m) return 'bad';
  const out: { start: number; end: number }[] = [];
  for (const spec of m[1]!.split(',')) {
    const r = /^\s*(\d*)-(\d*)\s*$/.exec(spec);
    if (!r) return 'bad';
    let start: number;
    let end: number;
    if (r[1] === '') {
      if (r[2] === '') return 'bad';
      start = Math.max(0, size - Number(r[2]));
      end = size - 1;
    } else {
      start = Number(r[1]);
      end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
      if (r[2] !== '' && Number(r[2]) < start) return 'bad';
    }
    if (start >= size) continue;
    out.push({ start, end });
  }
  return out.length === 0 ? 'unsatisfiable' : out;
}

export class Origin {
  readonly files = new Map<string, File>();
  faults: Faults = {};
  readonly log: LoggedRequest[] = [];
  requests = 0;
  rangeRequests = 0;
  multiRangeRequests = 0;
  bytesSent = 0;
  /** Responses whose connection closed before the body was complete. */
  abortedResponses = 0;
  /** Requests whose client went away before the (delayed) answer was sent. */
  clientGaveUp = 0;
  /** Requests being answered now, and the most at once since the last reset. */
  inFlight = 0;
  maxInFlight = 0;
  /** Called as each request arrives (before any delay). */
  onRequest: ((entry: LoggedRequest) => void) | undefined;
  private server: Server | undefined;
  private port = 0;

  /** http://127.0.0.1:port */
  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(path: string): string {
    return this.base + path;
  }

  /** Answer cross-origin requests (CORS) as a direct-mode origin must. */
  cors = false;

  /** When set: requests whose Authorization it refuses get 401. */
  auth: ((authorization: string | undefined) => boolean) | undefined;

  /** When set: requests whose query it refuses get S3's 403 "Request has expired" (a pre-signed URL). */
  presigned: ((query: string) => boolean) | undefined;

  put(path: string, data: Uint8Array, type = 'application/octet-stream'): void {
    version++;
    this.files.set(path, {
      data,
      type,
      etag: `"v${version}-${data.length}-${run}"`,
      lastModified: new Date(Date.UTC(2024, 0, 1, 0, 0, version)).toUTCString(),
    });
  }

  resetCounters(): void {
    this.log.length = 0;
    this.requests = 0;
    this.rangeRequests = 0;
    this.multiRangeRequests = 0;
    this.bytesSent = 0;
    this.abortedResponses = 0;
    this.clientGaveUp = 0;
    this.maxInFlight = this.inFlight;
    this.onRequest = undefined;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      range: req.headers.range,
      headers: { ...req.headers },
    };
    this.log.push(entry);
    this.requests++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => this.inFlight--);
    this.onRequest?.(entry);
    if (entry.range) {
      this.rangeRequests++;
      if (entry.range.includes(',')) this.multiRangeRequests++;
    }
    const delay = this.faults.delayMs ?? 0;
    if (delay > 0) {
      const t = setTimeout(() => {
        if (!res.destroyed) this.answer(req, res, entry);
      }, delay);
      t.unref();
      res.on('close', () => {
        clearTimeout(t);
        if (entry.status === undefined) this.clientGaveUp++;
      });
    } else this.answer(req, res, entry);
  }

  private send(res: ServerResponse, entry: LoggedRequest, status: number, headers: Record<string, string | number>, body?: Uint8Array, cutAt?: number, stallMs?: number): void {
    entry.status = status;
    res.writeHead(status, this.cors ? { ...CORS_HEADERS, ...headers } : headers);
    if (!body || body.length === 0) {
      res.end();
      return;
    }
    res.on('close', () => {
      if (!res.writableFinished) this.abortedResponses++;
    });
    const limit = cutAt ?? body.length;
    let pos = 0;
    const CHUNK = 64 * 1024;
    let stallAt = stallMs !== undefined && stallMs > 0 ? Math.floor(body.length / 2) : undefined;
    const pump = (): void => {
      while (pos < limit) {
        if (res.destroyed) return;
        if (stallAt !== undefined && pos >= stallAt) {
          stallAt = undefined;
          setTimeout(() => {
            if (!res.destroyed) pump();
          }, stallMs).unref();
          return;
        }
        const n = Math.min(CHUNK, limit - pos, stallAt !== undefined ? stallAt - pos : Infinity);
        const chunk = body.subarray(pos, pos + n);
        pos += n;
        this.bytesSent += n;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (cutAt !== undefined) {
        // Let the written bytes leave, then drop the connection mid-body.
        setTimeout(() => res.socket?.destroy(), 20).unref();
        return;
      }
      res.end();
    };
    pump();
  }

  private chaosRng: { seed: number; next: () => number } | undefined;

  /** The fault this range answer gets under `faults.chaos`, if any. */
  private chaosKind(multi: boolean): ChaosKind | undefined {
    const c = this.faults.chaos;
    if (!c || c.rate <= 0) return undefined;
    const seed = c.seed ?? 1;
    if (!this.chaosRng || this.chaosRng.seed !== seed) this.chaosRng = { seed, next: xorshift32(seed) };
    const next = (): number => this.chaosRng!.next() / 2 ** 32;
    if (next() >= c.rate) return undefined;
    const kinds = (c.kinds ?? CHAOS_KINDS).filter((k) => multi || (k !== 'partMissing' && k !== 'reordered'));
    if (kinds.length === 0) return undefined;
    return kinds[Math.floor(next() * kinds.length)];
  }

  private answer(req: IncomingMessage, res: ServerResponse, entry: LoggedRequest, spared = false): void {
    const f = this.faults;
    const path = (req.url ?? '/').split('?')[0]!;
    if (this.cors && req.method === 'OPTIONS') {
      this.send(res, entry, 204, {
        'access-control-allow-methods': 'GET, HEAD',
        'access-control-allow-headers': 'Range, If-Range',
        'access-control-max-age': 600,
        'content-length': 0,
      });
      return;
    }
    if (f.redirects && f.redirects[path] !== undefined) {
      this.send(res, entry, 302, { location: f.redirects[path]!, 'content-length': 0 });
      return;
    }
    if (f.status) {
      this.send(res, entry, f.status, { 'content-length': 0 });
      return;
    }
    if (f.fail500 && f.fail500 > 0) {
      f.fail500--;
      const msg = new TextEncoder().encode('boom');
      this.send(res, entry, 500, { 'content-length': msg.length }, msg);
      return;
    }
    if (this.presigned && !this.presigned((req.url ?? '').split('?')[1] ?? '')) {
      const xml = new TextEncoder().encode('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
      this.send(res, entry, 403, { 'content-type': 'application/xml', 'content-length': xml.length }, xml);
      return;
    }
    if (this.auth && !this.auth(req.headers.authorization)) {
      this.send(res, entry, 401, { 'www-authenticate': 'Bearer', 'content-length': 0 });
      return;
    }
    const file = this.files.get(path);
    if (!file) {
      this.send(res, entry, 404, { 'content-length': 0 });
      return;
    }
    const size = file.data.length;
    const validators: Record<string, string> = { 'last-modified': file.lastModified, 'accept-ranges': 'bytes' };
    if (!f.noEtag) validators['etag'] = f.weakEtag ? `W/${file.etag}` : file.etag;
    const whole = (): void => {
      const headers: Record<string, string | number> = { ...validators, 'content-type': file.type };
      if (!f.noContentLength) headers['content-length'] = size;
      if (req.method === 'HEAD') {
        this.send(res, entry, 200, { ...validators, 'content-length': size });
        return;
      }
      this.send(res, entry, 200, headers, file.data);
    };
    const rangeHeader = req.headers.range;
    if (!rangeHeader || f.noRange || req.method === 'HEAD') return whole();
    const ifRange = req.headers['if-range'];
    if (!f.ignoreIfRange && ifRange !== undefined && ifRange !== file.etag && ifRange !== file.lastModified) return whole();
    if (f.force416) {
      this.send(res, entry, 416, { 'content-range': `bytes */${size}`, 'content-length': 0 });
      return;
    }
    const parsed = parseRanges(rangeHeader, size);
    if (parsed === 'bad') return whole();
    if (parsed === 'unsatisfiable') {
      this.send(res, entry, 416, { 'content-range': `bytes */${size}`, 'content-length': 0 });
      return;
    }
    let ranges = parsed;
    const chaos = spared ? undefined : this.chaosKind(ranges.length > 1);
    if (chaos) {
      f.chaos!.broken ??= {};
      f.chaos!.broken[chaos] = (f.chaos!.broken[chaos] ?? 0) + 1;
      if (chaos === '503') return this.send(res, entry, 503, { 'content-length': 0 });
      if (chaos === '416') return this.send(res, entry, 416, { 'content-range': `bytes */${size}`, 'content-length': 0 });
      if (chaos === '200') return this.send(res, entry, 200, { ...validators, 'content-type': file.type, 'content-length': size }, file.data);
      if (chaos === 'hang') {
        entry.status = 0;
        setTimeout(() => res.socket?.destroy(), f.chaos!.hangMs ?? 2000).unref();
        return;
      }
      if (chaos === 'slow') {
        setTimeout(() => {
          if (!res.destroyed) this.answer(req, res, entry, true);
        }, 150).unref();
        return;
      }
      if (chaos === 'wrongRange' || chaos === 'short') {
        const { start, end } = ranges[0]!;
        const s0 = chaos === 'wrongRange' ? Math.min(start + 7, size - 1) : start;
        const e0 = chaos === 'wrongRange' ? Math.min(end + 7, size - 1) : Math.max(start, end - 10);
        const body = file.data.subarray(s0, e0 + 1);
        return this.send(res, entry, 206, { ...validators, 'content-type': 'application/octet-stream', 'content-range': `bytes ${s0}-${e0}/${size}`, 'content-length': body.length }, body);
      }
      if (chaos === 'partMissing') ranges = ranges.slice(0, -1);
      if (chaos === 'reordered') ranges = [...ranges].reverse();
    }
    if (f.failLongerThan !== undefined && ranges.reduce((n, r) => n + r.end - r.start + 1, 0) > f.failLongerThan) {
      this.send(res, entry, 500, { 'content-length': 0 });
      return;
    }
    if (f.coalesce) {
      const sorted = [...ranges].sort((a, b) => a.start - b.start);
      ranges = [];
      for (const r of sorted) {
        const last = ranges[ranges.length - 1];
        if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
        else ranges.push({ ...r });
      }
    }
    let cut: number | undefined;
    const cutNow = (len: number): number | undefined => {
      if (chaos === 'reset') return Math.floor(len / 2);
      if (f.resetMidBody && f.resetMidBody > 0) {
        f.resetMidBody--;
        return Math.floor(len / 2);
      }
      return undefined;
    };
    if (ranges.length > 1 && f.noMultiRange === 'whole') return whole();
    if (ranges.length > 1 && f.noMultiRange === 'first') ranges = ranges.slice(0, 1);
    if (ranges.length === 1) {
      const { start, end } = ranges[0]!;
      const body = file.data.subarray(start, end + 1);
      cut = cutNow(body.length);
      this.send(
        res,
        entry,
        206,
        {
          ...validators,
          'content-type': 'application/octet-stream',
          'content-range': `bytes ${start}-${end}/${size}`,
          'content-length': body.length,
        },
        body,
        cut,
        f.stallMidBodyMs,
      );
      return;
    }
    if (f.partialMultipart) ranges = ranges.slice(0, 1);
    if (f.maxParts) ranges = ranges.slice(0, f.maxParts);
    if (f.reverseParts) ranges = [...ranges].reverse();
    if (f.shortParts) ranges = ranges.map((r) => ({ start: r.start, end: Math.max(r.start, r.end - 1) }));
    const boundary = 'IMAGEBOX_TEST_' + (1000 + this.requests);
    const enc = new TextEncoder();
    const pieces: Uint8Array[] = [];
    for (const { start, end } of ranges) {
      pieces.push(
        enc.encode(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${start}-${end}/${size}\r\n\r\n`),
      );
      pieces.push(file.data.subarray(start, end + 1));
    }
    pieces.push(enc.encode(`\r\n--${boundary}--\r\n`));
    const total = pieces.reduce((n, p) => n + p.length, 0);
    const body = new Uint8Array(total);
    let o = 0;
    for (const p of pieces) {
      body.set(p, o);
      o += p.length;
    }
    cut = cutNow(body.length);
    this.send(
      res,
      entry,
      206,
      { ...validators, 'content-type': `multipart/byteranges; boundary=${boundary}`, 'content-length': body.length },
      body,
      cut,
      f.stallMidBodyMs,
    );
  }
}

export async function startOrigin(): Promise<Origin> {
  return new Origin().start();
}
