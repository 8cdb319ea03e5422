// One WebSocket connection of imagebox.v1: a function from client messages to
// server frames, with the connection's scheduler inside. The transport (uWS,
// src/server/uws/stream-endpoint.ts) hands it messages and drain events and
// sends what it emits; everything else is here and in the host.
//
// Per slide handle the newest VIEW wins: its visible tiles centre outwards,
// then the prefetch tiers (tile-sets.ts). Queued work that left the view is
// dropped; a tile is never sent twice on a connection; a VIEW_DONE follows the
// last visible tile of a view. Tiles are read in batches (one range-scheduler
// batch per 48 tiles, prefetch.ts), decoded in the pixel workers when the
// client wants RGBA (shared round-robin with every other connection, host.ts),
// and sent while the socket's buffered amount is under the high-water mark. A
// slow client gets fewer prefetches and never more memory: nothing is read
// while its bytes in flight (outbox + socket buffer + tiles being prepared)
// exceed its budget.
import { ImageboxError, asImageboxError, isImageboxError, publicMessage, type ErrorCode } from '../errors.js';
import { storedTileAsJpeg } from '../codecs/jpeg-splice.js';
import type { EncodedTile } from '../contracts/tile.js';
import { checkDisplay, type ChannelDisplay } from '../slide/channels.js';
import type { OpenedSlide, SlideRef, StreamHost, TilePayload } from './host.js';
import { readTiles } from './prefetch.js';
import {
  MessageType,
  PROTOCOL,
  TileFlag,
  ViewDoneFlag,
  VERSION,
  decodeClientMessage,
  encodeServerMessage,
  encodeTile,
  type ClientMessage,
  type EncodingChoice,
  type EncodingName,
  type Limits,
  type SlideInfo,
  type View,
} from './protocol.js';
import { DEFAULT_PREFETCH, Tier, prefetchTiles, visibleTiles, type LevelGrid, type PrefetchPlan, type WantedTile } from './tile-sets.js';

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 16 * 1024,
  maxSlidesPerConnection: 8,
  maxViewPixels: 8192 * 8192,
  maxViewsPerSecond: 240,
  idleTimeoutSeconds: 120,
  inFlightBytes: 8 * 1024 * 1024,
};

export interface SessionOptions {
  limits?: Partial<Limits>;
  prefetch?: Partial<PrefetchPlan>;
  /** Most bytes a client may ask to have in flight (its HELLO inFlightBytes is capped to this). */
  maxInFlightBytes?: number;
  /** Tiles per read batch (default 48). */
  batchTiles?: number;
  /** Client errors in 10 s after which the connection is closed (default 50). */
  abuseThreshold?: number;
  server?: string;
  /** Access control for this connection: throws (E_FORBIDDEN) for a slide its token does not open. */
  authorise?: (slideId: string) => void;
}

/** What the transport offers a session. */
export interface StreamTransport {
  send(frame: Uint8Array): void;
  /** Bytes the socket has not written yet. */
  buffered(): number;
  close(code: number, reason: string): void;
}

interface SlideStream {
  handle: number;
  /** Multi-channel slides: the channels its tiles composite (undefined: the slide's default). */
  display: ChannelDisplay | undefined;
  id: string;
  info: OpenedSlide['info'];
  ref: SlideRef;
  levels: LevelGrid[];
  sent: Set<number>;
  /** Tiles that failed for good (their bytes: 4xx); those the origin failed to give are not kept here. */
  failed: Set<number>;
  inflight: Set<number>;
  /** Sent as prefetch and not (yet) seen in a view. */
  prefetched: Set<number>;
  last: (View & { t: number; vx: number; vy: number }) | undefined;
  pendingView: View | undefined;
  queue: WantedTile[];
  wanted: Map<number, WantedTile>;
  /** Visible tiles of the current view not sent yet. */
  pendingVisible: Set<number>;
  visibleCount: number;
  closed: boolean;
}

