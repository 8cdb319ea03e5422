// RangeScheduler: a ByteSource wrapped around another one.
//  - reads issued in the same tick are collected (one microtask), sorted, and
//    merged where they overlap or lie closer than gapBytes (up to maxSpanBytes
//    per merged span); the groups of one caller (reads that share an abort
//    signal, or have none: a stream's batch, a tile's two offset blocks) go to
//    the inner read() in ONE call (HttpSource makes that one multi-range
//    request), while unrelated callers' groups go out as parallel requests, so
//    one client's tile never waits for another's bytes in the same answer;
//  - a read covered by a span already in flight waits for it (single flight);
//  - fetched spans go into a byte-bounded LRU SpanCache that answers covered
//    reads without a request; it is dropped when the source changes;
//  - prefetch() queues low-priority reads, sent only while no foreground read
//    is waiting or in flight; their errors are swallowed;
//  - with a shared second level (src/io/shared-cache.ts: the main thread's
//    store under --threads, Redis in a cluster), each caller range the span
//    cache misses is looked up there first, under the source's validator and
//    size, in one getMany per flush; what comes from the origin is put there,
//    one entry per caller range (a tile's bytes), so another thread or node
//    asking for the same tile finds it whatever else its reads were merged with.
import { ImageboxError, isImageboxError, type ErrorCode } from '../errors.js';
import { newStats, type ByteRange, type ByteSource, type IoStats } from './byte-source.js';
import { SpanCache, type ByteBudget } from './span-cache.js';
import { blockKey, MAX_SHARED_VALUE_BYTES, type SharedCache } from './shared-cache.js';

export interface RangeSchedulerOptions {
  /** Ranges closer than this are fetched as one span (default 32 KiB). */
  gapBytes?: number;
  /** A merged span never grows beyond this (default 4 MiB). */
  maxSpanBytes?: number;
  /** Byte budget of the span cache (default 64 MiB; 0 disables caching). */
  cacheBytes?: number;
  /** A budget shared with other schedulers (every open slide of a thread): the sum never exceeds it. */
  budget?: ByteBudget;
  /** Queued prefetch ranges kept at most (oldest dropped; default 1024). */
  maxPrefetchQueue?: number;
  /** Ranges sent per prefetch batch (default 32). */
  prefetchBatch?: number;
  /**
   * Inner reads one flush may start at once (default 32). Unrelated callers'
   * groups beyond this share requests (multi-range), so a burst stays bounded.
   */
  maxParallelReads?: number;
  /** The second cache level shared with other threads or nodes (none by default). */
  shared?: SharedCache;
}

export interface SchedulerStats extends IoStats {
  /** Ranges sent to the inner source (a request may carry several). */
  rangesSent: number;
  /** Caller ranges answered from the cache with no request. */
  cacheHits: number;
  /** Caller ranges that joined a span already in flight. */
  inflightHits: number;
  /** Background ranges sent. */
  prefetchRanges: number;
  /** Bytes held by the cache now. */
  cacheBytes: number;
  /** Caller ranges answered by the shared second level (no origin request). */
  sharedHits: number;
  /** Caller ranges looked up there and missed. */
  sharedMisses: number;
}

interface Waiter {
  offset: number;
  end: number;
  /** Who asked: the caller's abort signal (or NO_SIGNAL); groups of one caller go in one request. */
  caller: object;
  resolve(data: Uint8Array): void;
  reject(e: unknown): void;
  done: boolean;
  /** Called when this waiter's caller aborted. */
  abandon?: () => void;
  /**
   * It joined a span someone else asked for (single flight). If that span fails
   * (a bulk background load, say), the waiter asks again for its own range, once,
   * instead of inheriting a failure of a request it never made.
   */
  joined?: boolean;
}

interface Flight {
  offset: number;
  end: number;
  group: Group;
  /** Re-check whether anyone still waits for the request carrying this flight. */
  abandon: (() => void) | undefined;
}

interface Group {
  offset: number;
  end: number;
  waiters: Waiter[];
  /** Everyone gave up and the request was aborted: nobody may join it. */
  cancelled?: boolean;
}

/** Errors that belong to one range, not to the whole request: retry groups one by one. */
const PER_RANGE: ReadonlySet<ErrorCode> = new Set(['E_TRUNCATED', 'E_RANGE_NOT_SATISFIABLE', 'E_MALFORMED', 'E_TOO_LARGE']);

