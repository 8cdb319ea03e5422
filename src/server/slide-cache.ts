// The open slides of one thread (main thread or pixel worker): at most
// `maxOpen`, least recently used evicted first. A slide is used through a
// lease; an evicted or invalidated slide is closed the moment its last lease is
// released (never on a timer), and close() closes every slide, in use or not.
import type { Slide } from '../slide/slide.js';

export interface Lease {
  readonly slide: Slide;
  /** When the slide was last checked against its origin (ms since epoch). */
  checkedAt: number;
  release(): void;
}

interface Entry {
  key: string;
  promise: Promise<Slide>;
  slide: Slide | undefined;
  users: number;
  /** No longer in the map (evicted or invalidated): close when users reach 0. */
  retired: boolean;
  closed: boolean;
  checkedAt: number;
}

class EntryLease implements Lease {
  private released = false;
  constructor(
    private readonly cache: SlideCache,
    private readonly entry: Entry,
    readonly slide: Slide,
  ) {}
  get checkedAt(): number {
    return this.entry.checkedAt;
  }
  set checkedAt(t: number) {
    this.entry.checkedAt = t;
  }
  release(): void {
    if (this.released) return;
    this.released = true;
    this.cache.released(this.entry);
  }
}

export class SlideCache {
  private readonly entries = new Map<string, Entry>();
  /** Retired entries still in use. */
  private readonly retiring = new Set<Entry>();
  private closing = false;

  constructor(
    readonly maxOpen: number,
    /** Told about every slide just before it is closed (e.g. to keep its I/O counters). */
    private readonly onClose?: (slide: Slide) => void,
  ) {}

  /** A lease on `key` if its slide is open now, without waiting (the hot path); else undefined. */
  tryAcquire(key: string): Lease | undefined {
    const e = this.entries.get(key);
    if (!e || !e.slide || this.closing) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    e.users++;
    return new EntryLease(this, e, e.slide);
  }

  /** @internal */ released(e: Entry): void {
    e.users--;
    if (e.retired && e.users === 0) this.closeEntry(e);
  }

  /** The slide for `key`, opened with `open` if it is not open (one open per key at a time). */
  async acquire(key: string, open: () => Promise<Slide>): Promise<Lease> {
    if (this.closing) throw new Error('slide cache closed');
    let e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.entries.set(key, e);
      e.users++;
    } else {
      const entry: Entry = { key, promise: open(), slide: undefined, users: 0, retired: false, closed: false, checkedAt: Date.now() };
      entry.promise.then(
        (s) => {
          entry.slide = s;
          if (entry.retired && entry.users === 0) this.closeEntry(entry);
        },
        () => {
          if (this.entries.get(key) === entry) this.entries.delete(key);
          entry.retired = true;
          entry.closed = true;
        },
      );
      this.entries.set(key, entry);
      entry.users++; // before evicting: the slide being opened is never the victim
      e = entry;
      this.evict();
    }
    const entry = e;
    let slide: Slide;
    try {
      slide = await entry.promise;
    } catch (err) {
      entry.users--;
      throw err;
    }
    return new EntryLease(this, entry, slide);
  }

  /** Forget `key` (its bytes changed): the next acquire opens it afresh; the old slide closes when unused. */
  invalidate(key: string, only?: Slide): void {
    const e = this.entries.get(key);
    if (!e || (only && e.slide !== only)) return;
    this.entries.delete(key);
    this.retire(e);
  }

  /** Keys whose slide is open (or opening). */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** Slides opened so far, including retired ones still in use. */
  openSlides(): Slide[] {
    const out: Slide[] = [];
    for (const e of this.entries.values()) if (e.slide) out.push(e.slide);
    for (const e of this.retiring) if (e.slide && !e.closed) out.push(e.slide);
    return out;
  }

  /** The slide for `key` if it is open, without touching the LRU order. */
  peek(key: string): Slide | undefined {
    return this.entries.get(key)?.slide;
  }

  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.entries.values(), ...this.retiring];
    this.entries.clear();
    this.retiring.clear();
    await Promise.allSettled(
      all.map(async (e) => {
        const s = await e.promise.catch(() => undefined);
        if (s && !e.closed) {
          e.closed = true;
          this.onClose?.(s);
          await s.close();
        }
      }),
    );
  }

  private evict(): void {
    while (this.entries.size > this.maxOpen) {
      // least recently used first, preferring slides nobody is using
      let victim: Entry | undefined;
      for (const e of this.entries.values()) {
        if (e.users === 0) {
          victim = e;
          break;
        }
      }
      victim ??= this.entries.values().next().value as Entry;
      this.entries.delete(victim.key);
      this.retire(victim);
    }
  }

  private retire(e: Entry): void {
    e.retired = true;
    if (e.users === 0 && e.slide) this.closeEntry(e);
    else if (!e.closed) this.retiring.add(e);
  }

  private closeEntry(e: Entry): void {
    this.retiring.delete(e);
    if (e.closed || !e.slide) return;
    e.closed = true;
    this.onClose?.(e.slide);
    e.slide.close().catch(() => undefined);
  }
}
