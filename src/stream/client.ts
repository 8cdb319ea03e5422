// `imagebox/stream`: the client of imagebox.v1, for Node (client-node.ts gives
// it undici's WebSocket) and browsers (their own). The viewer and the tests use
// it. Isomorphic.
//
//   const s = await connectTileStream('ws://127.0.0.1:8080/stream', { encodings: ['rgba'] });
//   const slide = await s.open('CMU-1.svs');
//   s.on('tile', (t) => { ... });
//   await s.view(slide.handle, { level: 0, x: 4096, y: 2048, width: 1920, height: 1080 });
//   s.stats(); await s.close();
import type { ChannelDisplay } from '../slide/channels.js';
import { ImageboxError, type ErrorCode } from '../errors.js';
import {
  MessageType,
  PROTOCOL,
  TileFlag,
  ViewDoneFlag,
  decodeServerMessage,
  encodeClientMessage,
  type EncodingChoice,
  type EncodingName,
  type ErrorFrame,
  type ServerMessage,
  type SlideInfo,
  type Welcome,
} from './protocol.js';
import { tileKey, visibleTiles } from './tile-sets.js';

/** The subset of the WHATWG WebSocket a client needs (browsers', undici's). */
export interface WebSocketLike {
  binaryType: string;
  readyState: number;
  send(data: ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (ev: { data?: unknown; code?: number; reason?: string }) => void): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface TileStreamOptions {
  /** In order of preference (default ['auto']). */
  encodings?: EncodingChoice[];
  /** Bytes the server may have in flight to us (default: the server's). */
  inFlightBytes?: number;
  /** The WebSocket implementation (default: globalThis.WebSocket). */
  WebSocket?: WebSocketConstructor;
  /** Time limit of the connect and of an open (default 15 s). */
  timeoutMs?: number;
  client?: string;
}

export interface StreamTile {
  handle: number;
  level: number;
  col: number;
  row: number;
  /** The tile's valid size (edge tiles are smaller). */
  width: number;
  height: number;
  encoding: EncodingName;
  /** rgba: width * height * 4 bytes; jpeg: a complete JPEG stream (it may decode larger: crop to width x height). */
  data: Uint8Array;
  prefetched: boolean;
  /** No pixels here (transparent), no data. */
  missing: boolean;
  transcoded: boolean;
  /** The view it was sent for. */
  seq: number;
}

export type StreamSlide = Omit<SlideInfo, 'type' | 'requestId'>;

export interface ViewRect {
  level: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ViewResult {
  seq: number;
  /** Visible tiles of the view. */
  tiles: number;
  /** Every one of them had arrived before this view. */
  cached: boolean;
  /** A newer view of the same slide was sent before this one completed. */
  superseded: boolean;
  ms: number;
}

export interface ClientStats {
  tilesReceived: number;
  bytesReceived: number;
  prefetchedReceived: number;
  /** Prefetched tiles that a later view showed. */
  prefetchedUsed: number;
  viewsCompleted: number;
  viewsSuperseded: number;
  errors: number;
}

type Listener<T> = (v: T) => void;

interface PendingView {
  handle: number;
  seq: number;
  t0: number;
  resolve: (r: ViewResult) => void;
  reject: (e: unknown) => void;
}

const OPEN = 1;

export class TileStream {
  private readonly ws: WebSocketLike;
  private nextRequest = 1;
  private nextSeq = 1;
  private readonly opens = new Map<number, { resolve: (s: StreamSlide) => void; reject: (e: unknown) => void; timer: ReturnType<typeof setTimeout> }>();
  private readonly statsRequests = new Map<number, (s: Record<string, number | string>) => void>();
  private readonly views = new Map<number, PendingView>();
  private readonly slides = new Map<number, StreamSlide>();
  /** Per handle: keys of the tiles received, and of those that came as prefetch and no view has shown yet. */
  private readonly held = new Map<number, Set<number>>();
  private readonly prefetchedHeld = new Map<number, Set<number>>();
  private readonly listeners = { tile: new Set<Listener<StreamTile>>(), error: new Set<Listener<ImageboxError & { frame?: ErrorFrame }>>(), slide: new Set<Listener<StreamSlide>>(), close: new Set<Listener<{ code: number; reason: string }>>() };
  private readonly counters: ClientStats = { tilesReceived: 0, bytesReceived: 0, prefetchedReceived: 0, prefetchedUsed: 0, viewsCompleted: 0, viewsSuperseded: 0, errors: 0 };
  private closedError: ImageboxError | undefined;
  welcome!: Welcome;

