// imagebox on a serverless platform: the same core (routing, IIIF, DeepZoom,
// the JSON API, caches, the error contract: src/server/core.ts) behind a
// Web-standard fetch(Request) => Response, with
//   - RemoteSlides: configured ids -> http(s) URLs (and, optionally, ad-hoc
//     base64url ids under an allow list), opened with the browser entry's
//     fetch + RangeScheduler opener and kept open in this isolate;
//   - InIsolatePixels: pixel jobs (src/server/pixels/job.ts) run on the slide
//     already open here (no worker threads);
//   - the WASM kernels from a compiled WebAssembly.Module (how Workers import
//     .wasm) or from bytes.
// Imports no Node-only module of its own (test/serverless/workerd.test.ts
// bundles it and lists what the bundle imports).
import { openSlide } from '../browser.js';
import { ImageboxError } from '../errors.js';
import type { Jpeg2000Decoder } from '../codecs/jpeg2000.js';
import { Kernels } from '../codecs/kernels.js';
import { pixelReader } from '../codecs/pixel-reader.js';
import { kernelBackend } from '../server/pixels/kernel-backend.js';
import { encodePng } from '../codecs/png-encode.js';
import type { PixelReader } from '../contracts/pixels.js';
import type { Slide } from '../slide/slide.js';
import { allowPredicate, parsePrefix, urlAllowed, type Prefix } from '../server/allow.js';
import type { SlideDirectory } from '../server/context.js';
import { createImageboxCore, type ImageboxCore } from '../server/core.js';
import { fetchHandler } from '../server/fetch.js';
import { checkIdentifier } from '../server/iiif/identifier.js';
import type { PixelRunner } from '../server/images.js';
import { DEFAULT_LIMITS, type Limits } from '../server/iiif/plan.js';
import type { PixelBackend } from '../server/pixels/backend.js';
import { runDecodeJob, runJob, type JobResult, type PixelJob } from '../server/pixels/job.js';
import type { SlideEntry } from '../server/registry.js';
import type { ListedSlide } from '../server/slide-listing.js';

export interface ServerlessSlide {
  url: string;
  /** Request headers for the origin (e.g. Authorization). */
  headers?: Record<string, string>;
}

export interface ServerlessOptions {
  /** id -> http(s) URL (or { url, headers }). */
  slides: Record<string, string | ServerlessSlide>;
  /** URL prefixes ad-hoc ids (base64url of a URL) may point under; default none (only configured ids). */
  allow?: string[];
  /** kernels.wasm compiled (a Workers .wasm import), its bytes, or loaded Kernels. */
  kernels: WebAssembly.Module | BufferSource | Kernels;
  /** OpenJPEG for JPEG 2000 tiles (absent: such tiles answer E_UNSUPPORTED_CODEC). */
  jpeg2000?: () => Promise<Jpeg2000Decoder>;
  /** Bytes of encoded responses cached in this isolate (default 32 MiB). */
  cacheBytes?: number;
  /** Span-cache bytes per open slide's RangeScheduler (default 16 MiB). */
  spanCacheBytes?: number;
  /** Open slides kept in this isolate (default 16). */
  maxOpen?: number;
  /** IIIF size and area limits, over the Node server's defaults (DEFAULT_LIMITS). */
  limits?: Partial<Limits>;
  /** Public base URL (else from the request URL). */
  baseUrl?: string;
  corsOrigins?: string[];
  onError?: (e: unknown) => void;
}

const isHttp = (u: string): boolean => /^https?:\/\//i.test(u);

