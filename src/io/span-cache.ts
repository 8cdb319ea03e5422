// A byte cache of fetched spans (any offset, any length, not fixed blocks),
// bounded by bytes with least-recently-used eviction. Spans are kept disjoint:
// a new span wins over the parts of older spans it overlaps. A lookup is
// answered when cached spans cover it completely, even across several spans.

interface Span {
  offset: number;
  end: number;
  data: Uint8Array;
}

export class SpanCache {
  /** Sorted by offset, disjoint. */
  private spans: Span[] = [];
  /** Recency: first = least recently used. */
  private readonly lru = new Set<Span>();
  private used = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.spans.length;
  }

  clear(): void {
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
    const s: Span = { offset, end: offset + data.length, data };
    this.lru.add(s);
    this.used += data.length;
    return s;
  }

  private drop(s: Span): void {
    this.lru.delete(s);
    this.used -= s.data.length;
  }

  private evict(): void {
    while (this.used > this.maxBytes) {
      const victim = this.lru.values().next().value as Span | undefined;
      if (!victim) break;
      this.drop(victim);
      const k = this.floor(victim.offset);
      if (k >= 0 && this.spans[k] === victim) this.spans.splice(k, 1);
    }
  }
}
