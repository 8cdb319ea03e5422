// The second cache level: bytes by key, shared by the uWS threads of one
// process (a store on the main thread, src/server/threads/) or by every node
// of a cluster (Redis, src/node/redis-cache.ts). Each thread keeps its own
// first level (span caches, the answer cache) in front of it.
//
// What goes in it is immutable under its key: every key names the source's
// validator (ETag / Last-Modified / size), so a changed slide is simply other
// keys, and old entries age out (the store's bound, a TTL). A store that fails
// (down, slow, full) is a miss, never an error: the origin still answers.
import type { OpenCacheStore } from './open-cache.js';

export interface SharedCacheStats {
  hits: number;
  misses: number;
  sets: number;
  /** Lookups or writes that failed or timed out (counted as misses). */
  errors: number;
}

export interface SharedCache {
  /** The value of each key, undefined for a miss, in order. Never rejects. */
  getMany(keys: string[]): Promise<(Uint8Array | undefined)[]>;
  /** Keep `value` under `key` for about ttlSeconds (the store's default when absent). Never rejects; may refuse (too big). */
  set(key: string, value: Uint8Array, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<void>;
  stats(): SharedCacheStats;
  close?(): Promise<void>;
}

/** Values larger than this are not shared (a tile's bytes are tens of KiB; an open entry a few MiB). */
export const MAX_SHARED_VALUE_BYTES = 16 * 1024 * 1024;

/** The key of a block: the bytes [offset, offset+length) of a source under one validator. */
export function blockKey(sourceId: string, validator: string, offset: number, length: number): string {
  return `imagebox-block/1 ${validator} ${offset}+${length} ${sourceId}`;
}

/** A shared cache as the warm re-open store's interface. */
export function openCacheOn(shared: SharedCache): OpenCacheStore {
  return {
    async get(key) {
      const [v] = await shared.getMany([key]);
      return v;
    },
    set: (key, value) => shared.set(key, value),
    delete: (key) => shared.delete(key),
  };
}

let threadShared: SharedCache | undefined;

/** The second level this thread's range schedulers use when no cluster cache is configured (set by a --threads serve thread). */
export function threadSharedCache(): SharedCache | undefined {
  return threadShared;
}

export function setThreadSharedCache(c: SharedCache | undefined): void {
  threadShared = c;
}