function splittable(e: unknown): boolean {
  if (!(e instanceof ImageboxError)) return false;
  if (PER_RANGE.has(e.code)) return true;
  // A bad answer (not a retry-exhausted origin) may concern one part only.
  return e.code === 'E_ORIGIN' && e.details?.['attempts'] === undefined;
}

const KiB = 1024;
const MiB = 1024 * KiB;
/** The caller of reads made without a signal (they coalesce with each other, as one caller). */
const NO_SIGNAL = {};

export class RangeScheduler implements ByteSource {
  readonly id: string;
  private readonly gap: number;
  private readonly maxSpan: number;
  private readonly maxPrefetchQueue: number;
  private readonly prefetchBatch: number;
  private readonly maxParallel: number;
  private readonly cache: SpanCache | undefined;
  private readonly counters: SchedulerStats = {
    ...newStats(),
    rangesSent: 0,
    cacheHits: 0,
    inflightHits: 0,
    prefetchRanges: 0,
    cacheBytes: 0,
    sharedHits: 0,
    sharedMisses: 0,
  };
  private readonly shared: SharedCache | undefined;
  private queue: Waiter[] = [];
  private flushScheduled = false;
  private flights: Flight[] = [];
  private foreground = 0;
  private prefetchQueue: ByteRange[] = [];
  private prefetching = false;
  private pumpScheduled = false;
  private generation = 0;
  private knownSize: number | undefined;
  private readonly listeners = new Set<(e: ImageboxError) => void>();
  private readonly unsubscribe: (() => void) | undefined;

  constructor(
    readonly inner: ByteSource,
    options: RangeSchedulerOptions = {},
  ) {
    this.id = inner.id;
    this.gap = Math.max(0, options.gapBytes ?? 32 * KiB);
    this.maxSpan = Math.max(1, options.maxSpanBytes ?? 4 * MiB);
    const cacheBytes = options.cacheBytes ?? 64 * MiB;
    this.cache = cacheBytes > 0 ? new SpanCache(cacheBytes, options.budget) : undefined;
    this.maxPrefetchQueue = options.maxPrefetchQueue ?? 1024;
    this.prefetchBatch = Math.max(1, options.prefetchBatch ?? 32);
    this.maxParallel = Math.max(1, options.maxParallelReads ?? 32);
    this.shared = options.shared;
    this.unsubscribe = inner.onChange?.((e) => this.sourceChanged(e));
  }

  /** The shared level's version of this source's bytes (validator and size), once both are known. */
  private sharedVersion(): string | undefined {
    if (!this.shared || this.knownSize === undefined) return undefined;
    const v = this.inner.validator?.();
    return v === undefined ? undefined : `${v}/${this.knownSize}`;
  }

  // ---- ByteSource -------------------------------------------------------------

  async size(): Promise<number> {
    if (this.knownSize === undefined) {
      const g = this.generation;
      const s = await this.inner.size();
      if (g === this.generation) this.knownSize = s;
      return s;
    }
    return this.knownSize;
  }

