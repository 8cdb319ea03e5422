// A byte cache of fetched spans (any offset, any length, not fixed blocks),
// bounded by bytes with least-recently-used eviction. Spans are kept disjoint:
// a new span wins over the parts of older spans it overlaps. A lookup is
// answered when cached spans cover it completely, even across several spans.

interface Span {
  offset: number;
  end: number;
  data: Uint8Array;
  /** When it was last used (a clock shared by every cache of the thread). */
  tick: number;
}

let clock = 0;

/**
 * One byte budget shared by several span caches (every open slide of a
 * thread): when their sum is over it, the least recently used span of all of
 * them goes first, so many open slides cannot add up to more than the budget.
 */
export class ByteBudget {
  private used = 0;
  private readonly caches = new Set<SpanCache>();

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  /** @internal */ join(c: SpanCache): void {
    this.caches.add(c);
  }

  /** @internal */ leave(c: SpanCache): void {
    this.caches.delete(c);
  }

  /** @internal */ change(delta: number): void {
    this.used += delta;
  }

  /** @internal */ enforce(): void {
    while (this.used > this.maxBytes) {
      let victim: SpanCache | undefined;
      let oldest = Infinity;
      for (const c of this.caches) {
        const t = c.oldestTick();
        if (t < oldest) {
          oldest = t;
          victim = c;
        }
      }
      if (!victim || !victim.evictOldest()) break;
    }
  }
}

export class SpanCache {
  /** Sorted by offset, disjoint. */
  private spans: Span[] = [];
  /** Recency: first = least recently used. */
  private readonly lru = new Set<Span>();
  private used = 0;

  constructor(
    readonly maxBytes: number,
    private readonly budget?: ByteBudget,
  ) {
    budget?.join(this);
  }

  /** Recency of the least recently used span (Infinity when empty). */
  oldestTick(): number {
    const first = this.lru.values().next().value as Span | undefined;
    return first ? first.tick : Infinity;
  }

  /** Drop the least recently used span; false when empty. */
  evictOldest(): boolean {
    const victim = this.lru.values().next().value as Span | undefined;
    if (!victim) return false;
    this.drop(victim);
    const k = this.floor(victim.offset);
    if (k >= 0 && this.spans[k] === victim) this.spans.splice(k, 1);
    return true;
  }

  /** Leave the shared budget (the cache is done with). */
  dispose(): void {
    this.clear();
    this.budget?.leave(this);
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.spans.length;
  }

  clear(): void {
    this.budget?.change(-this.used);
    this.spans = [];
    this.lru.clear();
    this.used = 0;
  }

  /** Index of the last span with offset <= pos, or -1. */
  private floor(pos: number): number {
    let lo = 0;
    let hi = this.spans.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.spans[mid]!.offset <= pos) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  private touch(s: Span): void {
    s.tick = ++clock;
    this.lru.delete(s);
    this.lru.add(s);
  }

  /** A copy of [offset, offset+length) if fully cached, else undefined. */
  get(offset: number, length: number): Uint8Array | undefined {
    const end = offset + length;
    let i = this.floor(offset);
    if (i < 0) return undefined;
    const first = this.spans[i]!;
    if (first.end >= end) {
      this.touch(first);
      return first.data.slice(offset - first.offset, end - first.offset);
    }
    // Spread over adjacent spans: check contiguity before copying.
    const used: Span[] = [];
    let cursor = offset;
    for (; cursor < end; i++) {
      const s = this.spans[i];
      if (!s || s.offset > cursor || s.end <= cursor) return undefined;
      used.push(s);
      cursor = s.end;
    }
    const out = new Uint8Array(length);
    for (const s of used) {
      const from = Math.max(offset, s.offset);
      const to = Math.min(end, s.end);
      out.set(s.data.subarray(from - s.offset, to - s.offset), from - offset);
      this.touch(s);
    }
    return out;
  }

  /** Every cached span, in file order (the bytes as held: never write into them). No recency update. */
  entries(): { offset: number; data: Uint8Array }[] {
    return this.spans.map((s) => ({ offset: s.offset, data: s.data }));
  }

  /** Whether [offset, offset+length) is fully cached (no recency update). */
  has(offset: number, length: number): boolean {
    const end = offset + length;
    let cursor = offset;
    for (let i = this.floor(offset); cursor < end; i++) {
      const s = i < 0 ? undefined : this.spans[i];
      if (!s || s.offset > cursor || s.end <= cursor) return false;
      cursor = s.end;
    }
    return true;
  }

  /** Store a span (copied if it is a view into a larger buffer). */
  put(offset: number, data: Uint8Array): void {
    const length = data.length;
    if (length === 0 || length > this.maxBytes) return;
    if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice();
    const end = offset + length;
    // Cut what the new span overlaps out of older spans.
    const i = Math.max(0, this.floor(offset));
    const keep: Span[] = [];
    let j = i;
    for (; j < this.spans.length && this.spans[j]!.offset < end; j++) {
      const s = this.spans[j]!;
      if (s.end <= offset) {
        keep.push(s);
        continue;
      }
      this.drop(s);
      if (s.offset < offset) keep.push(this.adopt(s.offset, s.data.slice(0, offset - s.offset)));
      if (s.end > end) keep.push(this.adopt(end, s.data.slice(end - s.offset)));
    }
    const fresh = this.adopt(offset, data);
    keep.push(fresh);
    keep.sort((a, b) => a.offset - b.offset);
    this.spans.splice(i, j - i, ...keep);
    this.evict();
  }

  private adopt(offset: number, data: Uint8Array): Span {
    const s: Span = { offset, end: offset + data.length, data, tick: ++clock };
    this.lru.add(s);
    this.used += data.length;
    this.budget?.change(data.length);
    return s;
  }

  private drop(s: Span): void {
    this.lru.delete(s);
    this.used -= s.data.length;
    this.budget?.change(-s.data.length);
  }

  private evict(): void {
    while (this.used > this.maxBytes && this.evictOldest()) {
      /* per-cache bound */
    }
    this.budget?.enforce();
  }
}