interface Outgoing {
  frame: Uint8Array;
  s: SlideStream;
  key: number;
  tier: number;
  encoding: EncodingName;
}

const RGBA_TILE_ESTIMATE = 256 * 1024;
const JPEG_TILE_ESTIMATE = 24 * 1024;
/** Throughput above which sending decoded RGBA beats JPEG + a decode on the client (~1.5 ms per 256 px tile). */
const RGBA_WORTH_BYTES_PER_S = 160 * 1024 * 1024;

export class StreamSession {
  private readonly limits: Limits;
  private readonly plan: PrefetchPlan;
  private readonly batchTiles: number;
  private readonly abuseThreshold: number;
  private readonly maxInFlight: number;
  private hello = false;
  private choice: EncodingChoice = 'auto';
  private inFlightBytes: number;
  private readonly slides = new Map<number, SlideStream>();
  private nextHandle = 1;
  private opening = 0;
  private readonly outbox: Outgoing[] = [];
  private outboxBytes = 0;
  private preparing = 0;
  private fetching = 0;
  private rr = 0;
  private viewsScheduled = false;
  private closed = false;
  private readonly errorTimes: number[] = [];
  private readonly viewTokens = { tokens: 0, at: 0 };
  private lastRateError = 0;
  // auto encoding: the drain rate measured while the socket had a backlog
  private autoEncoding: EncodingName = 'rgba';
  /** The last tile prepared under passthrough was a stored JPEG. */
  private passedThrough = false;
  private bytesHanded = 0;
  private drainSample: { t: number; handed: number; buffered: number } | undefined;
  private drainRate: number | undefined;
  private jpegSince = 0;
  private readonly unregister: () => void;
  private readonly unwatch: (() => void) | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** originRequests: the slide's origin requests while this connection's batches were read (other connections' reads of the same slide in that time count too). */
  readonly stats = { tilesSent: 0, bytesSent: 0, prefetchSent: 0, prefetchUsed: 0, cancelled: 0, errors: 0, views: 0, viewsDone: 0, rgba: 0, jpeg: 0, originRequests: 0 };

  constructor(
    private readonly host: StreamHost,
    private readonly transport: StreamTransport,
    private readonly options: SessionOptions = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.plan = { ...DEFAULT_PREFETCH, ...options.prefetch };
    this.batchTiles = options.batchTiles ?? 48;
    this.abuseThreshold = options.abuseThreshold ?? 50;
    this.maxInFlight = options.maxInFlightBytes ?? 32 * 1024 * 1024;
    this.inFlightBytes = this.limits.inFlightBytes;
    this.viewTokens.tokens = this.limits.maxViewsPerSecond;
    this.viewTokens.at = Date.now();
    this.unregister = host.register(this);
    this.unwatch = host.onSlideChanged?.((id) => queueMicrotask(() => this.recheck(id)));
  }

  /** What this connection holds in the server: frames waiting to be sent and the socket's backlog. */
  heldBytes(): number {
    return this.closed ? 0 : this.outboxBytes + this.transport.buffered();
  }

  // ---- transport events -------------------------------------------------------------

  onMessage(bytes: Uint8Array): void {
    if (this.closed) return;
    if (bytes.length > this.limits.maxMessageBytes) {
      this.clientError(0, new ImageboxError('E_TOO_LARGE', `message of ${bytes.length} bytes (at most ${this.limits.maxMessageBytes})`));
      return;
    }
    let m: ClientMessage;
    try {
      m = decodeClientMessage(bytes);
    } catch (e) {
      this.clientError(0, asImageboxError(e, 'E_BAD_REQUEST'));
      return;
    }
    if (!this.hello && m.type !== MessageType.Hello) {
      this.clientError(0, new ImageboxError('E_BAD_REQUEST', 'send HELLO first'));
      return;
    }
    switch (m.type) {
      case MessageType.Hello:
        return this.onHello(m);
      case MessageType.Open:
        return void this.onOpen(m.requestId, m.slide, m.channels);
      case MessageType.View:
        return this.onView(m);
      case MessageType.Cancel:
        return this.onCancel(m.handle);
      case MessageType.Close:
        return this.onClose(m.handle);
      case MessageType.StatsRequest:
        this.transport.send(encodeServerMessage({ type: MessageType.Stats, requestId: m.requestId, stats: this.statsSnapshot() }));
        return;
    }
  }

  /** The socket drained below its backlog: send what waits, read more. */
  onDrain(): void {
    this.flush();
    this.pump();
  }

  /** The connection is gone. */
  onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slides.values()) this.retire(s);
    this.slides.clear();
    this.outbox.length = 0;
    this.outboxBytes = 0;
    this.host.forget(this);
    this.unregister();
    this.unwatch?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  // ---- messages -----------------------------------------------------------------------