  /** The first min(length, size) bytes; cached like any read. One request when the size is unknown. */
  async readHead(length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.knownSize === undefined && this.inner.readHead) {
      const g = this.generation;
      const cached = this.cache?.get(0, length);
      if (cached) return cached;
      const head = await this.inner.readHead(length, signal);
      this.counters.requests++;
      this.counters.bytesFetched += head.length;
      this.counters.bytesRequested += head.length;
      if (g === this.generation) {
        this.knownSize = await this.inner.size();
        if (head.length > 0) this.cache?.put(0, head);
      }
      return head;
    }
    const size = await this.size();
    if (size === 0) return new Uint8Array(0);
    return (await this.read([{ offset: 0, length: Math.min(length, size) }], signal))[0]!;
  }

  validator(): string | undefined {
    return this.inner.validator?.();
  }

  lastModified(): Date | undefined {
    return this.inner.lastModified?.();
  }

  /** The inner source's revalidation (never answered from the cache). */
  async revalidate(signal?: AbortSignal): Promise<boolean> {
    return (await this.inner.revalidate?.(signal)) ?? false;
  }

  stats(): SchedulerStats {
    return { ...this.counters, cacheBytes: this.cache?.bytes ?? 0 };
  }

  /** Counters of the source under the scheduler (e.g. HTTP requests actually sent). */
  sourceStats(): IoStats | undefined {
    return this.inner.stats?.();
  }

  onChange(listener: (e: ImageboxError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The spans the cache holds now, in file order (a warm re-open keeps what open read: src/io/open-cache.ts). */
  cachedSpans(): { offset: number; data: Uint8Array }[] {
    return this.cache?.entries() ?? [];
  }

  /** The bytes of [offset, offset+length) if the cache holds them all, else undefined (no request, no counters). */
  peekCached(offset: number, length: number): Uint8Array | undefined {
    return this.cache?.get(offset, length);
  }

  /**
   * Put bytes known to be the source's (a warm re-open's, checked against the
   * origin's validator) into the cache, as if they had been read. False when
   * there is no cache.
   */
  preload(offset: number, data: Uint8Array): boolean {
    if (!this.cache) return false;
    if (this.knownSize !== undefined && offset + data.length > this.knownSize) return false;
    this.cache.put(offset, data);
    return true;
  }

  /** Forget all cached bytes. */
  clearCache(): void {
    this.generation++;
    this.knownSize = undefined;
    this.cache?.clear();
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.cancelPrefetch();
    this.cache?.dispose();
    await this.inner.close?.();
  }

  read(ranges: ByteRange[], signal?: AbortSignal): Promise<Uint8Array[]> {
    for (const { offset, length } of ranges) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0) {
        return Promise.reject(new ImageboxError('E_MALFORMED', `bad range ${offset}+${length}`));
      }
    }
    if (signal?.aborted) return Promise.reject(new ImageboxError('E_ABORTED', 'read aborted'));
    for (const r of ranges) this.counters.bytesRequested += r.length;
    return Promise.all(ranges.map((r) => this.readOne(r, signal)));
  }

  // ---- background reads ---------------------------------------------------------

  /** Queue low-priority reads into the cache; never delays foreground reads, never throws. */
  prefetch(ranges: ByteRange[]): void {
    if (!this.cache) return;
    for (const r of ranges) {
      if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length <= 0) continue;
      if (this.knownSize !== undefined && r.offset + r.length > this.knownSize) continue;
      this.prefetchQueue.push({ offset: r.offset, length: r.length });
    }
    if (this.prefetchQueue.length > this.maxPrefetchQueue) {
      this.prefetchQueue.splice(0, this.prefetchQueue.length - this.maxPrefetchQueue);
    }
    this.schedulePump();
  }

  /** Drop queued (not yet sent) background reads, e.g. when the view moved. */
  cancelPrefetch(): void {
    this.prefetchQueue = [];
  }

  // ---- internals ------------------------------------------------------------------

  private sourceChanged(e: ImageboxError): void {
    this.clearCache();
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        /* not ours */
      }
    }
  }

  private readOne(r: ByteRange, signal: AbortSignal | undefined): Promise<Uint8Array> {
    const offset = r.offset;
    const end = r.offset + r.length;
    if (this.knownSize !== undefined && end > this.knownSize) {
      return Promise.reject(
        new ImageboxError('E_TRUNCATED', `read ${offset}+${r.length} past end of ${this.id} (${this.knownSize} bytes)`, {
          offset,
          length: r.length,
          size: this.knownSize,
        }),
      );
    }
    const hit = this.cache?.get(offset, r.length);
    if (hit) {
      this.counters.cacheHits++;
      return Promise.resolve(hit);
    }
    const flight = this.flights.find((f) => f.offset <= offset && f.end >= end && !f.group.cancelled);
    if (flight) this.counters.inflightHits++;
    return new Promise<Uint8Array>((resolve, reject) => {
      const w: Waiter = { offset, end, caller: signal ?? NO_SIGNAL, resolve, reject, done: false };
      if (signal) {
        const onAbort = (): void => {
          if (w.done) return;
          w.done = true;
          reject(new ImageboxError('E_ABORTED', 'read aborted'));
          w.abandon?.();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        w.resolve = (d) => {
          signal.removeEventListener('abort', onAbort);
          resolve(d);
        };
        w.reject = (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        };
      }
      if (flight) {
        // Single flight: wait for the span already on its way.
        w.abandon = flight.abandon;
        w.joined = true;
        flight.group.waiters.push(w);
        return;
      }
      this.enqueue(w);
    });
  }

  private enqueue(w: Waiter): void {
    this.queue.push(w);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Sort and merge items into groups: overlapping or within gap, spans bounded. */
  private group<T extends { offset: number; end: number }>(items: T[]): { offset: number; end: number; items: T[] }[] {
    items.sort((a, b) => a.offset - b.offset || b.end - a.end);
    const groups: { offset: number; end: number; items: T[] }[] = [];
    let cur: { offset: number; end: number; items: T[] } | undefined;
    for (const it of items) {
      if (cur && it.offset <= cur.end + this.gap && Math.max(cur.end, it.end) - cur.offset <= this.maxSpan) {
        cur.end = Math.max(cur.end, it.end);
        cur.items.push(it);
      } else if (cur && it.end <= cur.end) {
        // Inside the current span already (possible when the span is over maxSpan).
        cur.items.push(it);
      } else {
        cur = { offset: it.offset, end: it.end, items: [it] };
        groups.push(cur);
      }
    }
    return groups;
  }

  private flush(): void {
    this.flushScheduled = false;
    const waiters = this.queue.filter((w) => !w.done);
    this.queue = [];
    if (waiters.length === 0) return;
    const version = this.sharedVersion();
    if (version !== undefined) void this.fromShared(waiters, version);
    else this.dispatch(waiters);
  }

  /** Answer what the shared level holds; the rest goes to the origin. */
  private async fromShared(waiters: Waiter[], version: string): Promise<void> {
    const gen = this.generation;
    this.foreground++; // no prefetch overtakes these reads while they are looked up
    let values: (Uint8Array | undefined)[] = [];
    try {
      values = await this.shared!.getMany(waiters.map((w) => blockKey(this.id, version, w.offset, w.end - w.offset)));
    } catch {
      // a store must not reject; if one does, it is a miss
    }
    this.foreground--;
    const rest: Waiter[] = [];
    waiters.forEach((w, i) => {
      if (w.done) return;
      const v = values[i];
      if (v && v.length === w.end - w.offset && gen === this.generation) {
        this.counters.sharedHits++;
        this.cache?.put(w.offset, v);
        w.done = true;
        w.resolve(v);
      } else {
        this.counters.sharedMisses++;
        rest.push(w);
      }
    });
    if (rest.length > 0) this.dispatch(rest);
    else if (this.foreground === 0) this.schedulePump();
  }

  private dispatch(waiters: Waiter[]): void {
    const groups: Group[] = this.group(waiters).map((g) => ({ offset: g.offset, end: g.end, waiters: g.items }));
    for (const request of this.byCaller(groups)) {
      const ac = new AbortController();
      // Abort the inner read when every waiter of this request has given up.
      const abandon = (): void => {
        if (request.every((g) => g.waiters.every((w) => w.done))) {
          for (const g of request) g.cancelled = true;
          ac.abort();
        }
      };
      for (const g of request) for (const w of g.waiters) w.abandon = abandon;
      this.foreground++;
      void this.send(request, ac.signal, false, abandon).finally(() => {
        this.foreground--;
        if (this.foreground === 0) this.schedulePump();
      });
    }
  }

  /**
   * The groups of a flush as inner reads: groups that share a caller (or a
   * merged span) travel together; unrelated ones apart, at most maxParallel
   * reads (the rest share them round-robin).
   */
  private byCaller(groups: Group[]): Group[][] {
    if (groups.length === 1) return [groups];
    const parent = groups.map((_, i) => i);
    const root = (i: number): number => {
      while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
      return i;
    };
    const firstOf = new Map<object, number>();
    groups.forEach((g, i) => {
      for (const w of g.waiters) {
        const j = firstOf.get(w.caller);
        if (j === undefined) firstOf.set(w.caller, i);
        else parent[root(i)] = root(j);
      }
    });
    const byRoot = new Map<number, Group[]>();
    groups.forEach((g, i) => {
      const r = root(i);
      const list = byRoot.get(r);
      if (list) list.push(g);
      else byRoot.set(r, [g]);
    });
    const requests = [...byRoot.values()];
    if (requests.length <= this.maxParallel) return requests;
    const shared: Group[][] = Array.from({ length: this.maxParallel }, () => []);
    requests.forEach((r, i) => shared[i % this.maxParallel]!.push(...r));
    return shared;
  }

  /**
   * Send groups in one inner read; register them as in-flight spans; settle
   * waiters; put data in the cache. Per-range failures are retried group by group.
   */
  private async send(
    groups: Group[],
    signal: AbortSignal | undefined,
    prefetch: boolean,
    abandon?: () => void,
  ): Promise<void> {
    const gen = this.generation;
    const deferred = groups.map((g) => {
      const flight: Flight = { offset: g.offset, end: g.end, group: g, abandon };
      this.flights.push(flight);
      return { g, flight };
    });
    const settle = (i: number, result: { data: Uint8Array } | { error: unknown }): void => {
      const d = deferred[i]!;
      const at = this.flights.indexOf(d.flight);
      if (at < 0) return; // settled already
      this.flights.splice(at, 1);
      if ('data' in result && result.data.length !== d.g.end - d.g.offset) {
        // an inner source that answers short (or long) must not hand out wrong slices
        result = { error: new ImageboxError('E_ORIGIN', `${this.id}: ${result.data.length} bytes for a range of ${d.g.end - d.g.offset}`) };
      }
      if ('data' in result) {
        const data = result.data;
        this.counters.bytesFetched += data.length;
        if (gen === this.generation) this.cache?.put(d.g.offset, data);
        const version = gen === this.generation ? this.sharedVersion() : undefined;
        if (version !== undefined) {
          for (const w of d.g.waiters) {
            if (w.end - w.offset > MAX_SHARED_VALUE_BYTES) continue;
            this.share(blockKey(this.id, version, w.offset, w.end - w.offset), data.subarray(w.offset - d.g.offset, w.end - d.g.offset));
          }
        }
        for (const w of d.g.waiters) {
          if (w.done) continue;
          w.done = true;
          // the whole span for one reader: its bytes as fetched (readers never write
          // into what a source returns; the cache keeps the same bytes); parts: copies
          const whole = w.offset === d.g.offset && w.end === d.g.end;
          w.resolve(whole ? data : data.slice(w.offset - d.g.offset, w.end - d.g.offset));
        }
      } else {
        for (const w of d.g.waiters) {
          if (w.done) continue;
          if (w.joined && !isImageboxError(result.error, 'E_SOURCE_CHANGED') && !isImageboxError(result.error, 'E_ABORTED')) {
            w.joined = false; // once
            this.enqueue(w);
            continue;
          }
          w.done = true;
          w.reject(result.error);
        }
      }
    };
    const ranges = groups.map((g) => ({ offset: g.offset, length: g.end - g.offset }));
    this.counters.requests++;
    this.counters.rangesSent += ranges.length;
    if (prefetch) this.counters.prefetchRanges += ranges.length;
    try {
      const bufs = await this.inner.read(ranges, signal);
      for (let i = 0; i < groups.length; i++) {
        const data = bufs[i];
        settle(i, data ? { data } : { error: new ImageboxError('E_ORIGIN', `${this.id}: no answer for range ${i} of ${groups.length}`) });
      }
    } catch (e) {
      const err = this.noteError(e);
      if (groups.length > 1 && splittable(err)) {
        await Promise.all(
          ranges.map(async (r, i) => {
            this.counters.requests++;
            this.counters.rangesSent++;
            try {
              const [data] = await this.inner.read([r], signal);
              settle(i, data ? { data } : { error: new ImageboxError('E_ORIGIN', `${this.id}: no answer for a range`) });
            } catch (e2) {
              settle(i, { error: this.noteError(e2) });
            }
          }),
        );
      } else {
        for (let i = 0; i < groups.length; i++) settle(i, { error: err });
      }
    }
  }

  /** Put bytes in the shared level. A store must neither throw nor reject; if one does, nothing is shared and the read goes on. */
  private share(key: string, value: Uint8Array): void {
    try {
      this.shared!.set(key, value).catch(() => undefined);
    } catch {
      /* a miss next time, not a failed read now */
    }
  }

  private noteError(e: unknown): unknown {
    if (isImageboxError(e, 'E_SOURCE_CHANGED') && !this.inner.onChange) this.sourceChanged(e);
    return e;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.prefetchQueue.length === 0) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Send one batch of background reads if nothing in the foreground is waiting. */
  private pump(): void {
    if (this.prefetching || this.foreground > 0 || this.queue.length > 0 || this.flushScheduled) return;
    const batch: Waiter[] = [];
    while (this.prefetchQueue.length > 0 && batch.length < this.prefetchBatch) {
      const r = this.prefetchQueue.shift()!;
      const end = r.offset + r.length;
      if (this.knownSize !== undefined && end > this.knownSize) continue;
      if (this.cache?.has(r.offset, r.length)) continue;
      if (this.flights.some((f) => f.offset <= r.offset && f.end >= end)) continue;
      batch.push({ offset: r.offset, end, caller: NO_SIGNAL, resolve: () => undefined, reject: () => undefined, done: true });
    }
    if (batch.length === 0) return;
    const groups: Group[] = this.group(batch).map((g) => ({ offset: g.offset, end: g.end, waiters: g.items }));
    this.prefetching = true;
    this.send(groups, undefined, true)
      .catch(() => undefined)
      .finally(() => {
        this.prefetching = false;
        this.schedulePump();
      });
  }
}