  private constructor(ws: WebSocketLike, private readonly timeoutMs: number) {
    this.ws = ws;
  }

  static connect(url: string, o: TileStreamOptions = {}): Promise<TileStream> {
    const Ctor = o.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) return Promise.reject(new ImageboxError('E_BAD_REQUEST', 'no WebSocket implementation: pass options.WebSocket'));
    const ws = new Ctor(url, PROTOCOL);
    ws.binaryType = 'arraybuffer';
    const s = new TileStream(ws, o.timeoutMs ?? 15_000);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new ImageboxError('E_TIMEOUT', `no WELCOME from ${url} within ${s.timeoutMs} ms`));
        ws.close();
      }, s.timeoutMs);
      let welcomed = false;
      ws.addEventListener('open', () => {
        ws.send(encodeClientMessage({ type: MessageType.Hello, protocol: PROTOCOL, encodings: o.encodings ?? ['auto'], inFlightBytes: o.inFlightBytes, client: o.client }));
      });
      ws.addEventListener('message', (ev) => {
        let m: ServerMessage;
        try {
          m = decodeServerMessage(ev.data as ArrayBuffer);
        } catch (e) {
          s.emitError(e as ImageboxError);
          return;
        }
        if (!welcomed && m.type === MessageType.Welcome) {
          welcomed = true;
          clearTimeout(timer);
          s.welcome = m;
          resolve(s);
          return;
        }
        if (!welcomed && m.type === MessageType.Error) {
          clearTimeout(timer);
          reject(new ImageboxError(m.code, m.message));
          return;
        }
        s.onMessage(m);
      });
      ws.addEventListener('error', () => {
        if (!welcomed) {
          clearTimeout(timer);
          reject(new ImageboxError('E_ORIGIN', `cannot connect to ${url}`));
        }
      });
      ws.addEventListener('close', (ev) => {
        clearTimeout(timer);
        if (!welcomed) reject(new ImageboxError('E_ORIGIN', `${url} closed the connection (${ev.code ?? 0})`));
        s.onClose(ev.code ?? 1006, ev.reason ?? '');
      });
    });
  }

  on(event: 'tile', l: Listener<StreamTile>): () => void;
  on(event: 'error', l: Listener<ImageboxError & { frame?: ErrorFrame }>): () => void;
  on(event: 'slide', l: Listener<StreamSlide>): () => void;
  on(event: 'close', l: Listener<{ code: number; reason: string }>): () => void;
  on(event: keyof TileStream['listeners'], l: Listener<never>): () => void {
    const set = this.listeners[event] as Set<Listener<never>>;
    set.add(l);
    return () => set.delete(l);
  }

  get connected(): boolean {
    return this.ws.readyState === OPEN && !this.closedError;
  }

  /** Open a slide by the identifier /iiif/3/{id} takes. */
  open(id: string, options: { channels?: ChannelDisplay } = {}): Promise<StreamSlide> {
    this.check();
    const requestId = this.nextRequest++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.opens.delete(requestId);
        reject(new ImageboxError('E_TIMEOUT', `no answer to OPEN ${id} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.opens.set(requestId, { resolve, reject, timer });
      this.ws.send(encodeClientMessage({ type: MessageType.Open, requestId, slide: id, ...(options.channels ? { channels: options.channels } : {}) }));
    });
  }

  /**
   * Ask for a view (a rectangle in the pixels of `level`); resolves once every
   * tile that intersects it has arrived (now or before), or when a newer view
   * of the same slide supersedes it. The motion (level px/s) is derived by the
   * server from successive views unless given.
   */
  view(handle: number, r: ViewRect, motion?: { vx: number; vy: number }): Promise<ViewResult> {
    this.check();
    const seq = this.nextSeq++;
    for (const p of this.views.values()) {
      if (p.handle !== handle) continue;
      this.views.delete(p.seq);
      this.counters.viewsSuperseded++;
      p.resolve({ seq: p.seq, tiles: 0, cached: false, superseded: true, ms: performance.now() - p.t0 });
    }
    // prefetched tiles this view shows were useful
    const slide = this.slides.get(handle);
    const pre = this.prefetchedHeld.get(handle);
    const held = this.held.get(handle);
    const grid = slide?.levels[r.level];
    const vis = grid ? visibleTiles(grid, r.level, r) : [];
    if (pre && pre.size > 0) for (const w of vis) if (pre.delete(w.key)) this.counters.prefetchedUsed++;
    const t0 = performance.now();
    // every visible tile is here already: the view is complete now (the server still
    // hears of it, for its prefetch and the motion)
    const complete = vis.length > 0 && held !== undefined && vis.every((w) => held.has(w.key));
    return new Promise((resolve, reject) => {
      if (complete) {
        this.counters.viewsCompleted++;
        resolve({ seq, tiles: vis.length, cached: true, superseded: false, ms: performance.now() - t0 });
      } else {
        this.views.set(seq, { handle, seq, t0, resolve, reject });
      }
      this.ws.send(
        encodeClientMessage({
          type: MessageType.View,
          seq,
          handle,
          level: r.level,
          x: Math.round(r.x),
          y: Math.round(r.y),
          width: Math.max(1, Math.round(r.width)),
          height: Math.max(1, Math.round(r.height)),
          vx: motion?.vx ?? NaN,
          vy: motion?.vy ?? NaN,
        }),
      );
    });
  }

  /** Whether a tile has arrived on this connection. */
  has(handle: number, level: number, col: number, row: number): boolean {
    return this.held.get(handle)?.has(tileKey(level, col, row)) ?? false;
  }

  /** Drop the server's queued tiles of a slide (all slides without a handle); pending views resolve as superseded. */
  cancel(handle = 0): void {
    this.check();
    this.ws.send(encodeClientMessage({ type: MessageType.Cancel, handle }));
    for (const p of [...this.views.values()]) {
      if (handle !== 0 && p.handle !== handle) continue;
      this.views.delete(p.seq);
      p.resolve({ seq: p.seq, tiles: 0, cached: false, superseded: true, ms: performance.now() - p.t0 });
    }
  }

  closeSlide(handle: number): void {
    this.check();
    this.ws.send(encodeClientMessage({ type: MessageType.Close, handle }));
    this.slides.delete(handle);
    this.held.delete(handle);
    this.prefetchedHeld.delete(handle);
  }

  /** The server's counters for this connection. */
  serverStats(): Promise<Record<string, number | string>> {
    this.check();
    const requestId = this.nextRequest++;
    return new Promise((resolve) => {
      this.statsRequests.set(requestId, resolve);
      this.ws.send(encodeClientMessage({ type: MessageType.StatsRequest, requestId }));
    });
  }

  stats(): ClientStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    if (this.ws.readyState > OPEN) return Promise.resolve();
    return new Promise((resolve) => {
      this.listeners.close.add(() => resolve());
      this.ws.close(1000, 'bye');
    });
  }

  // ---- incoming -----------------------------------------------------------------------

  private check(): void {
    if (this.closedError) throw this.closedError;
  }

  private emitError(e: ImageboxError & { frame?: ErrorFrame }): void {
    this.counters.errors++;
    for (const l of this.listeners.error) l(e);
  }

  private onMessage(m: ServerMessage): void {
    switch (m.type) {
      case MessageType.Slide: {
        const { type: _t, requestId, ...slide } = m;
        this.slides.set(slide.handle, slide);
        if (slide.changed) {
          this.held.delete(slide.handle);
          this.prefetchedHeld.delete(slide.handle);
          for (const l of this.listeners.slide) l(slide);
          return;
        }
        const o = this.opens.get(requestId);
        if (o) {
          this.opens.delete(requestId);
          clearTimeout(o.timer);
          o.resolve(slide);
        }
        return;
      }
      case MessageType.Tile: {
        const key = tileKey(m.level, m.col, m.row);
        let held = this.held.get(m.handle);
        if (!held) this.held.set(m.handle, (held = new Set()));
        held.add(key);
        const prefetched = (m.flags & TileFlag.Prefetched) !== 0;
        if (prefetched) {
          let pre = this.prefetchedHeld.get(m.handle);
          if (!pre) this.prefetchedHeld.set(m.handle, (pre = new Set()));
          pre.add(key);
          this.counters.prefetchedReceived++;
        }
        this.counters.tilesReceived++;
        this.counters.bytesReceived += m.data.length;
        const t: StreamTile = {
          handle: m.handle,
          level: m.level,
          col: m.col,
          row: m.row,
          width: m.width,
          height: m.height,
          encoding: m.encoding,
          data: m.data,
          prefetched,
          missing: (m.flags & TileFlag.Missing) !== 0,
          transcoded: (m.flags & TileFlag.Transcoded) !== 0,
          seq: m.seq,
        };
        for (const l of this.listeners.tile) l(t);
        return;
      }
      case MessageType.ViewDone: {
        const p = this.views.get(m.seq);
        if (!p) return;
        this.views.delete(m.seq);
        this.counters.viewsCompleted++;
        p.resolve({ seq: m.seq, tiles: m.tiles, cached: (m.flags & ViewDoneFlag.AllCached) !== 0, superseded: false, ms: performance.now() - p.t0 });
        return;
      }
      case MessageType.Error: {
        const err = Object.assign(new ImageboxError(m.code as ErrorCode, m.message), { frame: m });
        const o = this.opens.get(m.id);
        if (o && m.handle === undefined) {
          this.opens.delete(m.id);
          clearTimeout(o.timer);
          o.reject(err);
          return;
        }
        const v = this.views.get(m.id);
        if (v && m.level === undefined && m.code !== 'E_BUSY') {
          this.views.delete(m.id);
          v.reject(err);
        }
        this.emitError(err);
        return;
      }
      case MessageType.Stats: {
        const r = this.statsRequests.get(m.requestId);
        if (r) {
          this.statsRequests.delete(m.requestId);
          r(m.stats);
        }
        return;
      }
      case MessageType.Welcome:
        return;
    }
  }

  private onClose(code: number, reason: string): void {
    this.closedError ??= new ImageboxError('E_ORIGIN', `the stream closed (${code}${reason ? `: ${reason}` : ''})`);
    for (const o of this.opens.values()) {
      clearTimeout(o.timer);
      o.reject(this.closedError);
    }
    this.opens.clear();
    for (const v of this.views.values()) v.reject(this.closedError);
    this.views.clear();
    for (const l of this.listeners.close) l({ code, reason });
  }

  /** Tiles prefetched on this connection that no view has shown yet (per handle). */
  prefetchedPending(handle: number): number {
    return this.prefetchedHeld.get(handle)?.size ?? 0;
  }
}

/** Connect, say HELLO, wait for WELCOME. */
export function connectTileStream(url: string, options: TileStreamOptions = {}): Promise<TileStream> {
  return TileStream.connect(url, options);
}
