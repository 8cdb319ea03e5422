// The server side of the stream's host contract (src/stream/host.ts): slides
// from the registry (with its change detection), decodes in the pixel pool
// shared round-robin between connections, and the shared decoded-tile cache.
import { slideInfo } from '../stream/slide-info.js';
import type { ChannelDisplay } from '../slide/channels.js';
import { availableParallelism } from 'node:os';
import type { Slide } from '../slide/slide.js';
import { FairQueue } from '../stream/fair-queue.js';
import { newCounters, type OpenedSlide, type SlideRef, type StreamCounters, type StreamHost, type TilePayload } from '../stream/host.js';
import type { EncodedTile } from '../contracts/tile.js';
import { ByteLru } from './cache.js';
import type { PixelRunner } from './images.js';
import { jobSpec, type SlideEntry, type SlideRegistry } from './registry.js';

export interface StreamHostOptions {
  /** Decoded tiles kept for all connections (bytes; default 256 MiB). */
  decodedCacheBytes?: number;
  /** Decodes running at once for all streams (default: twice the cores, what the pixel pool runs). */
  concurrency?: number;
  /** Quality of JPEGs made for jpeg-only clients from tiles that are not stored as JPEG (default 90). */
  jpegQuality?: number;
  /** Frames waiting and socket backlogs of all connections together (bytes; default 256 MiB). */
  maxHeldBytes?: number;
}

interface Cached {
  body: Uint8Array;
  width: number;
  height: number;
}

/** The slide's origin URL, when a browser may read it itself: http(s), no credentials, no query (a presigned token is one), no headers. */
function publicUrl(entry: SlideEntry): string | undefined {
  const loc = entry.spec.location;
  if (!/^https?:\/\//i.test(loc)) return undefined;
  if (entry.spec.headers && Object.keys(entry.spec.headers).length > 0) return undefined;
  const u = new URL(loc);
  if (u.username || u.password || u.search) return undefined;
  return u.href;
}

export function slideInfoOf(entry: SlideEntry, slide: Slide): OpenedSlide['info'] {
  return slideInfo(entry.id, slide, publicUrl(entry));
}

function refOf(entry: SlideEntry, slide: Slide): SlideRef {
  return { id: entry.id, version: slide.source.validator?.(), spec: jobSpec(entry, slide) };
}

export class ServerStreamHost implements StreamHost {
  readonly counters: StreamCounters = newCounters();
  readonly fair: FairQueue;
  readonly decoded: ByteLru<Cached>;
  private readonly jpegQuality: number;
  private readonly sessions = new Set<{ heldBytes(): number }>();
  private readonly changeListeners = new Set<(id: string) => void>();
  readonly maxHeldBytes: number;

  constructor(
    private readonly registry: SlideRegistry,
    private readonly pixels: PixelRunner,
    o: StreamHostOptions = {},
  ) {
    this.fair = new FairQueue(Math.max(1, o.concurrency ?? availableParallelism() * 2));
    this.decoded = new ByteLru<Cached>(o.decodedCacheBytes ?? 256 * 1024 * 1024, 4 * 1024 * 1024);
    this.jpegQuality = o.jpegQuality ?? 90;
    this.maxHeldBytes = o.maxHeldBytes ?? 256 * 1024 * 1024;
  }

  register(s: { heldBytes(): number }): () => void {
    this.sessions.add(s);
    return () => this.sessions.delete(s);
  }

  heldBytes(): number {
    let n = 0;
    for (const s of this.sessions) n += s.heldBytes();
    return n;
  }

  open(id: string): Promise<OpenedSlide> {
    return this.registry.use(id, async (entry, slide) => ({ info: slideInfoOf(entry, slide), ref: refOf(entry, slide) }));
  }

  use<T>(id: string, fn: (slide: Slide, ref: SlideRef, info: OpenedSlide['info']) => Promise<T>): Promise<T> {
    return this.registry.use(id, (entry, slide) => fn(slide, refOf(entry, slide), slideInfoOf(entry, slide)));
  }

  async decode(owner: object, tile: EncodedTile, _ref: SlideRef, format: 'rgba' | 'jpeg', wanted?: () => boolean): Promise<TilePayload> {
    const r = await this.fair.run(
      owner,
      () => this.pixels.run({ kind: 'decode', tile, format: format === 'jpeg' ? 'jpg' : 'rgba', jpegQuality: this.jpegQuality }),
      wanted,
    );
    return { width: r.width, height: r.height, data: r.body };
  }

  async render(owner: object, ref: SlideRef, level: number, col: number, row: number, format: 'rgba' | 'jpeg', display?: ChannelDisplay, wanted?: () => boolean): Promise<TilePayload> {
    const r = await this.fair.run(owner, () =>
      this.pixels.run({
        kind: 'tile',
        spec: ref.spec as SlideEntry['spec'],
        level,
        col,
        row,
        format: format === 'jpeg' ? 'jpg' : 'rgba',
        jpegQuality: this.jpegQuality,
        ...(display ? { display } : {}),
      }),
      wanted,
    );
    return { width: r.width, height: r.height, data: r.body };
  }

  private key(ref: SlideRef, key: number): string {
    return `${(ref.spec as SlideEntry['spec']).location}\n${ref.version ?? ''}\n${key}`;
  }

  cached(ref: SlideRef, key: number): TilePayload | undefined {
    const c = this.decoded.get(this.key(ref, key));
    return c && { width: c.width, height: c.height, data: c.body };
  }

  remember(ref: SlideRef, key: number, p: TilePayload): void {
    this.decoded.set(this.key(ref, key), { body: p.data, width: p.width, height: p.height });
  }

  /** Drop every decoded tile of a location (its bytes changed). */
  forgetLocation(location: string): void {
    this.decoded.deleteWhere((k) => k.startsWith(`${location}\n`));
  }

  onSlideChanged(listener: (id: string) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** A slide's bytes were found changed: tell the connections (each looks at its handles of it). */
  slideChanged(id: string): void {
    for (const l of [...this.changeListeners]) {
      try {
        l(id);
      } catch {
        /* not ours */
      }
    }
  }

  forget(owner: object): void {
    this.fair.drop(owner);
  }
}
