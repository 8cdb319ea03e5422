// Turning an ImagePlan into image bytes: response cache -> single flight ->
// passthrough (main loop: stored tile bytes + spliced tables, no pixels) or
// transcode (pixel worker pool). ETags are strong, from the slide source's
// validator and the canonical request.
import { createHash } from 'node:crypto';
import { isImageboxError } from '../errors.js';
import type { Slide } from '../slide/slide.js';
import { ByteLru, SingleFlight, type CachedImage } from './cache.js';
import type { ImagePlan } from './iiif/plan.js';
import { storedTileAsJpeg } from '../codecs/jpeg-splice.js';
import { prefetchNeighbours } from '../stream/prefetch.js';
import { RecentTiles } from '../stream/recent-tiles.js';
import type { Metrics } from './metrics.js';
import type { PixelJob, JobResult } from './pixels/job.js';
import { jobSpec } from './job-spec.js';
import type { SlideEntry } from './registry.js';
import { CORS, etagMatches, type HttpRequest, type HttpResponse } from './handlers/types.js';

export const CONTENT_TYPES: Record<string, string> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

/** Whatever runs pixel jobs (the worker pool, or a stand-in in tests). */
export interface PixelRunner {
  run(job: PixelJob, signal?: AbortSignal): Promise<JobResult>;
}

export interface ImageServiceOptions {
  cacheBytes?: number;
  /** Cache-Control max-age of image and info responses (seconds; default one day). */
  maxAge?: number;
  /**
   * The operator's promise that a slide id's file never changes (an archive):
   * image answers (IIIF images, DeepZoom tiles) are `public, max-age=31536000,
   * immutable`, so a CDN and the browser keep them without revalidating.
   * info.json, the DZI descriptor and the listing keep maxAge (they carry the
   * base URL and the server's features, which a redeploy may change).
   */
  immutable?: boolean;
  jpegQuality?: number;
  /** Disable passthrough (benchmarks, tests of the transcode path). */
  passthrough?: boolean;
  /**
   * After a tile of a remote slide, read its neighbours into the span cache in
   * the background, so a plain IIIF viewer's pan finds them there (default
   * true). Only for tiles asked for near other recent requests of the slide
   * (a viewer's view): random access gets no read-ahead.
   */
  neighbourPrefetch?: boolean;
}

export class ImageService {
  readonly cache: ByteLru<CachedImage>;
  readonly flight = new SingleFlight<CachedImage>();
  private readonly etagPrefixes = new WeakMap<Slide, { validator: string; hash: string }>();
  /** Last-Modified of a slide as an HTTP date, made once per slide (and validator). */
  private readonly modifiedHeaders = new WeakMap<Slide, { validator: string | undefined; header: string | undefined; time: number }>();
  readonly maxAge: number;
  readonly immutable: boolean;
  private readonly jpegQuality: number;
  private readonly passthroughEnabled: boolean;
  private readonly neighbourPrefetch: boolean;
  /** Neighbour ranges queued for plain IIIF clients (metrics). */
  prefetchQueued = 0;
  /** Requested tiles per slide, to read ahead only for viewers (see RecentTiles). */
  private readonly recent = new WeakMap<Slide, RecentTiles>();

  constructor(
    private readonly pixels: PixelRunner,
    private readonly metrics: Metrics,
    o: ImageServiceOptions = {},
  ) {
    this.cache = new ByteLru<CachedImage>(o.cacheBytes ?? 256 * 1024 * 1024);
    this.maxAge = o.maxAge ?? 86_400;
    this.immutable = o.immutable === true;
    this.jpegQuality = o.jpegQuality ?? 85;
    this.passthroughEnabled = o.passthrough ?? true;
    this.neighbourPrefetch = o.neighbourPrefetch ?? true;
  }

  /** Strong ETag of a representation: source identity + validator + canonical request. undefined when the source has no validator. */
  etag(entry: SlideEntry, slide: Slide, canonical: string): string | undefined {
    const v = slide.source.validator?.();
    if (!v) return undefined;
    // The source's identity and validator are hashed once per slide (SHA-256);
    // the canonical request, which differs per tile, with a fast 64-bit FNV-1a.
    let prefix = this.etagPrefixes.get(slide);
    if (!prefix || prefix.validator !== v) {
      prefix = { validator: v, hash: createHash('sha256').update(`${entry.spec.location}\n${v}`).digest('base64url').slice(0, 16) };
      this.etagPrefixes.set(slide, prefix);
    }
    return `"${prefix.hash}${fnv1a64(canonical)}"`;
  }

