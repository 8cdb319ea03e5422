// The second cache level in one process's memory: what the uWS serve threads
// of `imagebox serve --threads N` share (the main thread holds it; the threads
// reach it through src/server/threads/thread-cache.ts). Bounded by bytes, least
// recently used first; values are immutable under their key (src/io/shared-cache.ts).
import { MAX_SHARED_VALUE_BYTES, type SharedCache, type SharedCacheStats } from './shared-cache.js';

export class MemorySharedCache implements SharedCache {
  private readonly map = new Map<string, { value: Uint8Array; expires: number }>();
  private used = 0;
  private readonly counters: SharedCacheStats = { hits: 0, misses: 0, sets: 0, errors: 0 };
  private readonly maxValue: number;

  constructor(
    readonly maxBytes: number,
    private readonly defaultTtlSeconds = 86_400,
    private readonly now: () => number = Date.now,
  ) {
    this.maxValue = Math.min(MAX_SHARED_VALUE_BYTES, Math.max(0, Math.floor(maxBytes / 8)));
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.map.size;
  }

  private cost(key: string, value: Uint8Array): number {
    return value.byteLength + key.length * 2 + 64;
  }

  getSync(key: string): Uint8Array | undefined {
    const e = this.map.get(key);
    if (!e || e.expires <= this.now()) {
      if (e) this.remove(key, e.value);
      this.counters.misses++;
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, e);
    this.counters.hits++;
    return e.value;
  }

  async getMany(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    return keys.map((k) => this.getSync(k));
  }

  setSync(key: string, value: Uint8Array, ttlSeconds?: number): void {
    const cost = this.cost(key, value);
    if (value.byteLength > this.maxValue || cost > this.maxBytes) return;
    const old = this.map.get(key);
    if (old) this.remove(key, old.value);
    this.map.set(key, { value, expires: this.now() + (ttlSeconds ?? this.defaultTtlSeconds) * 1000 });
    this.used += cost;
    this.counters.sets++;
    for (const [k, e] of this.map) {
      if (this.used <= this.maxBytes) break;
      this.remove(k, e.value);
    }
  }

  async set(key: string, value: Uint8Array, ttlSeconds?: number): Promise<void> {
    this.setSync(key, value, ttlSeconds);
  }

  async delete(key: string): Promise<void> {
    const e = this.map.get(key);
    if (e) this.remove(key, e.value);
  }

  private remove(key: string, value: Uint8Array): void {
    this.map.delete(key);
    this.used -= this.cost(key, value);
  }

  stats(): SharedCacheStats {
    return { ...this.counters };
  }
}
