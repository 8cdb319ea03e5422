// The server as one plain function: HttpRequest -> HttpResponse. Routing,
// metrics and the error contract live here; transports (uWS, fetch) only
// convert requests and responses. Platform-neutral: the registry, the pixel
// runner, the stream host and static files are handed in (Node: app.ts wires
// SlideRegistry, the worker pool and the web directory; serverless:
// src/serverless/handler.ts wires remote slides and in-isolate pixels), so no
// Node-only module is imported from here.
import { requestToken, requireAll, type AccessControl } from './access.js';
import { applyCorsList, corsAllowList } from './cors.js';
import { newStats } from '../io/byte-source.js';
import type { ServerContext } from './context.js';
import { dziHandler } from './handlers/dzi.js';
import { iiifHandler } from './handlers/iiif.js';
import { slidesHandler } from './handlers/slides.js';
import { CORS_PREFLIGHT, errorResponse, json, type HttpRequest, type HttpResponse } from './handlers/types.js';
import { ImageboxError } from '../errors.js';
import { DEFAULT_LIMITS, type Limits } from './iiif/plan.js';
import type { Format } from './iiif/request.js';
import { ImageService, type ImageServiceOptions, type PixelRunner } from './images.js';
import { Metrics } from './metrics.js';
import type { PoolStats } from './pixels/pool.js';
import type { SharedCacheStats } from '../io/shared-cache.js';
import type { SlideDirectory } from './context.js';
import type { ServerStreamHost } from './stream-host.js';

export interface ImageboxCoreOptions {
  registry: SlideDirectory;
  pixels: PixelRunner;
  /** The pixel pool's counters for /metrics (a worker pool), if any. */
  poolStats?: () => PoolStats;
  /** The cluster's shared cache counters for /metrics (Redis), if one is configured. */
  sharedCacheStats?: () => SharedCacheStats | undefined;
  /** The WebSocket stream's shared parts, if this platform serves the stream. */
  stream?: ServerStreamHost;
  /** Answers every path no route claims (the web directory); default 404. */
  staticFiles?: (req: HttpRequest) => Promise<HttpResponse>;
  /** Run by close() before the registry closes (the pool's shutdown). */
  onClose?: () => Promise<void>;
  images?: ImageServiceOptions;
  limits?: Limits;
  formats?: Format[];
  baseUrl?: string;
  /** Believe X-Forwarded-Host / X-Forwarded-Proto (only behind a proxy you run). */
  trustProxy?: boolean;
  webDir?: string;
  osdDir?: string;
  /** Called with errors that are the server's fault (5xx), for logging. */
  onError?: (e: unknown, req: HttpRequest) => void;
  /** Web origins allowed to read answers (CORS); default any (*). */
  corsOrigins?: string[];
  /** Access control: every IIIF, DZI, JSON API, /metrics and stream request needs a token signed with this (src/server/access.ts). Default off. */
  access?: AccessControl;
  /**
   * What /metrics answers, given this core's own exposition (--threads: the
   * main thread's merge over every thread and the shared pool). Default: its own.
   */
  gatherMetrics?: (own: () => string) => Promise<string>;
}

export interface ImageboxCore {
  handle(req: HttpRequest, signal?: AbortSignal): Promise<HttpResponse>;
  context: ServerContext;
  /** Stream connections open now (set by the transport that serves /stream). */
  streamConnections: () => number;
  /** The web origins allowed to read answers and open the stream (undefined: any). */
  corsOrigins: ReadonlySet<string> | undefined;
  /** Access control, when on. */
  access: AccessControl | undefined;
  /** This core's own Prometheus exposition (what /metrics answers without gatherMetrics). */
  metricsText(): string;
  close(): Promise<void>;
}

/** Routes that answer with a slide's data (or the server's): behind the token when access control is on. */
const PROTECTED = new Set(['iiif_info', 'iiif_image', 'iiif_other', 'dzi', 'dzi_tile', 'slides', 'slide', 'associated', 'metrics']);

function route(path: string): string {
  if (path.startsWith('/iiif/')) return path.endsWith('/info.json') ? 'iiif_info' : path.split('/').length >= 8 ? 'iiif_image' : 'iiif_other';
  if (path.startsWith('/dzi/')) return path.endsWith('.dzi') ? 'dzi' : 'dzi_tile';
  if (path === '/slides' || path === '/slides/') return 'slides';
  if (path.startsWith('/slides/')) return path.includes('/associated/') ? 'associated' : 'slide';
  if (path === '/health' || path === '/metrics') return path.slice(1);
  return 'static';
}

/**
 * The request with its token checked: /t/<token> taken off the path, `grant`
 * set for the routes behind the token (E_UNAUTHORIZED without a valid one), and
 * `linkPrefix` set when the token came in the URL, so the links built for it
 * (info.json's id, the listing's URLs) carry it to the requests they lead to.
 * The viewer's pages, /health and preflights stay open.
 */
async function authorise(access: AccessControl, req: HttpRequest): Promise<HttpRequest> {
  if (req.method === 'OPTIONS') return req;
  const t = requestToken(req.path, req.headers, req.query);
  const r = { ...req, path: t.path };
  if (!PROTECTED.has(route(t.path))) return r;
  r.grant = await access.verify(t.token);
  if (t.via === 'path' || t.via === 'query') r.linkPrefix = `/t/${t.token}`;
  return r;
}

