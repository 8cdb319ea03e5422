// One slide on screen (the base slide, or an overlay): where its tiles come
// from and the tiles it holds. Tiles come over the WebSocket stream from the
// server, or, when no server is reachable (or when asked), from the direct-mode
// worker reading the slide's URL itself; the layer switches between the two
// without the viewer noticing, and goes back to the stream when the server
// returns. Decoded tiles are held as textures, least recently used dropped
// beyond a byte bound.
import type { ChannelDisplay } from '../../src/slide/channels.js';
import { fromBase64, iccSegments, withIcc } from './icc-jpeg.js';
import { TileStream, connectTileStream, type StreamSlide, type StreamTile, type WebSocketConstructor } from '../../src/stream/client.js';
import type { Quad, Renderer, Texture } from './renderer.js';
import { levelFor, levelRect, type Grid, type ViewState, type Viewport } from './view.js';
import { preloadAssets, workerSocketClass, type WorkerSocketAssets } from './worker-socket.js';

export type Mode = 'stream' | 'direct' | 'offline';

export interface LayerSource {
  /** Tile server (http(s)://host:port): stream mode. */
  server?: string;
  /** Slide id on that server. */
  slide?: string;
  /** The slide's own URL: direct mode (also the fallback when the server is gone). */
  url?: string;
  /** 'auto' (default): stream, falling back to direct; 'direct': never the server. */
  mode?: 'auto' | 'stream' | 'direct';
}

interface Held {
  tex: Texture | undefined; // undefined: a missing tile (transparent)
  level: number;
  col: number;
  row: number;
  width: number;
  height: number;
  used: number;
}

const key = (level: number, col: number, row: number): number => level * 2 ** 48 + row * 2 ** 24 + col;

export interface LayerStats {
  tilesReceived: number;
  tilesDrawn: number;
  bytes: number;
  cacheHits: number;
  originRequests: number;
  switches: number;
}

export class SlideLayer {
  mode: Mode = 'offline';
  /** The transport of the last connection (switches count changes of it). */
  private lastConnected: 'stream' | 'direct' | undefined;
  info: StreamSlide | undefined;
  /** The slide's ICC profile as APP2 segments for its JPEG tiles (undefined: none, or sRGB assumed). */
  private icc: Uint8Array | undefined;
  opacity = 1;
  visible = true;
  /** Level-0 pixels of the base slide per level-0 pixel of this one (overlays of another size). */
  scale = 1;
  private stream: TileStream | undefined;
  private handle = 0;
  private navHandle = 0;
  private navSent = false;
  private counted: { stream: TileStream | undefined; base: { originRequests: number; cacheHits: number } } = { stream: undefined, base: { originRequests: 0, cacheHits: 0 } };
  /** The level drawn in the last frame and its scale (device px per level px). */
  private drawn: { level: number; scale: number } | undefined;
  private readonly held = new Map<number, Held>();
  private heldBytes = 0;
  private pendingDecodes = 0;
  private lastView: { level: number; x: number; y: number; width: number; height: number } | undefined;
  private viewDone = true;
  private viewSeq = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectDelay = 1000;
  private closed = false;
  private clock = 0;
  private publicUrl: string | undefined;
  /** Multi-channel slides: the channels shown (undefined: the slide's default display). */
  private display: ChannelDisplay | undefined;
  /** The display of the tiles held (set once a reopened slide replaced them). */
  private shown: ChannelDisplay | undefined;
  readonly stats: LayerStats = { tilesReceived: 0, tilesDrawn: 0, bytes: 0, cacheHits: 0, originRequests: 0, switches: 0 };

  constructor(
    private readonly src: LayerSource,
    private readonly renderer: Renderer,
    private readonly assets: WorkerSocketAssets,
    private readonly onChange: () => void,
    private readonly maxBytes = 384 * 1024 * 1024,
  ) {
    this.publicUrl = src.url;
  }

  get levels(): Grid[] {
    return this.info?.levels ?? [];
  }

  /** Connect (stream first unless told otherwise) and open the slide. */
  async start(): Promise<void> {
    const m = this.src.mode ?? 'auto';
    if (m !== 'direct' && this.src.server && this.src.slide !== undefined) {
      try {
        await this.connect('stream');
        return;
      } catch (e) {
        if (m === 'stream' || !this.publicUrl) throw e;
      }
    }
    if (!this.publicUrl) throw new Error('no server and no slide URL: nothing to read');
    await this.connect('direct');
    if (m === 'auto' && this.src.server) this.scheduleReconnect();
  }