  private onHello(m: Extract<ClientMessage, { type: typeof MessageType.Hello }>): void {
    if (this.hello) {
      this.clientError(0, new ImageboxError('E_BAD_REQUEST', 'HELLO was sent already'));
      return;
    }
    this.hello = true;
    this.choice = m.encodings[0] ?? 'auto';
    if (m.inFlightBytes) this.inFlightBytes = Math.max(256 * 1024, Math.min(this.maxInFlight, Math.floor(m.inFlightBytes)));
    this.transport.send(
      encodeServerMessage({
        type: MessageType.Welcome,
        protocol: PROTOCOL,
        version: VERSION,
        encoding: this.choice,
        limits: { ...this.limits, inFlightBytes: this.inFlightBytes },
        server: this.options.server ?? 'imagebox',
      }),
    );
  }

  private async onOpen(requestId: number, id: string, display?: ChannelDisplay): Promise<void> {
    try {
      this.options.authorise?.(id);
    } catch (e) {
      this.clientError(requestId, asImageboxError(e));
      return;
    }
    if (this.slides.size + this.opening >= this.limits.maxSlidesPerConnection) {
      this.clientError(requestId, new ImageboxError('E_TOO_LARGE', `at most ${this.limits.maxSlidesPerConnection} slides open per connection (CLOSE one)`));
      return;
    }
    this.opening++;
    let opened: OpenedSlide;
    try {
      opened = await this.host.open(id);
    } catch (e) {
      this.opening--;
      if (this.closed) return;
      const err = asImageboxError(e);
      // an unknown slide is the client's mistake; an origin failure is not
      if (err.status < 500) this.clientError(requestId, err);
      else this.sendError(requestId, err);
      return;
    }
    this.opening--;
    if (this.closed) return;
    if (display) {
      try {
        if (!opened.info.channels) throw new ImageboxError('E_BAD_REQUEST', `channels: slide ${id} has no channels`);
        checkDisplay(display, opened.info.channels);
      } catch (e) {
        this.clientError(requestId, asImageboxError(e));
        return;
      }
    }
    const handle = this.nextHandle++;
    const s: SlideStream = {
      handle,
      display,
      id,
      info: opened.info,
      ref: opened.ref,
      levels: opened.info.levels,
      sent: new Set(),
      failed: new Set(),
      inflight: new Set(),
      prefetched: new Set(),
      last: undefined,
      pendingView: undefined,
      queue: [],
      wanted: new Map(),
      pendingVisible: new Set(),
      visibleCount: 0,
      closed: false,
    };
    this.slides.set(handle, s);
    this.transport.send(encodeServerMessage({ type: MessageType.Slide, requestId, handle, ...opened.info }));
  }

