// A StreamHost without a server: slides opened in this thread by an injected
// opener (the browser's fetch + range requests, or a file), tiles decoded in
// this thread by the same codecs and WASM kernels. The viewer's direct mode
// runs a StreamSession over it in a Web Worker, so the no-server path has the
// same scheduler, prefetch rules and protocol as the server. Isomorphic.
import { slideInfo } from './slide-info.js';
import type { ChannelDisplay } from '../slide/channels.js';
import { cropTo } from '../codecs/crop.js';
import { asImageboxError, isImageboxError } from '../errors.js';
import type { PixelReader } from '../contracts/pixels.js';
import type { EncodedTile } from '../contracts/tile.js';
import type { Slide } from '../slide/slide.js';
import { newCounters, type OpenedSlide, type SlideRef, type StreamCounters, type StreamHost, type TilePayload } from './host.js';

export interface LocalHostOptions {
  /** Opens a slide by its id (for direct mode: its URL). */
  open: (id: string) => Promise<Slide>;
  pixels: PixelReader;
  /** Decoded tiles kept (bytes; default 128 MiB). */
  cacheBytes?: number;
  /** Makes a JPEG of RGBA, for clients that ask for jpeg (optional: without it they get rgba). */
  encodeJpeg?: (width: number, height: number, rgba: Uint8Array) => Uint8Array;
}

export class LocalStreamHost implements StreamHost {
  readonly counters: StreamCounters = newCounters();
  readonly maxHeldBytes = Number.MAX_SAFE_INTEGER;
  private readonly slides = new Map<string, Promise<Slide>>();
  private readonly cache = new Map<string, TilePayload>();
  private cacheUsed = 0;
  private readonly cacheBytes: number;

  constructor(private readonly o: LocalHostOptions) {
    this.cacheBytes = o.cacheBytes ?? 128 * 1024 * 1024;
  }

  private slide(id: string): Promise<Slide> {
    let p = this.slides.get(id);
    if (!p) {
      p = this.o.open(id);
      this.slides.set(id, p);
      p.catch(() => this.slides.delete(id));
    }
    return p;
  }

  private info(id: string, s: Slide): OpenedSlide['info'] {
    return slideInfo(id, s, id);
  }

  private ref(id: string, s: Slide): SlideRef {
    return { id, version: s.source.validator?.(), spec: id };
  }

  async open(id: string): Promise<OpenedSlide> {
    const s = await this.slide(id);
    return { info: this.info(id, s), ref: this.ref(id, s) };
  }

  async use<T>(id: string, fn: (slide: Slide, ref: SlideRef, info: OpenedSlide['info']) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const p = this.slide(id);
      const s = await p;
      try {
        return await fn(s, this.ref(id, s), this.info(id, s));
      } catch (e) {
        // the bytes changed under the slide (it reads nothing after that): open it afresh and
        // run fn once more, as the server's registry does; the session then sees the new version
        if (attempt === 0 && isImageboxError(e, 'E_SOURCE_CHANGED')) {
          if (this.slides.get(id) === p) this.slides.delete(id);
          continue;
        }
        throw e;
      }
    }
  }

  private finish(img: { width: number; height: number; data: Uint8Array }, format: 'rgba' | 'jpeg'): TilePayload {
    if (format === 'jpeg' && this.o.encodeJpeg) return { width: img.width, height: img.height, data: this.o.encodeJpeg(img.width, img.height, img.data) };
    return img;
  }

  async decode(_owner: object, tile: EncodedTile, _ref: SlideRef, format: 'rgba' | 'jpeg'): Promise<TilePayload> {
    try {
      return this.finish(cropTo(await this.o.pixels.decode(tile), tile.validWidth, tile.validHeight), format);
    } catch (e) {
      throw asImageboxError(e, 'E_CORRUPT_TILE');
    }
  }

  async render(_owner: object, ref: SlideRef, level: number, col: number, row: number, format: 'rgba' | 'jpeg', display?: ChannelDisplay): Promise<TilePayload> {
    const s = await this.slide(ref.id);
    return this.finish(await s.readTile(level, col, row, undefined, display), format);
  }

  cached(ref: SlideRef, key: number): TilePayload | undefined {
    const k = `${ref.id}\n${ref.version ?? ''}\n${key}`;
    const v = this.cache.get(k);
    if (v) {
      this.cache.delete(k);
      this.cache.set(k, v);
    }
    return v;
  }

  remember(ref: SlideRef, key: number, p: TilePayload): void {
    const k = `${ref.id}\n${ref.version ?? ''}\n${key}`;
    if (this.cache.has(k)) return;
    this.cache.set(k, p);
    this.cacheUsed += p.data.length;
    for (const [old, v] of this.cache) {
      if (this.cacheUsed <= this.cacheBytes) break;
      this.cache.delete(old);
      this.cacheUsed -= v.data.length;
    }
  }

  forget(): void {}

  register(): () => void {
    return () => undefined;
  }

  heldBytes(): number {
    return 0;
  }

  /** I/O counters of every slide opened here (requests to the origin, bytes). */
  async io(): Promise<{ requests: number; bytes: number }> {
    let requests = 0;
    let bytes = 0;
    for (const p of this.slides.values()) {
      const s = await p.catch(() => undefined);
      const st = s?.stats();
      if (st) {
        requests += st.requests;
        bytes += st.bytesFetched;
      }
    }
    return { requests, bytes };
  }
}