function decodeRemoteId(id: string): URL | undefined {
  if (!/^[A-Za-z0-9_-]{8,2800}$/.test(id)) return undefined;
  let text: string;
  try {
    const bin = atob(id.replace(/-/g, '+').replace(/_/g, '/'));
    text = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
  if (!isHttp(text)) return undefined;
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Configured remote slides (and allowed ad-hoc URLs), opened once per isolate. */
export class RemoteSlides implements SlideDirectory {
  readonly rights = undefined;
  private readonly configured = new Map<string, SlideEntry>();
  private readonly prefixes: Prefix[];
  private readonly open = new Map<string, { location: string; slide: Promise<Slide>; opened?: Slide }>();
  private readonly listeners = new Set<(entry: SlideEntry) => void>();

  constructor(
    slides: Record<string, string | ServerlessSlide>,
    private readonly allow: string[],
    private readonly opener: (entry: SlideEntry) => Promise<Slide>,
    private readonly maxOpen = 16,
  ) {
    this.prefixes = allow.map(parsePrefix);
    for (const [id, s] of Object.entries(slides)) {
      checkIdentifier(id);
      const c = typeof s === 'string' ? { url: s } : s;
      if (typeof c?.url !== 'string' || !isHttp(c.url)) throw new ImageboxError('E_BAD_REQUEST', `serverless: slide ${id} needs an http(s) url`);
      const u = new URL(c.url);
      this.configured.set(id, { id, kind: 'config', spec: { location: u.href, headers: { ...(c.headers ?? {}) }, allow: [u.origin + '/', ...allow] } });
    }
  }

  async resolve(id: string): Promise<SlideEntry> {
    checkIdentifier(id);
    const c = this.configured.get(id);
    if (c) return c;
    const url = decodeRemoteId(id);
    if (url && this.prefixes.length > 0) {
      if (!urlAllowed(url, this.prefixes)) throw new ImageboxError('E_FORBIDDEN', 'this URL is not under an allowed prefix');
      return { id, kind: 'remote', spec: { location: url.href, allow: this.allow } };
    }
    throw new ImageboxError('E_NOT_FOUND', `no slide "${id}"`);
  }

  /** Run `fn` with the open slide of `id`; a slide found changed (E_SOURCE_CHANGED) is dropped and `fn` runs once more on it opened afresh. */
  async use<T>(id: string, fn: (entry: SlideEntry, slide: Slide) => Promise<T>): Promise<T> {
    const entry = await this.resolve(id);
    for (let attempt = 0; ; attempt++) {
      const o = this.opened(id, entry);
      const slide = await o.slide;
      try {
        return await fn(entry, slide);
      } catch (e) {
        if (!(e instanceof ImageboxError && e.code === 'E_SOURCE_CHANGED')) throw e;
        this.drop(id, o, entry);
        if (attempt > 0) throw e;
      }
    }
  }

  private opened(id: string, entry: SlideEntry): { location: string; slide: Promise<Slide>; opened?: Slide } {
    const o = this.open.get(id);
    if (o) return o;
    const rec: { location: string; slide: Promise<Slide>; opened?: Slide } = { location: entry.spec.location, slide: this.opener(entry) };
    this.open.set(id, rec);
    rec.slide.then(
      (s) => {
        rec.opened = s;
        // a change found by any read of this slide (If-Range) drops it at once
        s.source.onChange?.(() => this.drop(id, rec, entry));
      },
      () => this.open.get(id) === rec && this.open.delete(id),
    );
    // the least recently opened slide leaves first (nothing to close: fetch holds no descriptors)
    while (this.open.size > this.maxOpen) this.open.delete(this.open.keys().next().value!);
    return rec;
  }

  /** Forget a slide whose bytes changed (the next request opens it afresh) and tell the caches. */
  private drop(id: string, o: { location: string }, entry: SlideEntry): void {
    if (this.open.get(id) !== o) return; // done already
    this.open.delete(id);
    for (const l of [...this.listeners]) l(entry);
  }

  /** The open slide read from `location` (for the in-isolate pixel runner). */
  slideAt(location: string): Slide | undefined {
    for (const o of this.open.values()) if (o.location === location && o.opened) return o.opened;
    return undefined;
  }

  async list(): Promise<ListedSlide[]> {
    return [...this.configured.keys()].sort().map((id) => ({ id, kind: 'config' as const }));
  }

  onChange(listener: (entry: SlideEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  openSlides(): Slide[] {
    return [...this.open.values()].flatMap((o) => (o.opened ? [o.opened] : []));
  }

  openCount(): number {
    return this.open.size;
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((o) => o.slide.then((s) => s.close(), () => undefined)));
  }
}

/** The pixel backend of one isolate: the kernels and decoders it loaded, PNG through CompressionStream. */
export function isolateBackend(k: Kernels, px: PixelReader): PixelBackend {
  return kernelBackend(k, px, encodePng);
}

/** Pixel jobs run here, on the slide this isolate has open (no worker threads). */
export class InIsolatePixels implements PixelRunner {
  constructor(
    private readonly backend: PixelBackend,
    private readonly slides: RemoteSlides,
  ) {}

  async run(job: PixelJob, signal?: AbortSignal): Promise<JobResult> {
    if (job.kind === 'decode') return runDecodeJob(this.backend, job);
    const slide = this.slides.slideAt(job.spec.location);
    if (!slide) throw new ImageboxError('E_INTERNAL', 'pixel job for a slide this isolate has not open');
    const v = slide.source.validator?.();
    if (job.spec.version !== undefined && v !== job.spec.version) throw new ImageboxError('E_SOURCE_CHANGED', 'the slide changed under this job');
    return runJob(this.backend, slide, job, signal);
  }
}

export interface ServerlessHandler {
  (request: Request): Promise<Response>;
  /** The core (its context, metrics, caches), once the first request made it. */
  box(): Promise<ImageboxCore>;
}

const MiB = 1024 * 1024;

export function createServerlessHandler(o: ServerlessOptions): ServerlessHandler {
  const noJ2k = (): Promise<Jpeg2000Decoder> => Promise.reject(new ImageboxError('E_UNSUPPORTED_CODEC', 'JPEG 2000 is not bundled in this deployment'));
  let made: Promise<{ box: ImageboxCore; handle: (r: Request) => Promise<Response> }> | undefined;
  const make = async () => {
    const kin = o.kernels;
    const k = kin instanceof Kernels ? kin : kin instanceof WebAssembly.Module ? await Kernels.fromModule(kin) : await Kernels.fromBytes(kin);
    const px = pixelReader({ kernels: k, jpeg2000: o.jpeg2000 ?? noJ2k });
    const spanBytes = o.spanCacheBytes ?? 16 * MiB;
    const slides = new RemoteSlides(
      o.slides,
      o.allow ?? [],
      (entry) =>
        openSlide(entry.spec.location, {
          pixels: px,
          // no background reads: an isolate may stop when the answer is sent
          backgroundWarm: false,
          http: { headers: entry.spec.headers ?? {}, allow: allowPredicate(entry.spec.allow ?? []) },
          scheduler: { cacheBytes: spanBytes },
        }),
      o.maxOpen ?? 16,
    );
    const box = createImageboxCore({
      registry: slides,
      pixels: new InIsolatePixels(isolateBackend(k, px), slides),
      images: { cacheBytes: o.cacheBytes ?? 32 * MiB, neighbourPrefetch: false },
      ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}),
      limits: { ...DEFAULT_LIMITS, ...o.limits },
      ...(o.corsOrigins ? { corsOrigins: o.corsOrigins } : {}),
      onError: (e) => o.onError?.(e),
    });
    return { box, handle: fetchHandler(box) };
  };
  const handler = (async (request: Request) => {
    made ??= make().catch((e: unknown) => {
      made = undefined;
      throw e;
    });
    try {
      return await (await made).handle(request);
    } catch (e) {
      o.onError?.(e);
      const err = e instanceof ImageboxError ? e : new ImageboxError('E_INTERNAL', 'the handler could not start', undefined, e);
      return Response.json({ error: { code: err.code, message: err.code === 'E_INTERNAL' ? 'internal error' : err.message } }, { status: 500 });
    }
  }) as ServerlessHandler;
  handler.box = async () => (made ??= make()).then((m) => m.box);
  return handler;
}