  private onView(v: View): void {
    const s = this.slides.get(v.handle);
    if (!s) return this.clientError(v.seq, new ImageboxError('E_NOT_FOUND', `no open slide with handle ${v.handle}`));
    const g = s.levels[v.level];
    if (!g) return this.clientError(v.seq, new ImageboxError('E_BAD_REQUEST', `no level ${v.level} (the slide has ${s.levels.length})`), s.handle);
    if (v.width * v.height > this.limits.maxViewPixels) {
      return this.clientError(v.seq, new ImageboxError('E_TOO_LARGE', `a view of ${v.width}x${v.height} pixels (at most ${this.limits.maxViewPixels})`), s.handle);
    }
    if (s.last && v.seq <= s.last.seq) return; // an older view after a newer one: the newer wins
    // rate: a token bucket; excess views are not processed (the newest still wins)
    const now = Date.now();
    const rate = this.limits.maxViewsPerSecond;
    this.viewTokens.tokens = Math.min(rate, this.viewTokens.tokens + ((now - this.viewTokens.at) * rate) / 1000);
    this.viewTokens.at = now;
    if (this.viewTokens.tokens < 1) {
      if (now - this.lastRateError > 1000) {
        this.lastRateError = now;
        this.clientError(v.seq, new ImageboxError('E_BUSY', `views arrive faster than ${rate} a second: send one per frame`), s.handle);
      }
      s.pendingView = v; // remembered: applied when the bucket refills
      (setTimeout(() => this.scheduleViews(), 1000 / rate) as { unref?: () => void }).unref?.();
      return;
    }
    this.viewTokens.tokens -= 1;
    this.stats.views++;
    s.pendingView = v;
    this.scheduleViews();
  }

  /** Views arriving in one burst are applied once: only the newest per slide. */
  private scheduleViews(): void {
    if (this.viewsScheduled) return;
    this.viewsScheduled = true;
    queueMicrotask(() => {
      this.viewsScheduled = false;
      for (const s of this.slides.values()) {
        const v = s.pendingView;
        if (!v) continue;
        s.pendingView = undefined;
        this.applyView(s, v);
      }
      this.pump();
    });
  }

  private applyView(s: SlideStream, v: View): void {
    const now = performance.now();
    let vx = v.vx;
    let vy = v.vy;
    if (Number.isNaN(vx) || Number.isNaN(vy)) {
      // motion from the previous view of the same level (level pixels per second)
      const p = s.last;
      if (p && p.level === v.level && now > p.t) {
        const dt = Math.max(1 / 240, (now - p.t) / 1000);
        vx = (v.x - p.x) / dt;
        vy = (v.y - p.y) / dt;
      } else {
        vx = 0;
        vy = 0;
      }
    }
    s.last = { ...v, t: now, vx, vy };
    const g = s.levels[v.level]!;
    const visible = visibleTiles(g, v.level, v);
    const prefetch = prefetchTiles(s.levels, v.level, v, vx, vy, this.plan);
    s.wanted = new Map();
    for (const w of visible) s.wanted.set(w.key, w);
    for (const w of prefetch) if (!s.wanted.has(w.key)) s.wanted.set(w.key, w);
    s.pendingVisible = new Set();
    for (const w of visible) {
      if (s.prefetched.delete(w.key)) {
        this.stats.prefetchUsed++;
        this.host.counters.prefetchUsed++;
      }
      if (!s.sent.has(w.key) && !s.failed.has(w.key)) s.pendingVisible.add(w.key);
    }
    s.visibleCount = visible.length;
    const dropped = s.queue.filter((w) => !s.wanted.has(w.key)).length;
    this.stats.cancelled += dropped;
    this.host.counters.cancelled += dropped;
    s.queue = [...s.wanted.values()].filter((w) => !s.sent.has(w.key) && !s.failed.has(w.key) && !s.inflight.has(w.key));
    if (s.pendingVisible.size === 0) this.viewDone(s, visible.length > 0 ? ViewDoneFlag.AllCached : 0);
  }