  private async connect(mode: 'stream' | 'direct'): Promise<void> {
    let s: TileStream;
    if (mode === 'stream') {
      // ?slide= is only a routing hint: a load balancer that hashes on the slide (nginx `hash $slide
      // consistent`, docs/deployment.md) sends the stream to the node whose caches hold it
      const ws = this.src.server!.replace(/^http/, 'ws').replace(/\/+$/, '') + '/stream?slide=' + encodeURIComponent(this.src.slide!);
      // JPEG tiles as stored (the browser decodes them natively, off the main thread), the others decoded on the server
      s = await connectTileStream(ws, { encodings: ['passthrough'], client: 'imagebox viewer' });
    } else {
      const assets = await preloadAssets(this.assets);
      s = await connectTileStream('direct:', { encodings: ['rgba'], WebSocket: workerSocketClass(assets) as unknown as WebSocketConstructor, client: 'imagebox viewer (direct)' });
    }
    let info: StreamSlide;
    let nav: StreamSlide;
    try {
      const id = mode === 'stream' ? this.src.slide! : this.publicUrl!;
      const o = this.display ? { channels: this.display } : {};
      info = await s.open(id, o);
      nav = await s.open(id, o);
    } catch (e) {
      await s.close().catch(() => undefined);
      throw e;
    }
    if (this.closed) {
      await s.close();
      return;
    }
    const old = this.stream;
    this.stream = s;
    this.handle = info.handle;
    this.navHandle = nav.handle;
    if (this.info && (this.info.width !== info.width || this.info.height !== info.height)) this.dropAll();
    this.info = info;
    this.icc = iccOf(info);
    if (info.url) this.publicUrl = info.url;
    // a fallback is possible: have what it needs before the server can go away
    if (mode === 'stream' && this.publicUrl && (this.src.mode ?? 'auto') === 'auto') setTimeout(() => void preloadAssets(this.assets), 500);
    if (this.lastConnected && this.lastConnected !== mode) this.stats.switches++;
    this.lastConnected = mode;
    this.mode = mode;
    s.on('tile', (t) => {
      // tiles of a connection being replaced (another channel display) are not this layer's any more
      if (this.stream === s) this.onTile(t);
    });
    s.on('slide', (changed) => {
      if (changed.handle === this.handle) {
        this.info = changed;
        this.icc = iccOf(changed);
        this.dropAll();
        this.resend();
      }
    });
    s.on('close', () => {
      if (this.stream === s) this.onLost();
    });
    if (old) void old.close().catch(() => undefined);
    this.navSent = false;
    this.resend();
    this.onChange();
  }

