// A serve thread's view of the process's second cache level (the main
// thread's MemorySharedCache), over the thread's message port. A lookup that
// takes longer than timeoutMs is a miss (the origin still answers).
import { MAX_SHARED_VALUE_BYTES, type SharedCache, type SharedCacheStats } from '../../io/shared-cache.js';
import type { Rpc } from './rpc.js';

export class ThreadSharedCache implements SharedCache {
  private readonly counters: SharedCacheStats = { hits: 0, misses: 0, sets: 0, errors: 0 };

  constructor(
    private readonly rpc: Rpc,
    private readonly timeoutMs = 1000,
  ) {}

  async getMany(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return [];
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.timeoutMs);
    try {
      const values = await this.rpc.call<(Uint8Array | undefined)[]>('cacheGet', keys, { signal: ac.signal });
      for (const v of values) v ? this.counters.hits++ : this.counters.misses++;
      return values;
    } catch {
      this.counters.errors++;
      this.counters.misses += keys.length;
      return keys.map(() => undefined);
    } finally {
      clearTimeout(timer);
    }
  }

  async set(key: string, value: Uint8Array, ttlSeconds?: number): Promise<void> {
    if (value.byteLength > MAX_SHARED_VALUE_BYTES) return;
    this.counters.sets++;
    // a copy of just these bytes (a view would carry its whole buffer across)
    const copy = value.slice();
    this.rpc.cast('cacheSet', { key, value: copy, ttlSeconds }, [copy.buffer]);
  }

  async delete(key: string): Promise<void> {
    this.rpc.cast('cacheDelete', key);
  }

  stats(): SharedCacheStats {
    return { ...this.counters };
  }
}