  private onCancel(handle: number): void {
    const targets = handle === 0 ? [...this.slides.values()] : [this.slides.get(handle)].filter((x): x is SlideStream => x !== undefined);
    if (targets.length === 0) return this.clientError(0, new ImageboxError('E_NOT_FOUND', `no open slide with handle ${handle}`));
    for (const s of targets) {
      this.stats.cancelled += s.queue.length;
      this.host.counters.cancelled += s.queue.length;
      s.queue = [];
      s.wanted = new Map();
      s.pendingVisible = new Set();
    }
  }

  private onClose(handle: number): void {
    const s = this.slides.get(handle);
    if (!s) return this.clientError(0, new ImageboxError('E_NOT_FOUND', `no open slide with handle ${handle}`));
    this.slides.delete(handle);
    this.retire(s);
  }

  private retire(s: SlideStream): void {
    s.closed = true;
    s.queue = [];
    s.wanted = new Map();
    this.host.counters.prefetchWasted += s.prefetched.size;
    s.prefetched.clear();
  }

  // ---- reading, preparing, sending ------------------------------------------------------

  /** Bytes a tile will take (for budgets): passthrough counts as jpeg once it has passed one through. */
  private tileEstimate(): number {
    if (this.choice === 'passthrough' && this.passedThrough) return JPEG_TILE_ESTIMATE;
    return this.encodingFor() === 'rgba' ? RGBA_TILE_ESTIMATE : JPEG_TILE_ESTIMATE;
  }

  /** The encoding of tiles that are not passed through (passthrough: the others follow auto). */
  private encodingFor(): EncodingName {
    if (this.choice === 'rgba' || this.choice === 'jpeg') return this.choice;
    // rgba while the link keeps up; jpeg once a backlog shows it drains slower than
    // RGBA is worth; rgba again after 10 s to measure anew
    if (this.autoEncoding === 'jpeg' && Date.now() - this.jpegSince > 10_000) {
      this.autoEncoding = 'rgba';
      this.drainRate = undefined;
    }
    if (this.autoEncoding === 'rgba' && this.drainRate !== undefined && this.drainRate < RGBA_WORTH_BYTES_PER_S) {
      this.autoEncoding = 'jpeg';
      this.jpegSince = Date.now();
    }
    return this.autoEncoding;
  }

  private measureDrain(): void {
    const buffered = this.transport.buffered();
    const t = performance.now();
    if (buffered < 256 * 1024) {
      this.drainSample = undefined;
      return;
    }
    const d = this.drainSample;
    if (!d) {
      this.drainSample = { t, handed: this.bytesHanded, buffered };
      return;
    }
    if (t - d.t < 50) return;
    const drained = this.bytesHanded - d.handed - (buffered - d.buffered);
    const rate = (drained * 1000) / (t - d.t);
    this.drainRate = this.drainRate === undefined ? rate : 0.7 * this.drainRate + 0.3 * rate;
    this.drainSample = { t, handed: this.bytesHanded, buffered };
  }

  private budgetLeft(): number {
    const est = this.tileEstimate();
    const own = this.inFlightBytes - this.transport.buffered() - this.outboxBytes - this.preparing * est;
    // and every connection together under the server's bound
    return Math.min(own, this.host.maxHeldBytes - this.host.heldBytes() - this.preparing * est);
  }