  /**
   * Cache-Control, ETag and Last-Modified headers; 304 when If-None-Match
   * matches, or (only without If-None-Match, RFC 9110 13.1.3) when the slide has
   * not changed since If-Modified-Since.
   */
  conditional(req: HttpRequest, slide: Slide, etag: string | undefined, extra: Record<string, string>, image = false): HttpResponse | Record<string, string> {
    const cacheControl = image && this.immutable ? 'public, max-age=31536000, immutable' : `public, max-age=${this.maxAge}`;
    const headers: Record<string, string> = { ...CORS, 'Cache-Control': cacheControl, ...extra };
    const v = slide.source.validator?.();
    let m = this.modifiedHeaders.get(slide);
    if (!m || m.validator !== v) {
      const d = slide.source.lastModified?.();
      m = { validator: v, header: d?.toUTCString(), time: d ? Math.floor(d.getTime() / 1000) * 1000 : 0 };
      this.modifiedHeaders.set(slide, m);
    }
    if (m.header) headers['Last-Modified'] = m.header;
    if (etag) {
      headers['ETag'] = etag;
      if (etagMatches(req.headers['if-none-match'], etag)) return { status: 304, headers, body: undefined };
    }
    const since = req.headers['if-modified-since'];
    if (m.header && since && req.headers['if-none-match'] === undefined) {
      const t = Date.parse(since);
      // HTTP dates have whole seconds
      if (Number.isFinite(t) && m.time <= t) return { status: 304, headers, body: undefined };
    }
    return headers;
  }

  /** Drop every cached response made from `location` (its bytes changed). */
  forget(location: string): void {
    this.cache.deleteWhere((key) => key.startsWith(`${location}\n`));
  }

  async respond(
    req: HttpRequest,
    entry: SlideEntry,
    slide: Slide,
    plan: ImagePlan,
    cacheKey: string,
    extraHeaders: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<HttpResponse> {
    const etag = this.etag(entry, slide, cacheKey);
    const c = this.conditional(req, slide, etag, extraHeaders, true);
    if ('status' in c) return c as HttpResponse;
    const headers = c as Record<string, string>;
    const local = !/^https?:/i.test(entry.spec.location);
    if (local && plan.passthrough && this.passthroughEnabled) {
      // The hot path: a stored tile of a local file is one pread + a splice; no
      // cache, no single flight (they would cost more than they save).
      const body = await passthroughBytes(slide, plan.passthrough.level, plan.passthrough.col, plan.passthrough.row, plan.width, plan.height, signal);
      if (body) {
        this.metrics.tilePaths['passthrough'] = (this.metrics.tilePaths['passthrough'] ?? 0) + 1;
        return { status: 200, headers: { ...headers, 'Content-Type': 'image/jpeg', 'X-Tile-Path': 'passthrough' }, body };
      }
    }
    const key = `${entry.spec.location}\n${etag ?? ''}\n${cacheKey}`;
    const hit = this.cache.get(key);
    let img: CachedImage;
    let path: string;
    if (hit) {
      img = hit;
      path = 'cache';
    } else {
      img = await this.flight.run(key, (sig) => this.produce(entry, slide, plan, sig), signal);
      if (etag) this.cache.set(key, img);
      path = img.path;
    }
    this.metrics.tilePaths[path] = (this.metrics.tilePaths[path] ?? 0) + 1;
    if (this.neighbourPrefetch && plan.passthrough) {
      const { level, col, row } = plan.passthrough;
      let recent = this.recent.get(slide);
      if (!recent) this.recent.set(slide, (recent = new RecentTiles()));
      if (recent.visit(level, col, row)) this.prefetchQueued += prefetchNeighbours(slide, level, col, row);
    }
    return {
      status: 200,
      headers: { ...headers, 'Content-Type': img.contentType, 'X-Tile-Path': path },
      body: img.body,
    };
  }

  private async produce(entry: SlideEntry, slide: Slide, plan: ImagePlan, signal: AbortSignal): Promise<CachedImage> {
    if (plan.passthrough && this.passthroughEnabled) {
      const body = await passthroughBytes(slide, plan.passthrough.level, plan.passthrough.col, plan.passthrough.row, plan.width, plan.height, signal);
      if (body) return { body, contentType: 'image/jpeg', path: 'passthrough' };
    }
    const r = await this.pixels.run(
      {
        kind: 'region',
        spec: jobSpec(entry, slide),
        level: plan.level,
        region: plan.region,
        width: plan.width,
        height: plan.height,
        rotation: plan.rotation,
        mirror: plan.mirror,
        quality: plan.quality,
        format: plan.format,
        jpegQuality: this.jpegQuality,
        ...(plan.display ? { display: plan.display } : {}),
      },
      signal,
    );
    return { body: r.body, contentType: CONTENT_TYPES[plan.format]!, path: 'transcode' };
  }
}

/**
 * The stored tile as a complete JPEG, or undefined when it cannot be sent as
 * is (not JPEG, missing, not 3-component RGB/YCbCr, or its frame is not the
 * expected size): the caller then transcodes.
 */
export async function passthroughBytes(
  slide: Slide,
  level: number,
  col: number,
  row: number,
  width: number,
  height: number,
  signal?: AbortSignal,
): Promise<Uint8Array | undefined> {
  let t;
  try {
    t = await slide.tile(level, col, row, signal);
  } catch (e) {
    if (isImageboxError(e, 'E_BAD_REQUEST')) return undefined;
    throw e;
  }
  if (t.width !== width || t.height !== height || t.validWidth !== width || t.validHeight !== height) return undefined;
  return storedTileAsJpeg(t);
}

/** FNV-1a over UTF-16 code units, 64 bits as two 32-bit halves, in base 36. */
function fnv1a64(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0xcbf29ce4;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h1 >>> 15);
  }
  return (h1 >>> 0).toString(36).padStart(7, '0') + (h2 >>> 0).toString(36).padStart(7, '0');
}