export function createImageboxCore(o: ImageboxCoreOptions): ImageboxCore {
  const { registry, pixels, stream } = o;
  const metrics = new Metrics();
  const images = new ImageService(pixels, metrics, o.images);
  // a slide whose bytes changed leaves nothing behind in the response and decoded-tile
  // caches, and the stream connections holding it are told at once (their tiles are stale)
  registry.onChange((entry) => {
    images.forget(entry.spec.location);
    stream?.forgetLocation(entry.spec.location);
    stream?.slideChanged(entry.id);
  });
  const ctx: ServerContext = {
    registry,
    images,
    pixels,
    metrics,
    limits: o.limits ?? DEFAULT_LIMITS,
    formats: o.formats ?? ['jpg', 'png'],
    baseUrl: o.baseUrl,
    trustProxy: o.trustProxy ?? false,
    webDir: o.webDir,
    osdDir: o.osdDir,
  };

  async function dispatch(req: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    if (req.method === 'OPTIONS') return { status: 204, headers: { ...CORS_PREFLIGHT }, body: undefined };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new ImageboxError('E_METHOD_NOT_ALLOWED', `method ${req.method.slice(0, 16)} not allowed (GET, HEAD, OPTIONS)`);
    }
    const path = req.path;
    if (path.length > 8192) throw new ImageboxError('E_URI_TOO_LONG', 'URL too long');
    const seg = path.split('/').slice(1);
    switch (seg[0]) {
      case 'iiif':
        if (seg[1] === '3' || seg[1] === '2') return iiifHandler(ctx, req, seg[1] === '3' ? 3 : 2, seg.slice(2), signal);
        return json(404, { error: { code: 'E_NOT_FOUND', message: 'IIIF versions served: /iiif/3/ and /iiif/2/' } });
      case 'dzi':
        return dziHandler(ctx, req, seg.slice(1), signal);
      case 'slides':
        return slidesHandler(ctx, req, seg.slice(1), signal);
      case 'health':
        if (seg.length === 1) return json(200, { status: 'ok' });
        break;
      case 'metrics':
        requireAll(req.grant);
        if (seg.length === 1) return metricsResponse();
        break;
    }
    if (o.staticFiles) return o.staticFiles(req);
    return json(404, { error: { code: 'E_NOT_FOUND', message: 'not found' } });
  }

  async function metricsResponse(): Promise<HttpResponse> {
    const body = o.gatherMetrics ? await o.gatherMetrics(metricsText) : metricsText();
    return { status: 200, headers: { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' }, body };
  }

  function metricsText(): string {
    const origin = newStats();
    for (const s of registry.openSlides()) {
      const st = s.stats();
      if (!st) continue;
      origin.requests += st.requests;
      origin.bytesFetched += st.bytesFetched;
      origin.bytesRequested += st.bytesRequested;
    }
    const pool = o.poolStats?.();
    if (pool) {
      origin.requests += pool.io.requests;
      origin.bytesFetched += pool.io.bytesFetched;
      origin.bytesRequested += pool.io.bytesRequested;
    }
    return metrics.render({
      cacheHits: images.cache.hits,
      cacheMisses: images.cache.misses,
      cacheBytes: images.cache.byteSize,
      cacheEntries: images.cache.size,
      singleFlightJoined: images.flight.joined,
      tilePaths: metrics.tilePaths,
      pool,
      openSlides: registry.openCount(),
      origin,
      sharedCache: o.sharedCacheStats?.(),
      ...(stream
        ? {
            stream: {
              connections: box.streamConnections(),
              counters: stream.counters,
              decodesRunning: stream.fair.running,
              decodesQueued: stream.fair.queued,
              decodesSkipped: stream.fair.skipped,
              decodedCacheBytes: stream.decoded.byteSize,
            },
          }
        : {}),
    });
  }

  const corsList = corsAllowList(o.corsOrigins);

  const box: ImageboxCore = {
    context: ctx,
    streamConnections: () => 0,
    corsOrigins: corsList,
    access: o.access,
    metricsText,
    async handle(req, signal) {
      const t0 = performance.now();
      let res: HttpResponse;
      try {
        if (o.access) req = await authorise(o.access, req);
        res = await dispatch(req, signal);
        // what a token opened is not for shared caches (a CDN would serve it past the token's expiry, to anyone)
        if (req.grant && res.headers['Cache-Control']?.startsWith('public')) res = { ...res, headers: { ...res.headers, 'Cache-Control': res.headers['Cache-Control'].replace(/^public/, 'private') } };
      } catch (e) {
        res = errorResponse(e);
        // only the server's own faults are logged (an origin's failure, a busy pool or a client's mistake is not)
        if (res.status === 500) o.onError?.(e, req);
      }
      if (corsList) {
        res = { ...res, headers: { ...res.headers } };
        applyCorsList(res.headers, req.headers['origin'], corsList);
      }
      metrics.observe(route(req.path), res.status, (performance.now() - t0) / 1000);
      return res;
    },
    async close() {
      await o.onClose?.();
      await registry.close();
    },
  };
  return box;
}