  /** Start reads while the budget allows: visible tiles first, prefetch only while the socket keeps up. */
  private pump(): void {
    if (this.closed) return;
    while (this.fetching < 2) {
      const slides = [...this.slides.values()].filter((s) => s.queue.length > 0);
      if (slides.length === 0) return;
      const est = this.tileEstimate();
      const room = Math.floor(this.budgetLeft() / est);
      if (room <= 0) {
        // held back by the server-wide bound (others' backlogs), not by our own socket: look again soon
        if (!this.retryTimer && this.transport.buffered() + this.outboxBytes < this.inFlightBytes / 2) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.pump();
          }, 50);
        }
        return;
      }
      const lowWater = this.inFlightBytes / 2;
      const keepsUp = this.transport.buffered() < lowWater;
      // visible tiles of any handle before anyone's prefetch (a navigator's view must not wait behind a ring)
      const urgent = slides.filter((x) => x.queue[0]!.tier === Tier.Visible);
      const pick = urgent.length > 0 ? urgent : slides;
      const s = pick[this.rr++ % pick.length]!;
      const batch: WantedTile[] = [];
      while (s.queue.length > 0 && batch.length < Math.min(room, this.batchTiles)) {
        const w = s.queue[0]!;
        if (w.tier !== Tier.Visible && !keepsUp) break; // a slow client gets no prefetch now
        s.queue.shift();
        if (s.sent.has(w.key) || s.inflight.has(w.key) || s.failed.has(w.key)) continue;
        batch.push(w);
      }
      if (batch.length === 0) return;
      for (const w of batch) s.inflight.add(w.key);
      this.fetching++;
      this.preparing += batch.length;
      void this.readBatch(s, batch).finally(() => {
        this.fetching--;
        this.pump();
      });
    }
  }

  private async readBatch(s: SlideStream, batch: WantedTile[]): Promise<void> {
    const settledKeys = new Set<number>();
    const done = (w: WantedTile): void => {
      if (settledKeys.has(w.key)) return;
      settledKeys.add(w.key);
      this.preparing--;
      s.inflight.delete(w.key);
    };
    // the bytes the batch was planned on (its tiles are of their grid)
    const planned = s.ref.version;
    try {
      await this.host.use(s.id, async (slide, ref, info) => {
        if (ref.version !== planned) {
          // the slide's bytes changed: the client hears of it (once) and views again; nothing
          // of this batch is read (settled here, or `preparing` would hold its budget for ever)
          for (const w of batch) done(w);
          if (ref.version !== s.ref.version) this.slideChanged(s, ref, info);
          return;
        }
        const todo = batch.filter((w) => !settledKeys.has(w.key));
        const before = slide.stats()?.requests ?? 0;
        const tiles = readTiles(slide, todo);
        void Promise.allSettled(tiles).then(() => {
          const n = Math.max(0, (slide.stats()?.requests ?? 0) - before);
          this.host.counters.originRequests += n;
          this.stats.originRequests += n;
          this.host.counters.tilesRead += todo.length;
        });
        await Promise.all(
          todo.map((w, i) =>
            tiles[i]!.then((t) => this.prepare(s, w, t, ref)).then(
              () => done(w),
              (e: unknown) => {
                if (isImageboxError(e, 'E_SOURCE_CHANGED')) throw e; // the host reopens the slide and runs this again
                done(w);
                this.tileFailed(s, w, e);
              },
            ),
          ),
        );
      });
    } catch (e) {
      for (const w of batch) {
        if (settledKeys.has(w.key)) continue;
        done(w);
        this.tileFailed(s, w, e);
      }
    }
  }

  /** The host found the bytes of slide `id` changed: its handles look at the slide as it is now (a SLIDE frame when it changed). */
  private recheck(id: string): void {
    for (const s of this.slides.values()) {
      if (s.id !== id || s.closed) continue;
      this.host
        .use(id, async (_slide, ref, info) => {
          if (!s.closed && !this.closed && ref.version !== s.ref.version) this.slideChanged(s, ref, info);
        })
        .catch(() => undefined); // (a slide that no longer opens fails the next read, with its error)
    }
  }

  /** The slide's bytes changed: a new SLIDE frame for the same handle, nothing sent before counts. */
  private slideChanged(s: SlideStream, ref: SlideRef, info: OpenedSlide['info']): void {
    s.ref = ref;
    s.info = info;
    s.levels = info.levels;
    s.sent.clear();
    s.failed.clear();
    s.prefetched.clear();
    s.queue = [];
    s.wanted = new Map();
    s.pendingVisible = new Set();
    this.transport.send(encodeServerMessage({ type: MessageType.Slide, requestId: 0, handle: s.handle, ...info, changed: true } as SlideInfo));
  }

  private async prepare(s: SlideStream, w: WantedTile, t: EncodedTile, ref: SlideRef): Promise<void> {
    if (s.closed || this.closed) return;
    if (!s.wanted.has(w.key)) {
      this.stats.cancelled++;
      this.host.counters.cancelled++;
      return;
    }
    const stored = this.choice === 'passthrough' && !t.missing ? storedTileAsJpeg(t) : undefined;
    if (this.choice === 'passthrough' && !t.missing) this.passedThrough = stored !== undefined;
    const encoding = stored ? 'jpeg' : this.encodingFor();
    let payload: TilePayload;
    let flags = 0;
    // asked when a decode's turn comes in the shared queue: a tile that left the view meanwhile is not decoded
    const wanted = (): boolean => !s.closed && !this.closed && s.wanted.has(w.key);
    if (t.missing && w.level === 0 && !t.render) {
      payload = { width: t.validWidth, height: t.validHeight, data: new Uint8Array(0) };
      flags |= TileFlag.Missing;
    } else if (t.missing) {
      // re-rendered from the level above, as readTile does (OpenSlide's rule); or painted from overlapping tiles (BIF)
      payload = await this.host.render(this, ref, w.level, w.col, w.row, encoding, s.display, wanted);
      flags |= TileFlag.Transcoded;
    } else if (s.info.channels) {
      // multi-channel: the composite of the handle's channels, rendered in a worker (not in the shared cache)
      payload = await this.host.render(this, ref, w.level, w.col, w.row, encoding, s.display, wanted);
      if (encoding === 'jpeg') flags |= TileFlag.Transcoded;
    } else {
      const asStored = stored ?? (encoding === 'jpeg' ? storedTileAsJpeg(t) : undefined);
      if (asStored) {
        payload = { width: t.validWidth, height: t.validHeight, data: asStored };
      } else {
        const cached = this.host.cached(ref, w.key);
        if (cached && (encoding === 'rgba') === (cached.data.length === cached.width * cached.height * 4)) {
          payload = cached;
        } else {
          payload = await this.host.decode(this, t, ref, encoding, wanted);
          if (encoding === 'rgba') this.host.remember(ref, w.key, payload);
        }
        if (encoding === 'jpeg') flags |= TileFlag.Transcoded;
      }
    }
    if (s.closed || this.closed) return;
    if (!s.wanted.has(w.key)) {
      // it left the view while being read or decoded: kept in the cache, not sent
      this.stats.cancelled++;
      this.host.counters.cancelled++;
      return;
    }
    const frame = encodeTile({
      seq: s.last?.seq ?? 0,
      flags,
      handle: s.handle,
      level: w.level,
      encoding,
      col: w.col,
      row: w.row,
      width: payload.width,
      height: payload.height,
      data: payload.data,
    });
    this.outbox.push({ frame, s, key: w.key, tier: w.tier, encoding });
    this.outboxBytes += frame.length;
    this.flush();
  }

  private tileFailed(s: SlideStream, w: WantedTile, e: unknown): void {
    if (s.closed || this.closed) return;
    const err = asImageboxError(e);
    if (err.code === 'E_ABORTED') {
      // its decode was skipped: it had left the view before its turn
      if (!s.wanted.has(w.key)) {
        this.stats.cancelled++;
        this.host.counters.cancelled++;
      }
      return;
    }
    // a tile whose bytes are bad stays failed on this handle; one the origin (or the server)
    // failed to give (5xx: E_ORIGIN, E_TIMEOUT, ...) is asked for again by the next view
    if (err.status < 500) s.failed.add(w.key);
    this.stats.errors++;
    this.host.counters.tileErrors++;
    if (s.wanted.get(w.key)?.tier === Tier.Visible || s.pendingVisible.has(w.key)) {
      this.sendError(s.last?.seq ?? 0, err, { handle: s.handle, level: w.level, col: w.col, row: w.row });
      if (s.pendingVisible.delete(w.key) && s.pendingVisible.size === 0) this.viewDone(s, 0);
    }
  }

  /** Send queued frames while the socket keeps up. */
  private flush(): void {
    while (this.outbox.length > 0 && !this.closed) {
      if (this.transport.buffered() >= this.inFlightBytes / 2) {
        this.measureDrain();
        return;
      }
      const o = this.outbox.shift()!;
      this.outboxBytes -= o.frame.length;
      if (o.s.closed || o.s.sent.has(o.key)) continue;
      const reason = o.s.pendingVisible.has(o.key) ? 'visible' : 'prefetch';
      if (reason === 'prefetch') o.frame[2]! |= TileFlag.Prefetched; // the header's flags: decided now, not when prepared
      this.transport.send(o.frame);
      this.bytesHanded += o.frame.length;
      o.s.sent.add(o.key);
      this.stats.tilesSent++;
      this.stats.bytesSent += o.frame.length;
      this.stats[o.encoding]++;
      const c = this.host.counters;
      c.tilesPushed[`${o.encoding}:${reason}`] = (c.tilesPushed[`${o.encoding}:${reason}`] ?? 0) + 1;
      c.bytesPushed += o.frame.length;
      if (reason === 'prefetch') {
        o.s.prefetched.add(o.key);
        this.stats.prefetchSent++;
        c.prefetchPushed++;
      }
      if (o.s.pendingVisible.delete(o.key) && o.s.pendingVisible.size === 0) this.viewDone(o.s, 0);
    }
    this.measureDrain();
  }

  private viewDone(s: SlideStream, flags: number): void {
    const seq = s.last?.seq ?? 0;
    this.stats.viewsDone++;
    this.host.counters.viewsDone++;
    this.transport.send(encodeServerMessage({ type: MessageType.ViewDone, seq, flags, handle: s.handle, tiles: s.visibleCount }));
  }

  // ---- errors ---------------------------------------------------------------------------

  private sendError(id: number, e: ImageboxError, where: { handle?: number; level?: number; col?: number; row?: number } = {}, fatal = false): void {
    if (this.closed) return;
    this.transport.send(
      encodeServerMessage({ type: MessageType.Error, id, code: e.code as ErrorCode, message: publicMessage(e), ...where, ...(fatal ? { fatal } : {}) }),
    );
  }

  /** A client's mistake: an error frame; too many of them in 10 s closes the connection. */
  private clientError(id: number, e: ImageboxError, handle?: number): void {
    const now = Date.now();
    this.errorTimes.push(now);
    while (this.errorTimes.length > 0 && now - this.errorTimes[0]! > 10_000) this.errorTimes.shift();
    if (this.errorTimes.length > this.abuseThreshold) {
      this.sendError(id, new ImageboxError('E_BAD_REQUEST', `more than ${this.abuseThreshold} bad messages in 10 s: closing`), {}, true);
      this.transport.close(1008, 'too many bad messages');
      this.onClosed();
      return;
    }
    this.sendError(id, e, handle === undefined ? {} : { handle });
  }

  // ---- stats ----------------------------------------------------------------------------

  statsSnapshot(): Record<string, number | string> {
    let queued = 0;
    for (const s of this.slides.values()) queued += s.queue.length;
    return {
      ...this.stats,
      encoding: this.choice === 'auto' || this.choice === 'passthrough' ? `${this.choice}:${this.autoEncoding}` : this.choice,
      slides: this.slides.size,
      queued,
      preparing: this.preparing,
      outboxBytes: this.outboxBytes,
      bufferedBytes: this.transport.buffered(),
      inFlightBytes: this.inFlightBytes,
      drainRateBytesPerSecond: Math.round(this.drainRate ?? 0),
    };
  }

  /** Tiles queued (not yet read) on this connection. */
  queued(): number {
    let n = 0;
    for (const s of this.slides.values()) n += s.queue.length;
    return n;
  }
}