  /** The stream dropped: carry on in direct mode if the slide has a public URL, and try the server again. */
  private onLost(): void {
    if (this.closed) return;
    this.stream = undefined;
    const wasStream = this.mode === 'stream';
    this.mode = 'offline';
    this.onChange();
    if (wasStream && this.publicUrl && (this.src.mode ?? 'auto') === 'auto') {
      this.connect('direct').catch((e: unknown) => {
        console.warn(`imagebox: direct mode failed: ${e instanceof Error ? e.message : String(e)}`);
        this.mode = 'offline';
        this.onChange();
      });
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || !this.src.server || (this.src.mode ?? 'auto') === 'direct' || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(async () => {
      this.reconnectTimer = undefined;
      if (this.closed || this.mode === 'stream') return;
      try {
        await this.connect('stream');
        this.reconnectDelay = 1000;
      } catch {
        this.reconnectDelay = Math.min(10_000, this.reconnectDelay * 2);
        this.scheduleReconnect();
      }
    }, this.reconnectDelay);
  }

  /** The channels shown (multi-channel slides); undefined: the slide's default display. */
  get channels(): ChannelDisplay | undefined {
    return this.shown?.map((d) => ({ index: d.index, color: [...d.color], limits: [...d.limits] }));
  }

  /**
   * Show these channels (on/off, colour, contrast limits): the slide is opened
   * again with them (the server, or the direct-mode worker, composites the tiles)
   * and what is held is dropped once the new connection is there.
   */
  async setChannels(display: ChannelDisplay | undefined): Promise<void> {
    if (!this.info?.channels) throw new Error('this slide has no channels');
    this.display = display?.map((d) => ({ index: d.index, color: [...d.color], limits: [...d.limits] }));
    await this.connect(this.mode === 'direct' ? 'direct' : 'stream');
    this.shown = this.display;
    this.dropAll();
    this.resend();
    this.onChange();
  }

  private resend(): void {
    if (this.lastView) this.sendView(this.lastView, true);
  }

  /** Ask for the tiles of the base view (the overlay maps it through its scale). */
  request(v: ViewState, vp: Viewport, motion?: { vx: number; vy: number }): void {
    if (!this.info || !this.visible) return;
    const lv = this.layerView(v);
    const level = levelFor(this.levels, lv.zoom, vp.dpr);
    const r = levelRect(this.levels, level, lv, vp);
    const rect = { level, x: Math.floor(r.x), y: Math.floor(r.y), width: Math.ceil(r.width) + 1, height: Math.ceil(r.height) + 1 };
    const m = motion && { vx: motion.vx / this.scale / this.levels[level]!.downsample, vy: motion.vy / this.scale / this.levels[level]!.downsample };
    this.sendView(rect, false, m);
  }

  private sendView(rect: NonNullable<SlideLayer['lastView']>, force: boolean, motion?: { vx: number; vy: number }): void {
    const same = this.lastView && this.lastView.level === rect.level && this.lastView.x === rect.x && this.lastView.y === rect.y && this.lastView.width === rect.width && this.lastView.height === rect.height;
    this.lastView = rect;
    if ((same && !force) || !this.stream?.connected) return;
    const seq = ++this.viewSeq;
    this.viewDone = false;
    this.stream
      .view(this.handle, rect, motion)
      .then((r) => {
        if (seq === this.viewSeq && !r.superseded) {
          this.viewDone = true;
          this.sendNav();
          this.onChange();
        }
      })
      .catch(() => undefined);
  }

  /**
   * The coarsest level, whole: the navigator, and what is drawn under
   * everything else. Asked for once per connection, after the first view is
   * complete (it must not delay that view).
   */
  private sendNav(): void {
    if (this.navSent || !this.stream?.connected || !this.info) return;
    this.navSent = true;
    const last = this.info.levels.length - 1;
    const top = this.info.levels[last]!;
    void this.stream.view(this.navHandle, { level: last, x: 0, y: 0, width: top.width, height: top.height }).catch(() => undefined);
  }

  private layerView(v: ViewState): ViewState {
    return { cx: v.cx / this.scale, cy: v.cy / this.scale, zoom: v.zoom * this.scale };
  }

  private onTile(t: StreamTile): void {
    this.stats.tilesReceived++;
    this.stats.bytes += t.data.length;
    const k = key(t.level, t.col, t.row);
    if (this.held.has(k)) return;
    if (t.missing) {
      this.store(k, { tex: undefined, level: t.level, col: t.col, row: t.row, width: t.width, height: t.height, used: ++this.clock });
      return;
    }
    if (t.encoding === 'rgba') {
      this.store(k, { tex: this.renderer.upload({ width: t.width, height: t.height, rgba: t.data }), level: t.level, col: t.col, row: t.row, width: t.width, height: t.height, used: ++this.clock });
      return;
    }
    // a complete JPEG: the browser decodes it off the main thread; crop to the valid part
    this.pendingDecodes++;
    // with the slide's ICC profile inside, the browser converts the tile to the canvas's sRGB
    const blob = new Blob([withIcc(t.data, this.icc) as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' });
    createImageBitmap(blob, 0, 0, t.width, t.height)
      .then((bitmap) => {
        if (this.closed) return bitmap.close();
        this.store(k, { tex: this.renderer.upload({ width: t.width, height: t.height, bitmap }), level: t.level, col: t.col, row: t.row, width: t.width, height: t.height, used: ++this.clock });
      })
      .catch(() => undefined)
      .finally(() => {
        this.pendingDecodes--;
        this.onChange();
      });
  }

  private store(k: number, h: Held): void {
    this.held.set(k, h);
    // a tile of the level on screen, drawn smaller than its pixels: its smaller copy is made now, not in the frame that first shows it
    if (h.tex && this.drawn && h.level === this.drawn.level && this.drawn.scale < 0.52) this.renderer.prepare?.(h.tex, this.drawn.scale);
    this.stats.tilesDrawn++;
    this.heldBytes += h.tex?.bytes ?? 0;
    if (this.heldBytes > this.maxBytes) {
      const coarsest = this.levels.length - 1;
      const victims = [...this.held.entries()].filter(([, x]) => x.level !== coarsest).sort((a, b) => a[1].used - b[1].used);
      for (const [vk, v] of victims) {
        if (this.heldBytes <= this.maxBytes * 0.9) break;
        this.held.delete(vk);
        this.heldBytes -= v.tex?.bytes ?? 0;
        if (v.tex) this.renderer.release(v.tex);
      }
    }
    this.onChange();
  }

  private dropAll(): void {
    for (const h of this.held.values()) if (h.tex) this.renderer.release(h.tex);
    this.held.clear();
    this.heldBytes = 0;
  }

  /**
   * The quads of this layer for a view: every tile of the level the view needs
   * where it is held; elsewhere the part of the nearest coarser tile held under
   * it (never a blank square while anything coarser is there).
   */
  quads(v: ViewState, vp: Viewport, out: Quad[]): { needed: number; present: number } {
    if (!this.info || !this.visible) return { needed: 0, present: 0 };
    const levels = this.levels;
    const lv = this.layerView(v);
    const level = levelFor(levels, lv.zoom, vp.dpr);
    const g = levels[level]!;
    this.drawn = { level, scale: lv.zoom * vp.dpr * g.downsample };
    const r = levelRect(levels, level, lv, vp);
    const c0 = Math.max(0, Math.floor(r.x / g.tileWidth));
    const r0 = Math.max(0, Math.floor(r.y / g.tileHeight));
    const c1 = Math.min(g.cols - 1, Math.floor((r.x + r.width) / g.tileWidth));
    const r1 = Math.min(g.rows - 1, Math.floor((r.y + r.height) / g.tileHeight));
    // level-0 px of this layer -> device px
    const s = lv.zoom * vp.dpr;
    const ox = (vp.width / 2) * vp.dpr - lv.cx * s;
    const oy = (vp.height / 2) * vp.dpr - lv.cy * s;
    const X = (x0: number): number => ox + x0 * s;
    const Y = (y0: number): number => oy + y0 * s;
    let needed = 0;
    let present = 0;
    for (let row = r0; row <= r1; row++) {
      for (let col = c0; col <= c1; col++) {
        needed++;
        // the tile's rectangle in level-0 px, edges shared with its neighbours
        const ds = g.downsample;
        const ax = col * g.tileWidth * ds;
        const ay = row * g.tileHeight * ds;
        const bx = Math.min(g.width, (col + 1) * g.tileWidth) * ds;
        const by = Math.min(g.height, (row + 1) * g.tileHeight) * ds;
        const own = this.held.get(key(level, col, row));
        if (own) {
          own.used = ++this.clock;
          present++;
          if (own.tex) out.push({ tex: own.tex, x: X(ax), y: Y(ay), w: X(bx) - X(ax), h: Y(by) - Y(ay), alpha: this.opacity, u0: 0, v0: 0, u1: 1, v1: 1 });
          continue;
        }
        // the nearest coarser tile held under it: draw the part that covers this tile
        for (let a = level + 1; a < levels.length; a++) {
          const ga = levels[a]!;
          const dsa = ga.downsample;
          const cx = ((ax + bx) / 2) / dsa;
          const cy = ((ay + by) / 2) / dsa;
          const ca = Math.floor(cx / ga.tileWidth);
          const ra = Math.floor(cy / ga.tileHeight);
          const h = this.held.get(key(a, ca, ra));
          if (!h || !h.tex) continue;
          h.used = ++this.clock;
          const tx0 = ca * ga.tileWidth * dsa;
          const ty0 = ra * ga.tileHeight * dsa;
          const tw0 = h.width * dsa;
          const th0 = h.height * dsa;
          // clip the target rectangle to the ancestor's pixels
          const qx0 = Math.max(ax, tx0);
          const qy0 = Math.max(ay, ty0);
          const qx1 = Math.min(bx, tx0 + tw0);
          const qy1 = Math.min(by, ty0 + th0);
          if (qx1 <= qx0 || qy1 <= qy0) break;
          out.push({
            tex: h.tex,
            x: X(qx0),
            y: Y(qy0),
            w: X(qx1) - X(qx0),
            h: Y(qy1) - Y(qy0),
            alpha: this.opacity,
            u0: (qx0 - tx0) / tw0,
            v0: (qy0 - ty0) / th0,
            u1: (qx1 - tx0) / tw0,
            v1: (qy1 - ty0) / th0,
          });
          break;
        }
      }
    }
    return { needed, present };
  }

  /** The coarsest level's tiles, for the navigator. */
  coarsest(): Held[] {
    const last = this.levels.length - 1;
    return [...this.held.values()].filter((h) => h.level === last);
  }

  /** Nothing in flight for the current view: it has completed and every tile of it is decoded. */
  settled(): boolean {
    return this.viewDone && this.pendingDecodes === 0;
  }

  /** Origin requests and cache hits (tiles shown from prefetch) of this layer, summed over its connections. */
  async refreshStats(): Promise<void> {
    const s = this.stream;
    if (!s?.connected) return;
    const st = await s.serverStats().catch(() => undefined);
    if (this.counted.stream !== s) {
      // a new connection: what the last one counted is kept
      this.counted = { stream: s, base: { originRequests: this.stats.originRequests, cacheHits: this.stats.cacheHits } };
    }
    const origin = st && typeof st['originRequests'] === 'number' ? st['originRequests'] : 0;
    this.stats.originRequests = this.counted.base.originRequests + origin;
    this.stats.cacheHits = this.counted.base.cacheHits + s.stats().prefetchedUsed;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.stream?.close().catch(() => undefined);
    this.dropAll();
  }
}

/** The APP2 segments of a slide's ICC profile, if it has one. */
function iccOf(info: StreamSlide): Uint8Array | undefined {
  if (!info.iccProfile) return undefined;
  try {
    return iccSegments(fromBase64(info.iccProfile));
  } catch {
    return undefined;
  }
}
